"""What text every field refuses, whatever the field: the faults of :func:`text_fault`."""

from __future__ import annotations

import pytest

from leasekit.domain.validation import text_fault

FIT = [
    "Wang Xiu",
    "王秀",
    "Zoë Ørsted-Łukasz",
    "👩\u200d🔧",  # a joiner between pictures makes one picture
    "می\u200cخواهم",  # a non-joiner inside Persian words is spelling
    "",  # emptiness is a field's own rule (required or not)
    "   ",  # so is blankness
]


@pytest.mark.parametrize("value", FIT)
def test_real_text_is_fit(value: str) -> None:
    assert text_fault(value) is None


UNFIT = {
    "x\ud800y": "a lone surrogate",
    "x\x00y": "a control character (U+0000)",
    "x\x7fy": "a control character (U+007F)",
    "x\u202ey": "a bidirectional control character (U+202E)",
    "x\u2067y": "a bidirectional control character (U+2067)",
    "x\ny": "must be one line",
    "\u200b": "has no visible character",
    " \ufeff\u200d ": "has no visible character",
}


@pytest.mark.parametrize(("value", "fault"), UNFIT.items())
def test_unfit_text_is_named(value: str, fault: str) -> None:
    found = text_fault(value)
    assert found is not None
    assert fault in found


def test_a_line_break_is_fit_where_the_field_spans_lines() -> None:
    assert text_fault("first\r\nsecond\tthird", multiline=True) is None
