"""Users, their API tokens and enrolment secrets, and the idempotency keys of their requests.

Secrets are kept only as SHA-256 hashes (:func:`leasekit.services.storage.hash_secret`): a
copy of these tables opens nothing. Tokens and enrolments are revoked or used, never deleted,
so the audit log can still say which credential acted.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.users import User
from leasekit.errors import NotFoundError
from leasekit.services.storage import (
    ApiToken,
    Credential,
    Enrolment,
    IdempotentRequest,
    SessionCredential,
    SignInSession,
)
from leasekit.store.parties import PartnerRow
from leasekit.store.repository import Rule, SqlRepository, Stored, repository, write
from leasekit.store.schema import ID_LENGTH, Base, EntityRow, id_column, reference

__all__ = [
    "SYSTEM_USER_ID",
    "ApiTokenRow",
    "EnrolmentRepository",
    "EnrolmentRow",
    "IdempotencyKeyRow",
    "IdempotencyRepository",
    "SignInRepository",
    "SignInRow",
    "TokenRepository",
    "UserRepository",
    "UserRow",
]


SYSTEM_USER_ID: Final = "system"
"""The built-in account that automated work (event handlers, batches) acts as; the schema
creates it, and it has no credential."""


class UserRow(EntityRow):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    role: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners")
    state: Mapped[str]
    email: Mapped[str | None]
    created_at: Mapped[dt.datetime]


class ApiTokenRow(Base):
    """A login token, kept only as the SHA-256 of its text: a leaked table opens nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = reference("users")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None]
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class EnrolmentRow(Base):
    """A one-time secret a new user exchanges for a first token; its hash only."""

    __tablename__ = "enrolments"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = reference("users")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class SignInRow(Base):
    """A workbench session, kept only as the SHA-256 of its cookie's secret."""

    __tablename__ = "sign_ins"

    id: Mapped[str] = id_column()
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = reference("users")
    token_id: Mapped[str] = reference("api_tokens")
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class IdempotencyKeyRow(Base):
    """A command a client may retry, remembered by the key the client sent with it: a retry
    with the same key gets the object the first attempt made instead of a second one."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str]
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime]


@repository("users")
class UserRepository(SqlRepository[User]):
    stored = Stored.of(
        "user",
        UserRow,
        User,
        rules=[
            Rule("uq_users_username", ("username",), "username", "is already taken"),
            Rule("fk_users_partner_id_partners", ("partner_id",), "partner_id", "no such partner"),
        ],
    )

    def find_by_username(self, username: str) -> User | None:
        found = self._find(UserRow.__table__.c.username == username)
        return found[0] if found else None

    def any(self) -> bool:
        """Whether any user exists besides the built-in system account."""
        table = UserRow.__table__
        first = self._session.connection().scalar(
            sa.select(table.c.id).where(table.c.id != SYSTEM_USER_ID).limit(1)
        )
        return first is not None


_TOKEN_COLUMNS: Final = (
    ApiTokenRow.id,
    ApiTokenRow.user_id,
    ApiTokenRow.label,
    ApiTokenRow.created_at,
    ApiTokenRow.revoked_at,
)


def _token(row: sa.RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


_CREDENTIAL: Final = (
    sa.select(
        ApiTokenRow.id,
        UserRow.id.label("user_id"),
        UserRow.role,
        UserRow.partner_id,
        UserRow.state,
        PartnerRow.state.label("partner_state"),
    )
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .outerjoin(PartnerRow, PartnerRow.id == UserRow.partner_id)
    .where(ApiTokenRow.token_hash == sa.bindparam("token_hash"), ApiTokenRow.revoked_at.is_(None))
)


@repository("tokens")
class TokenRepository:
    """Tokens are immutable apart from revocation, so they carry no version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: ApiToken, token_hash: str) -> None:
        values = {
            "id": token.id,
            "user_id": token.user_id,
            "token_hash": token_hash,
            "label": token.label,
            "created_at": token.created_at,
            "revoked_at": token.revoked_at,
        }
        write(self._session, "api token", sa.insert(ApiTokenRow).values(values))

    def credential(self, token_hash: str) -> Credential | None:
        """Who a live token belongs to and the state of the user's partner, in one indexed
        query: the cost of every request, so the statement is built once."""
        row = self._session.connection().execute(_CREDENTIAL, {"token_hash": token_hash}).first()
        return None if row is None else Credential(*row)

    def get(self, token_id: str) -> ApiToken:
        row = (
            self._session.connection()
            .execute(sa.select(*_TOKEN_COLUMNS).where(ApiTokenRow.id == token_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError("api token", token_id)
        return _token(row)

    def revoke(self, token_id: str, at: dt.datetime) -> bool:
        """Revoke the token from *at* on; False if it was revoked already (the first time
        stays)."""
        statement = (
            sa.update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return write(self._session, "api token", statement) == 1

    def revoke_all(self, user_id: str, at: dt.datetime) -> int:
        """Revoke every live token of *user_id*; how many there were."""
        statement = (
            sa.update(ApiTokenRow)
            .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return write(self._session, "api token", statement)

    def list_for_user(self, user_id: str) -> list[ApiToken]:
        rows = self._session.connection().execute(
            sa.select(*_TOKEN_COLUMNS)
            .where(ApiTokenRow.user_id == user_id)
            .order_by(ApiTokenRow.created_at, ApiTokenRow.id)
        )
        return [_token(row) for row in rows.mappings()]


@repository("enrolments")
class EnrolmentRepository:
    """Enrolment secrets: issued, then used once or replaced."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, enrolment: Enrolment, secret_hash: str) -> None:
        values = {**_enrolment_columns(enrolment), "secret_hash": secret_hash}
        write(self._session, "enrolment", sa.insert(EnrolmentRow).values(values))

    def find_by_hash(self, secret_hash: str) -> Enrolment | None:
        row = (
            self._session.connection()
            .execute(sa.select(*_ENROLMENT_COLUMNS).where(EnrolmentRow.secret_hash == secret_hash))
            .mappings()
            .first()
        )
        return None if row is None else Enrolment(**row)

    def use(self, enrolment_id: str, at: dt.datetime) -> bool:
        """Mark it used; False if someone used it first (two requests racing with it)."""
        statement = (
            sa.update(EnrolmentRow)
            .where(EnrolmentRow.id == enrolment_id, EnrolmentRow.used_at.is_(None))
            .values(used_at=at)
        )
        return write(self._session, "enrolment", statement) == 1

    def withdraw_open(self, user_id: str, at: dt.datetime) -> None:
        """End every unused enrolment of *user_id*: a new one replaces them."""
        statement = (
            sa.update(EnrolmentRow)
            .where(EnrolmentRow.user_id == user_id, EnrolmentRow.used_at.is_(None))
            .values(used_at=at)
        )
        write(self._session, "enrolment", statement)


_ENROLMENT_COLUMNS: Final = (
    EnrolmentRow.id,
    EnrolmentRow.user_id,
    EnrolmentRow.created_by,
    EnrolmentRow.created_at,
    EnrolmentRow.expires_at,
    EnrolmentRow.used_at,
)


def _enrolment_columns(enrolment: Enrolment) -> dict[str, object]:
    return {
        "id": enrolment.id,
        "user_id": enrolment.user_id,
        "created_by": enrolment.created_by,
        "created_at": enrolment.created_at,
        "expires_at": enrolment.expires_at,
        "used_at": enrolment.used_at,
    }


@repository("idempotency")
class IdempotencyRepository:
    """Idempotency keys; immutable once written, so no version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, user_id: str, key: str) -> IdempotentRequest | None:
        table = IdempotencyKeyRow.__table__
        row = (
            self._session.connection()
            .execute(sa.select(table).where(table.c.user_id == user_id, table.c.key == key))
            .mappings()
            .first()
        )
        return None if row is None else IdempotentRequest(**row)

    def add(self, request: IdempotentRequest) -> None:
        """Remember *request*; ``ConflictError`` if a concurrent request took the key first."""
        values = {
            "user_id": request.user_id,
            "key": request.key,
            "request_hash": request.request_hash,
            "subject": request.subject,
            "subject_id": request.subject_id,
            "created_at": request.created_at,
        }
        write(self._session, "idempotency key", sa.insert(IdempotencyKeyRow).values(values))


_SIGN_IN_COLUMNS: Final = (
    SignInRow.id,
    SignInRow.user_id,
    SignInRow.token_id,
    SignInRow.language,
    SignInRow.created_at,
    SignInRow.last_seen_at,
    SignInRow.ended_at,
)

_SESSION_CREDENTIAL: Final = (
    sa.select(*_SIGN_IN_COLUMNS, *_CREDENTIAL.selected_columns, UserRow.display_name)
    .select_from(SignInRow)
    .join(ApiTokenRow, ApiTokenRow.id == SignInRow.token_id)
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .outerjoin(PartnerRow, PartnerRow.id == UserRow.partner_id)
    .where(
        SignInRow.secret_hash == sa.bindparam("secret_hash"),
        SignInRow.ended_at.is_(None),
        ApiTokenRow.revoked_at.is_(None),
    )
)


@repository("sign_ins")
class SignInRepository:
    """Workbench sessions: started, touched as the person works, ended; never deleted."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, session: SignInSession, secret_hash: str) -> None:
        values = attrs.asdict(session) | {"secret_hash": secret_hash}
        write(self._session, "session", sa.insert(SignInRow).values(values))

    def credential(self, secret_hash: str) -> SessionCredential | None:
        """The session and its credential in one indexed query: the cost of every page."""
        row = (
            self._session.connection()
            .execute(_SESSION_CREDENTIAL, {"secret_hash": secret_hash})
            .first()
        )
        if row is None:
            return None
        *values, display_name = row
        session, credential = values[: len(_SIGN_IN_COLUMNS)], values[len(_SIGN_IN_COLUMNS) :]
        return SessionCredential(SignInSession(*session), Credential(*credential), display_name)

    def touch(self, session_id: str, at: dt.datetime) -> None:
        statement = sa.update(SignInRow).where(SignInRow.id == session_id).values(last_seen_at=at)
        write(self._session, "session", statement)

    def set_language(self, session_id: str, language: str) -> None:
        statement = sa.update(SignInRow).where(SignInRow.id == session_id).values(language=language)
        write(self._session, "session", statement)

    def end(self, session_id: str, user_id: str, at: dt.datetime) -> bool:
        statement = (
            sa.update(SignInRow)
            .where(
                SignInRow.id == session_id,
                SignInRow.user_id == user_id,
                SignInRow.ended_at.is_(None),
            )
            .values(ended_at=at)
        )
        return write(self._session, "session", statement) == 1
