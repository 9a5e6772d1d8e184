from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leasekit.domain.events import DomainEvent, StateChanged

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
BD = date(2024, 3, 1)


def event(**payload: object) -> DomainEvent:
    return DomainEvent.new(
        "contract_signed", "contract", "c1", payload,  # type: ignore[arg-type]
        occurred_at=AT, business_date=BD, actor_id="u1",
    )  # fmt: skip


def test_new_event_has_a_unique_idempotency_key() -> None:
    first, second = event(), event()
    assert first.idempotency_key.startswith("contract_signed:c1:")
    assert len(first.idempotency_key.rsplit(":", 1)[1]) == 32
    assert first.idempotency_key != second.idempotency_key


def test_a_given_idempotency_key_is_kept() -> None:
    kept = DomainEvent.new(
        "contract_signed", "contract", "c1", {},
        occurred_at=AT, business_date=BD, actor_id=None, idempotency_key="k-1",
    )  # fmt: skip
    assert kept.idempotency_key == "k-1"


def test_payload_is_a_read_only_copy() -> None:
    payload: dict[str, str | int | bool | None] = {"amount": "10.00"}
    made = DomainEvent.new(
        "x_happened", "x", "1", payload, occurred_at=AT, business_date=BD, actor_id=None
    )
    payload["amount"] = "changed"
    assert made.payload["amount"] == "10.00"
    with pytest.raises(TypeError):
        made.payload["amount"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize("value", [0.1, Decimal("0.1"), date(2024, 1, 1), ["a"]])
def test_payload_refuses_values_json_would_not_keep_exact(value: object) -> None:
    with pytest.raises(TypeError, match="not JSON-safe"):
        event(amount=value)


def test_payload_accepts_json_scalars() -> None:
    made = event(text="a", number=3, flag=True, nothing=None)
    assert dict(made.payload) == {"text": "a", "number": 3, "flag": True, "nothing": None}


def test_occurred_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="occurred_at"):
        DomainEvent.new(
            "x_happened", "x", "1", {}, occurred_at=datetime(2024, 1, 1), business_date=BD,
            actor_id=None,
        )  # fmt: skip


def test_events_compare_by_value_and_hash() -> None:
    made = event(a="1")
    twin = DomainEvent(
        made.name, made.subject, made.subject_id, {"a": "1"}, made.occurred_at,
        made.business_date, made.actor_id, made.idempotency_key,
    )  # fmt: skip
    assert made == twin
    assert hash(made) == hash(twin)


def test_state_changed_reads_its_payload() -> None:
    changed = StateChanged.new(
        "payment_reversed", "payment", "p1",
        {"from": "allocated", "to": "reversed", "action": "reverse", "reason": "bounced"},
        occurred_at=AT, business_date=BD, actor_id="u1",
    )  # fmt: skip
    assert isinstance(changed, DomainEvent)
    assert (changed.from_state, changed.to_state, changed.action, changed.reason) == (
        "allocated", "reversed", "reverse", "bounced",
    )  # fmt: skip
