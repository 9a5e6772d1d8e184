"""docs/lifecycles.md shows the machines as they are, not as they once were."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasekit.domain.applications import APPLICATION_LIFECYCLE
from leasekit.domain.lifecycle_docs import (
    BEGIN_MARKER,
    END_MARKER,
    MACHINES,
    render_markdown,
    update_markdown,
)

DOCUMENT = Path(__file__).parents[2] / "docs" / "lifecycles.md"


def test_the_document_holds_the_generated_tables() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert update_markdown(text) == text, (
        "docs/lifecycles.md is out of date; run `python -m leasekit.domain.lifecycle_docs "
        "docs/lifecycles.md`"
    )
    assert render_markdown() in text


def test_every_machine_has_a_diagram_and_every_row_a_table_line() -> None:
    rendered = render_markdown()
    assert rendered.count("stateDiagram-v2") == len(MACHINES)
    for machine in MACHINES:
        for transition in machine.transitions:
            assert f"| {transition.action} |" in rendered
            for source in transition.sources:
                assert f"    {source} --> {transition.target}: {transition.action}" in rendered


def test_a_row_renders_its_roles_event_and_reason() -> None:
    assert (
        "| decline | submitted | declined | system | application_declined | required |"
        in render_markdown([APPLICATION_LIFECYCLE])
    )


def test_update_replaces_only_the_generated_part() -> None:
    stale = f"intro\n{BEGIN_MARKER}\nold tables\n{END_MARKER}\noutro\n"
    updated = update_markdown(stale)
    assert updated.startswith(f"intro\n{BEGIN_MARKER}\n")
    assert updated.endswith(f"{END_MARKER}\noutro\n")
    assert "old tables" not in updated
    assert update_markdown(updated) == updated


def test_update_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        update_markdown("no markers here")
