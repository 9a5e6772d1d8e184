"""The pieces of a partner import the core holds: which move leads to a state, and how a
fault names its row and column."""

from __future__ import annotations

from leasekit.domain.partner_imports import ImportRefusedError, RowFault
from leasekit.domain.partners import PARTNER_LIFECYCLE


def test_the_one_move_that_leads_to_each_state() -> None:
    lead = PARTNER_LIFECYCLE.leading_to
    assert lead("active", "suspended") == ("suspend",)
    assert lead("frozen", "suspended") == ("unfreeze",)
    assert lead("blacklisted", "suspended") == ("lift_blacklist",)
    assert lead("active", "exited") == ()
    pairs = [(s, t) for s in PARTNER_LIFECYCLE.states for t in PARTNER_LIFECYCLE.states]
    assert all(len(lead(s, t)) <= 1 for s, t in pairs), "a state names its move unambiguously"


def test_a_fault_names_its_row_and_column_as_a_field() -> None:
    refused = ImportRefusedError(
        [RowFault(3, "status", "no single move"), RowFault(None, "file", "is empty")]
    )
    assert [(e.field, e.message) for e in refused.errors] == [
        ("row 3.status", "no single move"),
        ("file", "is empty"),
    ]
    assert str(refused) == "row 3.status: no single move; file: is empty"
