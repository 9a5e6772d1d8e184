"""Partner monitoring: thresholds on a partner's figures that put it on watch or suspend it.

Each :class:`MonitoringRule` watches one figure of :class:`~leasekit.domain.partner_figures.
PartnerFigures` with a ``watch`` and a ``suspend`` level (either may be absent). A rate is
judged only once its basis is large enough (``minimum_basis``): one overdue contract out of
two is bad luck, not a pattern. :func:`assess` lists every rule crossed and the move it calls
for: ``suspend`` for an active or watched partner past a suspend level, ``watch`` for an
active one past a watch level. Monitoring never clears a watch or lifts a suspension; a
person does, having looked.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.partner_figures import PartnerFigures
from leasekit.domain.partner_ratings import RatingModel, Scorecard
from leasekit.domain.partners import PartnerAction, PartnerState

__all__ = [
    "DEFAULT_RULES",
    "Assessment",
    "Breach",
    "Level",
    "MonitoredFigure",
    "MonitoringRule",
    "PartnerOversight",
    "assess",
]


class MonitoredFigure(StrEnum):
    """The figures rules may watch, by their names in :class:`PartnerFigures`."""

    UTILISATION = "utilisation"
    OVERDUE_RATE = "overdue_rate"
    FRAUD_HITS = "fraud_hits"
    DEFECT_RATE = "defect_rate"
    APPROVAL_RATE = "approval_rate"


_BASIS: Final[Mapping[MonitoredFigure, str | None]] = {
    MonitoredFigure.UTILISATION: None,
    MonitoredFigure.OVERDUE_RATE: "contracts",
    MonitoredFigure.FRAUD_HITS: None,
    MonitoredFigure.DEFECT_RATE: "documents",
    MonitoredFigure.APPROVAL_RATE: "decided",
}
"""The count each rate is a share of."""


class Level(StrEnum):
    WATCH = "watch"
    SUSPEND = "suspend"


@attrs.frozen
class MonitoringRule:
    """Levels of one figure: crossed when the figure reaches them (``low_is_bad``: when it
    falls to them), judged once the figure's basis counts ``minimum_basis``."""

    watch: Decimal | None = None
    suspend: Decimal | None = None
    low_is_bad: bool = False
    minimum_basis: int = 0

    def crossed(self, value: Decimal) -> tuple[Level, Decimal] | None:
        """The most severe level *value* crosses, with that level's threshold."""
        for level, threshold in ((Level.SUSPEND, self.suspend), (Level.WATCH, self.watch)):
            if threshold is None:
                continue
            if (value <= threshold) if self.low_is_bad else (value >= threshold):
                return level, threshold
        return None


DEFAULT_RULES: Final[Mapping[MonitoredFigure, MonitoringRule]] = {
    # Beyond its limit nothing is taken; nearly all of it used is worth a closer look.
    MonitoredFigure.UTILISATION: MonitoringRule(watch=Decimal("0.95")),
    MonitoredFigure.OVERDUE_RATE: MonitoringRule(
        watch=Decimal("0.05"), suspend=Decimal("0.15"), minimum_basis=10
    ),
    MonitoredFigure.FRAUD_HITS: MonitoringRule(watch=Decimal(1), suspend=Decimal(3)),
    MonitoredFigure.DEFECT_RATE: MonitoringRule(watch=Decimal("0.15"), minimum_basis=20),
    # Most of a dealer's deals refused means it sends what it should not.
    MonitoredFigure.APPROVAL_RATE: MonitoringRule(
        watch=Decimal("0.20"), low_is_bad=True, minimum_basis=20
    ),
}


@attrs.frozen
class Breach:
    """One rule crossed."""

    figure: MonitoredFigure = attrs.field(converter=MonitoredFigure)
    value: Decimal
    level: Level = attrs.field(converter=Level)
    threshold: Decimal
    low_is_bad: bool = False

    def describe(self) -> str:
        relation = "at or below" if self.low_is_bad else "at or above"
        return f"{self.figure} {self.value} {relation} the {self.level} level {self.threshold}"


@attrs.frozen
class Assessment:
    """Every rule a partner's figures cross, and the move they call for (None: none)."""

    partner_id: str
    breaches: tuple[Breach, ...]
    action: PartnerAction | None

    @property
    def reason(self) -> str:
        """The move's reason, as the partner's history and the event show it."""
        return "monitoring: " + "; ".join(breach.describe() for breach in self.breaches)


def assess(
    figures: PartnerFigures,
    state: PartnerState,
    rules: Mapping[MonitoredFigure, MonitoringRule] = DEFAULT_RULES,
) -> Assessment:
    """The rules *figures* cross, and what that means for a partner in *state*."""
    breaches = tuple(
        breach for figure, rule in rules.items() if (breach := _breach(figures, figure, rule))
    )
    levels = {breach.level for breach in breaches}
    action = None
    if Level.SUSPEND in levels and state in (PartnerState.ACTIVE, PartnerState.WATCH):
        action = PartnerAction.SUSPEND
    elif levels and state is PartnerState.ACTIVE:
        action = PartnerAction.WATCH
    return Assessment(figures.partner_id, breaches, action)


def _breach(
    figures: PartnerFigures, figure: MonitoredFigure, rule: MonitoringRule
) -> Breach | None:
    value = getattr(figures, figure.value)
    if value is None:
        return None
    basis = _BASIS[figure]
    if basis is not None and getattr(figures, basis) < rule.minimum_basis:
        return None
    crossed = rule.crossed(Decimal(value))
    if crossed is None:
        return None
    level, threshold = crossed
    return Breach(figure, Decimal(value), level, threshold, rule.low_is_bad)


@attrs.frozen
class PartnerOversight:
    """How the company watches its partners: the window its figures cover, the model that
    rates them and the rules that alert on them (settings give each; a plugin may give the
    model)."""

    window_months: int = 12
    rating_model: RatingModel = attrs.field(factory=Scorecard)
    rules: Mapping[MonitoredFigure, MonitoringRule] = DEFAULT_RULES
