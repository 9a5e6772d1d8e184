"""The fakes' JSON file formats: what their ``render``/``*_file`` methods write and their
``parse`` methods read."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from leasekit.errors import ValidationError
from leasekit.money import Money


def money_json(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency.code}


def money(data: Mapping[str, str]) -> Money:
    return Money(data["amount"], data["currency"])


def dump_json(data: object) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def read_json(content: bytes, what: str, build: Callable[[Any], Any]) -> Any:
    """Parse a fake file; anything malformed becomes a ValidationError on ``content``."""
    try:
        return build(json.loads(content))
    except ValidationError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        raise ValidationError.single(
            "content", f"not a fake {what} file: {type(exc).__name__}: {exc}"
        ) from None
