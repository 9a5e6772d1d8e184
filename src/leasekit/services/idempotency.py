"""Idempotency keys: a client that retries a command (after a timeout, a dropped connection)
sends the same key and gets the object the first attempt made, never a second one.

The key is remembered in the transaction of the command it guards, so either both are
committed or neither is; two concurrent attempts with one key cannot both commit (the second
gets a ``ConflictError`` and its retry then finds the first). Keys belong to the user who sent
them. A key reused for a different request is refused rather than silently answered with an
unrelated object.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Final, TypeAlias, cast

import attrs

from leasekit.domain.identity import Actor
from leasekit.errors import ConflictError, ValidationError
from leasekit.services.storage import IdempotentRequest, UnitOfWork

__all__ = ["MAX_KEY_LENGTH", "Retry"]

MAX_KEY_LENGTH: Final = 255


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError.single(
            "idempotency_key", f"1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


Request: TypeAlias = object
"""What a command was asked to do: an attrs object, or anything JSON can write."""


def _fingerprint(operation: str, request: Request) -> str:
    """SHA-256 of the operation and its input, in a form that does not depend on dict order."""
    data = attrs.asdict(cast(Any, request)) if attrs.has(type(request)) else request
    text = json.dumps({"operation": operation, "request": data}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class Retry:
    """One command's idempotency: the client's key (None when it sent none) and what the
    command asked for."""

    key: str | None
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, operation: str, request: Request) -> Retry:
        return cls(None if key is None else _check_key(key), _fingerprint(operation, request))

    def earlier(self, uow: UnitOfWork, actor: Actor) -> str | None:
        """The id of what the first attempt made, or None if this is the first attempt."""
        if self.key is None:
            return None
        found = uow.idempotency.find(actor.user_id, self.key)
        if found is None:
            return None
        if found.request_hash != self.fingerprint:
            raise ConflictError(
                f"idempotency key {self.key!r} was already used for a different request"
            )
        return found.subject_id

    def remember(
        self, uow: UnitOfWork, actor: Actor, subject: str, subject_id: str, at: datetime
    ) -> None:
        """Record what this attempt made, in the command's own transaction."""
        if self.key is not None:
            uow.idempotency.add(
                IdempotentRequest(
                    actor.user_id, self.key, self.fingerprint, subject, subject_id, at
                )
            )
