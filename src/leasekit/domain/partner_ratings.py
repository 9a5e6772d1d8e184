"""A partner's A/B/C/D rating: scored from its own book, explained, and overridden only with
a higher role's approval.

A **rating model** grades :class:`~leasekit.domain.partner_figures.PartnerFigures`. The
built-in one is a :class:`Scorecard`: each factor's figure is placed between the value that
scores nothing (``worst``) and the value that scores full marks (``best``), giving 0 to 100;
the factors' weighted average is the score, and the grade is the best one whose threshold the
score reaches. A figure with no data yet (no decided applications, no contracts) scores
``neutral``, so a new dealer is neither rewarded nor punished for what it has not done.
Deployers configure the weights, bounds and thresholds, or replace the model altogether
(the ``leasekit_partner_rating_model`` hook); either way the model's ``version`` names it.

Each computation is kept as a :class:`RatingRecord` with the figures it read, the model
version and each factor's contribution, so any grade can be explained years later from what
is stored, without recomputing anything.

A grade can be overridden by hand (:class:`RatingOverride`): with a reason and an end date,
requested by an officer, manager or post-loan supervisor and approved by someone whose role
ranks above the requester's. While an approved override is in force it is the partner's
grade (:func:`effective_grade`); the computed one is still kept beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final, Protocol, runtime_checkable

import attrs

from leasekit.domain.access import CREATE_ROLES, ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import (
    MAX_REASON,
    Effect,
    Guard,
    Move,
    RequestAction,
    RequestState,
    Stateful,
    StateMachine,
    not_by,
    only_by,
    records_actor,
    request_lifecycle,
)
from leasekit.domain.partner_figures import PartnerFigures
from leasekit.domain.partners import PartnerRating
from leasekit.domain.validation import Checks, choice, text

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_THRESHOLDS",
    "MAX_OVERRIDE_DAYS",
    "RATING_OVERRIDE_LIFECYCLE",
    "FactorRule",
    "FactorScore",
    "RatingFactor",
    "RatingModel",
    "RatingOverride",
    "RatingOverrideAction",
    "RatingOverrideState",
    "RatingRecord",
    "RatingResult",
    "RatingTrigger",
    "Scorecard",
    "effective_grade",
]

SCORE_PLACES: Final = Decimal("0.01")
FULL_MARKS: Final = Decimal(100)
MAX_OVERRIDE_DAYS: Final = 366
"""An override is a judgement about now: it is looked at again within a year."""


class RatingFactor(StrEnum):
    """What a scorecard weighs; each reads one figure."""

    VOLUME = "volume"
    """Applications submitted in the window."""
    APPROVAL_RATE = "approval_rate"
    OVERDUE_RATE = "overdue_rate"
    """Of its contracts on the books, the share with an installment past due."""
    FRAUD_HITS = "fraud_hits"
    DEFECT_RATE = "defect_rate"
    """Document defects per document uploaded in the window."""
    TIME_IN_BUSINESS = "time_in_business"
    """Months since the partner was onboarded with the company."""


_FIGURE: Final[Mapping[RatingFactor, Callable[[PartnerFigures], Decimal | None]]] = {
    RatingFactor.VOLUME: lambda figures: Decimal(figures.applications),
    RatingFactor.APPROVAL_RATE: lambda figures: figures.approval_rate,
    RatingFactor.OVERDUE_RATE: lambda figures: figures.overdue_rate,
    RatingFactor.FRAUD_HITS: lambda figures: Decimal(figures.fraud_hits),
    RatingFactor.DEFECT_RATE: lambda figures: figures.defect_rate,
    RatingFactor.TIME_IN_BUSINESS: lambda figures: Decimal(figures.months_in_business),
}


@attrs.frozen
class FactorRule:
    """How one factor scores: ``worst`` scores 0, ``best`` 100, linearly between (either may
    be the larger: a lower overdue rate is better), and it counts ``weight`` in the average."""

    weight: Decimal
    worst: Decimal
    best: Decimal

    def __attrs_post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError("a factor's weight must not be negative")
        if self.worst == self.best:
            raise ValueError("a factor's worst and best values must differ")

    def score(self, value: Decimal) -> Decimal:
        """*value* placed between worst (0) and best (100), clamped to that range."""
        fraction = (value - self.worst) / (self.best - self.worst)
        # Zero first: at the worst value the fraction is -0 when best < worst, and max keeps
        # the first of equals, so no score reads "-0.00".
        clamped = min(max(Decimal(0), fraction), Decimal(1))
        return (clamped * FULL_MARKS).quantize(SCORE_PLACES)


DEFAULT_FACTORS: Final[Mapping[RatingFactor, FactorRule]] = {
    # A dealer sending ten deals a month is an established source of business.
    RatingFactor.VOLUME: FactorRule(Decimal(10), Decimal(0), Decimal(120)),
    RatingFactor.APPROVAL_RATE: FactorRule(Decimal(15), Decimal("0.30"), Decimal("0.90")),
    # Overdue and fraud are what cost money: together they weigh more than half, so that no
    # volume makes up for them, and 10 % of contracts overdue or three fraud hits score nil.
    RatingFactor.OVERDUE_RATE: FactorRule(Decimal(30), Decimal("0.10"), Decimal(0)),
    RatingFactor.FRAUD_HITS: FactorRule(Decimal(25), Decimal(3), Decimal(0)),
    RatingFactor.DEFECT_RATE: FactorRule(Decimal(10), Decimal("0.20"), Decimal(0)),
    RatingFactor.TIME_IN_BUSINESS: FactorRule(Decimal(10), Decimal(0), Decimal(36)),
}
"""The scorecard leasekit ships with; settings replace any part of it."""

DEFAULT_THRESHOLDS: Final[Mapping[PartnerRating, Decimal]] = {
    PartnerRating.A: Decimal(80),
    PartnerRating.B: Decimal(65),
    # A new dealer with a clean record and nothing else (52.5 by the default weights) is a C;
    # one with both overdue and fraud at their worst is a D whatever else it does.
    PartnerRating.C: Decimal(50),
}
"""The lowest score of each grade but the last; below C's is D."""


@attrs.frozen
class FactorScore:
    """One factor's part in a grade, as the explanation shows it."""

    factor: RatingFactor = attrs.field(converter=RatingFactor)
    value: Decimal | None = attrs.field(converter=attrs.converters.optional(Decimal))
    """The figure it read; None when there was no data for it."""
    score: Decimal = attrs.field(converter=Decimal)
    weight: Decimal = attrs.field(converter=Decimal)
    points: Decimal = attrs.field(converter=Decimal)
    """``score × weight / total weight``: what it added to the score."""
    explanation: str


@attrs.frozen
class RatingResult:
    """What a rating model answers."""

    grade: PartnerRating = attrs.field(converter=PartnerRating)
    score: Decimal
    model_version: str
    factors: tuple[FactorScore, ...]


@runtime_checkable
class RatingModel(Protocol):
    """Grades a partner from its figures; the same figures always give the same result."""

    @property
    def version(self) -> str:
        """Names the model and its configuration, kept with every grade it gives."""
        ...

    def rate(self, figures: PartnerFigures) -> RatingResult: ...


@attrs.frozen
class Scorecard:
    """The built-in :class:`RatingModel` (see the module docstring)."""

    factors: Mapping[RatingFactor, FactorRule] = attrs.field(default=DEFAULT_FACTORS)
    thresholds: Mapping[PartnerRating, Decimal] = attrs.field(default=DEFAULT_THRESHOLDS)
    neutral: Decimal = Decimal(50)
    """What a factor without data scores."""

    def __attrs_post_init__(self) -> None:
        if not sum(rule.weight for rule in self.factors.values()):
            raise ValueError("a scorecard needs at least one factor with weight")
        if set(self.thresholds) != set(PartnerRating) - {PartnerRating.D}:
            raise ValueError("a scorecard needs a threshold for each of A, B and C")
        ordered = [self.thresholds[grade] for grade in (PartnerRating.A, PartnerRating.B,
                                                        PartnerRating.C)]  # fmt: skip
        if ordered != sorted(ordered, reverse=True):
            raise ValueError("thresholds must fall from A to C")

    @property
    def version(self) -> str:
        """``scorecard-1+`` the first 12 hex digits of the configuration's SHA-256: two
        grades with one version were given by the same weights, bounds and thresholds."""
        config = {
            "factors": {str(f): [str(r.weight), str(r.worst), str(r.best)]
                        for f, r in sorted(self.factors.items())},
            "thresholds": {str(g): str(t) for g, t in sorted(self.thresholds.items())},
            "neutral": str(self.neutral),
        }  # fmt: skip
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        return f"scorecard-1+{digest[:12]}"

    def rate(self, figures: PartnerFigures) -> RatingResult:
        total_weight = sum((rule.weight for rule in self.factors.values()), Decimal(0))
        scores = tuple(
            self._factor(factor, rule, _FIGURE[factor](figures), total_weight)
            for factor, rule in self.factors.items()
        )
        score = sum((item.points for item in scores), Decimal(0))
        return RatingResult(self.grade_of(score), score, self.version, scores)

    def grade_of(self, score: Decimal) -> PartnerRating:
        for grade, threshold in sorted(self.thresholds.items()):
            if score >= threshold:
                return grade
        return PartnerRating.D

    def _factor(
        self, factor: RatingFactor, rule: FactorRule, value: Decimal | None, total: Decimal
    ) -> FactorScore:
        score = self.neutral.quantize(SCORE_PLACES) if value is None else rule.score(value)
        points = (score * rule.weight / total).quantize(SCORE_PLACES)
        seen = "no data yet, scored neutral" if value is None else f"{value} scored"
        explanation = (
            f"{factor}: {seen} {score} of 100 (worst {rule.worst}, best {rule.best}) "
            f"x weight {rule.weight} of {total} = {points} points"
        )
        return FactorScore(factor, value, score, rule.weight, points, explanation)


class RatingTrigger(StrEnum):
    ON_DEMAND = "on_demand"
    SCHEDULED = "scheduled"


@attrs.frozen
class RatingRecord:
    """One computed rating, with everything needed to explain it; never changed after.

    Stored as JSON, a factor's figures come back as text; its converters make them Decimal
    again, so a record read back equals the one written."""

    id: str
    grade: PartnerRating = attrs.field(converter=PartnerRating)
    score: Decimal
    model_version: str
    factors: tuple[FactorScore, ...]
    inputs: PartnerFigures
    trigger: RatingTrigger = attrs.field(converter=RatingTrigger)
    computed_by: str
    computed_at: datetime

    @property
    def partner_id(self) -> str:
        return self.inputs.partner_id

    @property
    def business_date(self) -> date:
        return self.inputs.as_of

    @classmethod
    def of(
        cls,
        result: RatingResult,
        figures: PartnerFigures,
        *,
        trigger: RatingTrigger,
        actor: Actor,
        at: datetime,
    ) -> RatingRecord:
        return cls(
            id=new_id(),
            grade=result.grade,
            score=result.score,
            model_version=result.model_version,
            factors=result.factors,
            inputs=figures,
            trigger=trigger,
            computed_by=actor.user_id,
            computed_at=require_utc(at),
        )


# --- overrides ------------------------------------------------------------------------------


RatingOverrideState = RequestState
RatingOverrideAction = RequestAction
"""An override is a request a more senior person decides (:func:`request_lifecycle`)."""


_RANK: Final[Mapping[Role, int]] = {
    Role.OFFICER: 1,
    Role.POST_LOAN_SUPERVISOR: 2,
    Role.MANAGER: 2,
    Role.DIRECTOR: 3,
}
"""Seniority for overrides: an override is approved by a role that ranks above the
requester's, so a manager's needs a director."""

_O = RatingOverrideAction
_REQUESTERS: Final = CREATE_ROLES["rating_override"]
_DECIDERS: Final = (Role.MANAGER, Role.DIRECTOR)

RATING_OVERRIDE_LIFECYCLE: Final = request_lifecycle("rating_override", _REQUESTERS, _DECIDERS)

_NOT_THE_REQUESTER: Final = not_by(
    "requested_by", "requesters may not decide their own override; a more senior person must"
)


def _outranks_requester(override: RatingOverride, move: Move) -> None:
    _NOT_THE_REQUESTER(override, move)
    if _RANK.get(move.actor.role, 0) <= _RANK[override.requester_role]:
        raise ObjectPermissionError(
            "rating_override",
            str(move.transition.action),
            move.actor.role.value,
            f"an override requested by a {override.requester_role} is decided by a more "
            "senior role",
        )


@attrs.define
class RatingOverride(Stateful):
    """A grade set by hand for a partner, in force through ``until`` once approved."""

    id: str
    partner_id: str
    grade: PartnerRating = attrs.field(converter=PartnerRating)
    computed_grade: PartnerRating | None = attrs.field(
        converter=attrs.converters.optional(PartnerRating)
    )
    """The computed grade it overrides, as it stood when requested."""
    until: date
    reason: str
    requested_by: str
    requester_role: Role = attrs.field(converter=Role)
    decided_by: str | None
    state: RatingOverrideState = attrs.field(converter=RequestState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[RatingOverrideState]] = RATING_OVERRIDE_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("partner_id", "grade", "until")
    guards: ClassVar[Mapping[str, Guard]] = {
        _O.APPROVE: _outranks_requester,
        _O.REJECT: _outranks_requester,
        _O.CANCEL: only_by("requested_by", "only the requester may cancel"),
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _O.APPROVE: records_actor("decided_by"),
        _O.REJECT: records_actor("decided_by"),
    }

    @classmethod
    def new(
        cls,
        *,
        partner_id: str,
        grade: PartnerRating | str,
        until: date,
        reason: str,
        computed_grade: PartnerRating | None,
        actor: Actor,
        at: datetime,
        business_date: date,
    ) -> RatingOverride:
        """A request to set *partner_id*'s grade by hand through *until*, checked field by
        field."""
        ensure_may_create(actor, "rating_override")
        checks = Checks()
        valid_grade = checks.run(lambda: choice(PartnerRating, grade, "grade"))
        valid_reason = checks.run(lambda: text(reason, "reason", MAX_REASON))
        if until < business_date:
            checks.add("until", f"{until} is before the business date {business_date}")
        elif (until - business_date).days > MAX_OVERRIDE_DAYS:
            checks.add("until", f"at most {MAX_OVERRIDE_DAYS} days after the business date")
        if valid_grade is None or valid_reason is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            partner_id=partner_id,
            grade=valid_grade,
            computed_grade=computed_grade,
            until=until,
            reason=valid_reason,
            requested_by=actor.user_id,
            requester_role=actor.role,
            decided_by=None,
            state=RatingOverrideState.REQUESTED,
            created_at=require_utc(at),
        )

    def in_force(self, on: date) -> bool:
        return self.state is RatingOverrideState.APPROVED and on <= self.until


def effective_grade(
    computed: PartnerRating | None, override: RatingOverride | None, on: date
) -> PartnerRating | None:
    """The partner's grade on *on*: an approved override while in force, else the computed."""
    if override is not None and override.in_force(on):
        return override.grade
    return computed
