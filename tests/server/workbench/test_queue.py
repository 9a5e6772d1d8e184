"""The queue page: its ageing chart counts the whole filtered queue (not the page shown),
and tasks name their partner."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.identity import Actor
from leasekit.server.keys import RUNTIME_KEY

if TYPE_CHECKING:
    from tests.server.conftest import Demo

_BAR = re.compile(r'<th scope="row">([^<]+)</th><td>(\d+)</td>')


def waiting_tasks(demo: Demo, ages: dict[int, int]) -> None:
    """Open tasks on the demo's application, *ages* mapping days waited to how many, stored
    directly, as a busy month would leave them."""
    ctx = demo.client.app[RUNTIME_KEY].services
    application = demo.company.applications[0]
    now, system = datetime.now(UTC), Actor.system()
    tasks = [
        ApprovalTask.open(
            application_id=application.id,
            partner_id=application.partner_id,
            tier="officer",
            required_tier="officer",
            actor=system,
            at=now - timedelta(days=days, hours=1),
            product_code="FL-STD",
            tags=["busy"],
        )
        for days, count in ages.items()
        for _ in range(count)
    ]
    with ctx.uow_factory() as uow:
        uow.approval_tasks.add_many(tasks)
        uow.commit()


def chart(page: str) -> dict[str, int]:
    return {label: int(count) for label, count in _BAR.findall(page)}


async def test_the_ageing_chart_counts_the_whole_queue(demo: Demo, desk: Any) -> None:
    waiting_tasks(demo, {2: 10, 5: 20, 10: 40})
    officer = await desk("officer")
    page = await officer.page("/workbench/queue")
    assert 'rel="next"' in page, "the queue is longer than a page"
    assert chart(page) == {
        "under 1 day": 1, "1–3 days": 10, "3–7 days": 20, "over 7 days": 40,
    }  # fmt: skip
    tagged = chart(await officer.page("/workbench/queue?tag=busy&state=open"))
    assert tagged == {"under 1 day": 0, "1–3 days": 10, "3–7 days": 20, "over 7 days": 40}
    (task,) = await demo.listing("/approval-tasks?state=open&tag=pre_approval_pass", "officer")
    await demo.move(f"/approval-tasks/{task['id']}", "officer", 200, action="claim")
    assert chart(await officer.page("/workbench/queue"))["under 1 day"] == 0
    every_state = chart(await officer.page("/workbench/queue?tier=officer"))
    assert every_state["under 1 day"] == 1, "a claimed task still waits"
    decided = chart(await officer.page("/workbench/queue?state=decided"))
    assert set(decided.values()) == {0}


async def test_the_queue_names_the_partner(demo: Demo, desk: Any) -> None:
    page = await (await desk("officer")).page("/workbench/queue")
    assert "<td>Sunrise Motors</td>" in page


async def test_the_queue_speaks_chinese(demo: Demo, desk: Any) -> None:
    officer = await desk("officer")
    page = await officer.submit(
        "/workbench/language", {"language": "zh", "back": "/workbench/queue"}
    )
    assert "不足 1 天" in page
    assert "你认领的任务" in page
