"""The pieces of a page that are pure functions: bar geometry and the language chosen."""

from __future__ import annotations

from decimal import Decimal

from leasekit.server.workbench.charts import bar_chart
from leasekit.server.workbench.i18n import negotiate, translations


def test_bars_are_in_proportion_and_the_largest_fills_the_room() -> None:
    chart = bar_chart("c", [("A", Decimal("300.00"), "300"), ("B", 150, "150"), ("C", 0, "0")])
    a, b, c = chart.bars
    assert a.length == 2 * b.length
    assert c.length == 0
    assert chart.label_width + a.length <= chart.width
    assert [bar.y for bar in chart.bars] == sorted({bar.y for bar in chart.bars})


def test_a_tiny_value_is_still_a_visible_bar_and_an_empty_chart_draws_nothing() -> None:
    chart = bar_chart("c", [("big", 1_000_000, ""), ("tiny", 1, "")])
    assert chart.bars[1].length >= 2
    assert bar_chart("c", []).bars == ()


def test_the_browsers_first_language_the_workbench_speaks_is_chosen() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("de-DE, en-GB;q=0.7") == "en"
    assert negotiate("fr") == "en"
    assert negotiate(None) == "en"
    assert negotiate("\x00;;,,q=") == "en"


def test_english_is_the_templates_own_text() -> None:
    assert translations("en").gettext("My queue") == "My queue"
    assert translations("zh").gettext("My queue") == "我的队列"
