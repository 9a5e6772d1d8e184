"""Reconciliation: which contract each incoming payment is for.

Dealers and customers pay by transfer; a statement line or an imported entry says how much
came in, from whom and with what reference text. :func:`reconcile` matches such
:class:`IncomingLine` values to :class:`OpenItem` values (what can be paid now on a contract)
with the deployer's :class:`MatchingRules`, tried in order:

``REFERENCE``
    A reference of an item occurs in the line's reference text, compared without case,
    blanks or punctuation and only at word boundaries (``LC-0001`` matches ``lc 0001`` and
    ``Ref: LC0001/March``, never ``LC00011``). Where several references overlap the longest
    one counts. One item found takes the line whatever its amount (a part payment is still
    for that contract); several items (one transfer for several contracts) take it only when
    their amounts due add up to the line's amount exactly, each getting its own.
``AMOUNT_AND_PAYER``
    The amount equals an item's amount due and the payer's account is one of the item's (by
    name only when the account finds nothing); a single item only.
``AMOUNT_WITHIN_TOLERANCE``
    As above, but the amount may differ from the amount due by the configured tolerance;
    again a single item only, and the difference is recorded.

Nothing is matched twice, and every line ends in exactly one place:

* Rules run one after the other over all lines still open, so a stronger rule wins over a
  weaker one even for a later line; within one rule the earlier line (by ``booked_on``, then
  ``line_id``) wins.
* A line whose candidates include an item already taken goes to the queue as
  :attr:`AmbiguityReason.ALREADY_MATCHED`, not on to a weaker rule: it is most likely a second
  payment for the same thing, and a person should decide where the money goes.
* A line a rule finds ambiguous stops there too: a weaker rule would only guess where a
  stronger one already saw a conflict.

The matcher looks lines up in dictionaries built once from the items, so its work grows with
the number of lines and candidates, never with lines × items. The result does not depend on
the order of its input.

:func:`split`, :func:`combine` and :func:`to_suspense` are the pure steps a person takes on the
reconciliation queue.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any, Final, NamedTuple, TypeAlias, TypeVar

import attrs

from leasekit.domain.validation import text
from leasekit.errors import AmountError, FieldError, ValidationError
from leasekit.money import DECIMAL_CONTEXT, Currency, Money, currency, to_decimal

__all__ = [
    "DEFAULT_RULES",
    "Allocation",
    "Ambiguity",
    "AmbiguityReason",
    "IncomingLine",
    "Match",
    "MatchRule",
    "MatchingRules",
    "OpenItem",
    "Reconciliation",
    "Suspense",
    "Tolerance",
    "combine",
    "normalize",
    "reconcile",
    "split",
    "to_suspense",
]

_SEPARATORS: Final = re.compile(r"[\W_]+")
"""Everything that is not a letter or a digit: how people and banks write references differs
only in these (``LC-2024/001``, ``lc 2024 001``)."""


def normalize(value: str) -> str:
    """*value* without case, blanks or punctuation, the form references, accounts and names
    are compared in. Text of letters and digits only (most accounts, many references) skips
    the regular expression: ``isalnum`` holds for exactly the characters it keeps."""
    folded = value.casefold()
    return folded if folded.isalnum() else _SEPARATORS.sub("", folded)


def _tokens(value: str) -> list[str]:
    return [token for token in _SEPARATORS.split(value.casefold()) if token]


def _not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError.single(attribute.name, "must not be blank")


def _positive(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money):
        raise ValidationError.single(attribute.name, "must be Money")
    if value.amount <= 0:
        raise ValidationError.single(attribute.name, f"must be positive, not {value}")


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


@attrs.frozen
class IncomingLine:
    """Money in, from a statement line, an imported row or a manual entry."""

    line_id: str = attrs.field(validator=_not_blank)
    """Unique within one reconciliation run (a statement's booking id, an import's row id)."""
    amount: Money = attrs.field(validator=_positive)
    booked_on: date
    reference: str = ""
    """The remittance text as the payer wrote it."""
    payer_name: str = ""
    payer_account: str = ""


@attrs.frozen
class OpenItem:
    """What a payment can settle now on one contract: its outstanding due, or a settlement
    quote's amount. One item per contract and run, so that a contract is paid once."""

    key: str = attrs.field(validator=_not_blank)
    """The contract id; matches and ambiguities name items by it."""
    contract_number: str
    amount_due: Money = attrs.field(validator=_positive)
    due_on: date
    references: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """Further texts a payer may quote: settlement-quote ids, the mandate reference. The
    contract number always counts as a reference as well."""
    payer_accounts: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """The accounts expected to pay: the customer's and the dealer's."""
    payer_names: tuple[str, ...] = attrs.field(default=(), converter=_strings)


class MatchRule(StrEnum):
    """How a line was (or may be) matched; deployers list the automatic ones in order."""

    REFERENCE = "reference"
    AMOUNT_AND_PAYER = "amount_and_payer"
    AMOUNT_WITHIN_TOLERANCE = "amount_within_tolerance"
    MANUAL = "manual"
    """Set by a person on the queue; never configured."""


class AmbiguityReason(StrEnum):
    """Why a line waits for a person although a rule found candidates for it."""

    SEVERAL_CANDIDATES = "several_candidates"
    ALREADY_MATCHED = "already_matched"
    """A candidate was taken by an earlier line or a stronger rule in the same run."""
    AMOUNTS_DIFFER = "amounts_differ"
    """The reference names several items whose amounts due do not add up to the line's."""
    CURRENCY_DIFFERS = "currency_differs"


class Allocation(NamedTuple):
    """The part of a line that goes to one item."""

    key: str
    amount: Money


@functools.cache
def _zero(cur: Currency) -> Money:
    return Money.zero(cur)


@attrs.frozen
class Match:
    """A line and where its money goes.

    The allocations and the overpayment always add up to the line's amount: money never
    disappears in a match. *shortfall* is what the matched items still lack.
    """

    line_id: str
    allocations: tuple[Allocation, ...]
    rule: MatchRule
    overpayment: Money
    """Paid beyond what the items were due: for a person to refund or hold as a credit."""
    shortfall: Money
    """Due but not paid by this line: the items stay partly open."""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(allocation.key for allocation in self.allocations)

    @property
    def allocated(self) -> Money:
        total = _zero(self.overpayment.currency)
        for allocation in self.allocations:
            total += allocation.amount
        return total

    @property
    def difference(self) -> Money:
        """Line amount minus amount due: positive for an overpayment, negative when short."""
        return self.overpayment - self.shortfall


@attrs.frozen
class Ambiguity:
    """A line a rule found candidates for but could not decide; it waits on the queue."""

    line_id: str
    candidates: tuple[str, ...]
    """The item keys the rule found, sorted."""
    rule: MatchRule
    reason: AmbiguityReason


@attrs.frozen
class Suspense:
    """A line parked on the suspense account until someone knows what it is for."""

    line_id: str
    amount: Money
    reason: str


@attrs.frozen
class Reconciliation:
    """The outcome of one run; each line is in exactly one of the three, in line order
    (``booked_on``, then ``line_id``)."""

    matched: tuple[Match, ...]
    ambiguous: tuple[Ambiguity, ...]
    unmatched: tuple[str, ...]


# Rules as data -----------------------------------------------------------------------------


def _tolerance_percent(
    instance: object, attribute: attrs.Attribute[Decimal | None], value: Decimal | None
) -> None:
    if value is not None and not Decimal(0) <= value < Decimal(100):
        raise ValidationError.single("tolerance.percent", "must be at least 0 and below 100")


def _tolerance_amount(
    instance: object, attribute: attrs.Attribute[Money | None], value: Money | None
) -> None:
    if value is not None and value.amount < 0:
        raise ValidationError.single("tolerance.amount", "must not be negative")


@attrs.frozen
class Tolerance:
    """How far an amount may miss the amount due for ``AMOUNT_WITHIN_TOLERANCE``.

    With both limits set, both must hold (``1 %, at most 10 EUR``). The absolute limit binds
    lines in its own currency only; in other currencies the percent limit alone applies, and
    without one nothing matches there, since 5 EUR means nothing in yen.
    """

    amount: Money | None = attrs.field(default=None, validator=_tolerance_amount)
    percent: Decimal | None = attrs.field(default=None, validator=_tolerance_percent)
    """Of the amount due: ``Decimal("0.5")`` is half a percent."""

    @property
    def is_set(self) -> bool:
        return self.amount is not None or self.percent is not None

    def limit(self, paid: Money, due: Money) -> Decimal | None:
        """The largest difference allowed between *paid* and *due*, or None for no match."""
        limits: list[Decimal] = []
        if self.amount is not None and self.amount.currency == paid.currency:
            limits.append(self.amount.amount)
        if self.percent is not None:
            limits.append(DECIMAL_CONTEXT.multiply(due.amount, self.percent) / 100)
        return min(limits) if limits else None

    def allows(self, paid: Money, due: Money) -> bool:
        limit = self.limit(paid, due)
        return limit is not None and abs(paid.amount - due.amount) <= limit

    def window(self, paid: Money) -> tuple[Decimal, Decimal]:
        """Amounts due that may be within the tolerance of *paid*, a little wide on
        purpose (division is inexact); :meth:`allows` decides."""
        low, high, slack = Decimal("-Infinity"), Decimal("Infinity"), paid.currency.quantum
        if self.amount is not None and self.amount.currency == paid.currency:
            low, high = paid.amount - self.amount.amount, paid.amount + self.amount.amount
        if self.percent is not None:
            share = self.percent / 100
            low = max(low, DECIMAL_CONTEXT.divide(paid.amount, 1 + share))
            high = min(high, DECIMAL_CONTEXT.divide(paid.amount, 1 - share))
        return low - slack, high + slack


_AUTOMATIC: Final = (
    MatchRule.REFERENCE,
    MatchRule.AMOUNT_AND_PAYER,
    MatchRule.AMOUNT_WITHIN_TOLERANCE,
)


def _rule_faults(rules: tuple[MatchRule, ...], tolerance: Tolerance) -> list[FieldError]:
    faults = [
        FieldError(f"rules[{index}]", f"{rule.value!r} is not an automatic rule")
        for index, rule in enumerate(rules)
        if rule not in _AUTOMATIC
    ]
    if not rules:
        faults.append(FieldError("rules", "name at least one rule"))
    if len(set(rules)) != len(rules):
        faults.append(FieldError("rules", "a rule is listed twice"))
    if MatchRule.AMOUNT_WITHIN_TOLERANCE in rules and not tolerance.is_set:
        faults.append(
            FieldError("tolerance", "amount_within_tolerance needs an amount or a percent")
        )
    return faults


def _rule_tuple(rules: Iterable[str]) -> tuple[MatchRule, ...]:
    return tuple(MatchRule(rule) for rule in rules)


@attrs.frozen
class MatchingRules:
    """The automatic rules in the order they are tried, and their tolerance.

    Settings hold it as a plain dict (:meth:`from_dict`, :meth:`to_dict`).
    """

    rules: tuple[MatchRule, ...] = attrs.field(converter=_rule_tuple)
    tolerance: Tolerance = Tolerance()

    def __attrs_post_init__(self) -> None:
        faults = _rule_faults(self.rules, self.tolerance)
        if faults:
            raise ValidationError(faults)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchingRules:
        """Rules from settings, e.g. ``{"rules": ["reference", "amount_and_payer",
        "amount_within_tolerance"], "tolerance": {"amount": "2.00", "currency": "EUR",
        "percent": "0.5"}}``; every fault is named by its field."""
        faults = [
            FieldError(key, "is not a setting of the matching rules")
            for key in sorted(map(str, data))
            if key not in ("rules", "tolerance")
        ]
        rules = _rules_from(data.get("rules", [rule.value for rule in DEFAULT_RULES.rules]))
        tolerance = _tolerance_from(data.get("tolerance", {}))
        faults += [fault for part in (rules, tolerance) if isinstance(part, list) for fault in part]
        if isinstance(rules, tuple) and isinstance(tolerance, Tolerance):
            faults += _rule_faults(rules, tolerance)
            if not faults:
                return cls(rules, tolerance)
        raise ValidationError(faults)

    def to_dict(self) -> dict[str, Any]:
        tolerance: dict[str, str] = {}
        if self.tolerance.amount is not None:
            tolerance["amount"] = str(self.tolerance.amount.amount)
            tolerance["currency"] = self.tolerance.amount.currency.code
        if self.tolerance.percent is not None:
            tolerance["percent"] = str(self.tolerance.percent)
        return {"rules": [rule.value for rule in self.rules], "tolerance": tolerance}


def _rules_from(value: object) -> tuple[MatchRule, ...] | list[FieldError]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [FieldError("rules", "must be a list of rule names")]
    rules: list[MatchRule] = []
    faults: list[FieldError] = []
    allowed = ", ".join(_AUTOMATIC)
    for index, name in enumerate(value):
        if isinstance(name, str) and name in _AUTOMATIC:
            rules.append(MatchRule(name))
        else:
            faults.append(FieldError(f"rules[{index}]", f"{name!r} is not one of {allowed}"))
    return faults or tuple(rules)


def _tolerance_from(value: object) -> Tolerance | list[FieldError]:
    if not isinstance(value, Mapping):
        return [FieldError("tolerance", "must be a mapping of amount, currency and percent")]
    faults = [
        FieldError(f"tolerance.{key}", "is not a setting of the tolerance")
        for key in sorted(map(str, value))
        if key not in ("amount", "currency", "percent")
    ]
    amount = _decimal_setting(value, "amount", faults)
    percent = _decimal_setting(value, "percent", faults)
    money = None
    if amount is not None:
        money = _money_setting(amount, value.get("currency"), faults)
    elif "currency" in value and value.get("amount") is None:
        faults.append(FieldError("tolerance.currency", "only goes with an amount"))
    if faults:
        return faults
    try:
        return Tolerance(money, percent)
    except ValidationError as exc:
        return list(exc.errors)


def _decimal_setting(data: Mapping[Any, Any], key: str, faults: list[FieldError]) -> Decimal | None:
    if data.get(key) is None:
        return None
    try:
        return to_decimal(data[key], key)
    except (TypeError, AmountError) as exc:
        faults.append(FieldError(f"tolerance.{key}", str(exc).removeprefix(f"{key}: ")))
        return None


def _money_setting(amount: Decimal, code: object, faults: list[FieldError]) -> Money | None:
    if not isinstance(code, str):
        faults.append(FieldError("tolerance.currency", "an amount needs its currency code"))
        return None
    try:
        return Money(amount, currency(code))
    except AmountError as exc:
        faults.append(FieldError("tolerance.currency", str(exc)))
        return None


DEFAULT_RULES: Final = MatchingRules((MatchRule.REFERENCE, MatchRule.AMOUNT_AND_PAYER))
"""Only the rules that cannot misplace money: a tolerance is a guess, and how much of one a
company accepts (and in which currency) is its own decision."""


# Indexes: one dictionary lookup (or bisection) per line and rule --------------------------

_Finder: TypeAlias = Callable[[IncomingLine], Sequence[str]]
_Key: TypeAlias = tuple[Decimal, str, str]
_Entry = TypeVar("_Entry", bound=Hashable)


def _grouped(pairs: Iterable[tuple[_Entry, str]]) -> dict[_Entry, tuple[str, ...]]:
    """Item keys by index entry, each once and sorted (one item's pairs come together). The
    values are tuples of strings, which the garbage collector stops tracking, so an index
    of a whole book does not make it walk the heap again and again."""
    index: dict[_Entry, tuple[str, ...]] = {}
    more: defaultdict[_Entry, list[str]] = defaultdict(list)
    for entry, key in pairs:
        if index.setdefault(entry, (key,))[0] != key:
            rest = more[entry]
            if not rest or rest[-1] != key:
                rest.append(key)
    for entry, rest in more.items():
        index[entry] = tuple(sorted((*index[entry], *rest)))
    return index


def _reference_finder(items: Iterable[OpenItem]) -> _Finder:
    """Looks up every run of whole words of the reference text whose normalized form is
    at most as long as the longest reference, so a reference is found however it was
    spaced, at a cost that grows with the text, not with the items."""
    index = _grouped(
        (ref, item.key)
        for item in items
        for ref in map(normalize, (item.contract_number, *item.references))
        if ref
    )
    longest = max(map(len, index), default=0)

    def find(line: IncomingLine) -> Sequence[str]:
        whole = normalize(line.reference)
        if not whole:
            return ()
        found = index.get(whole)  # the common case: the text is just the reference
        if found is not None:
            return found
        return _reference_runs(_tokens(line.reference), index, longest)

    return find


def _reference_runs(
    tokens: list[str], index: Mapping[str, Sequence[str]], longest: int
) -> list[str]:
    """Keys of the longest non-overlapping runs of *tokens* that are references."""
    runs: list[tuple[int, int, int, Sequence[str]]] = []
    for start in range(len(tokens)):
        joined = ""
        for end in range(start, len(tokens)):
            joined += tokens[end]
            if len(joined) > longest:
                break
            found = index.get(joined)
            if found is not None:
                runs.append((-len(joined), start, end, found))
    if not runs:
        return []
    runs.sort(key=lambda run: run[:3])
    used: set[int] = set()
    keys: set[str] = set()
    for _, start, end, found in runs:
        words = range(start, end + 1)
        if used.isdisjoint(words):
            used.update(words)
            keys.update(found)
    return sorted(keys)


def _payer_keys(item: OpenItem) -> tuple[set[str], set[str]]:
    accounts = {normalize(account) for account in item.payer_accounts} - {""}
    names = {normalize(name) for name in item.payer_names} - {""}
    return accounts, names


def _by_amount_and(
    payers: Callable[[OpenItem], Iterable[str]], items: Iterable[OpenItem]
) -> dict[_Key, tuple[str, ...]]:
    """The items by amount due, currency and each normalized payer *payers* names."""
    return _grouped(
        ((item.amount_due.amount, item.amount_due.currency.code, payer), item.key)
        for item in items
        for payer in map(normalize, payers(item))
        if payer
    )


def _amount_payer_finder(items: Collection[OpenItem]) -> _Finder:
    """Exact amount and payer as a dictionary key; the name only when the account (if
    any) finds nothing, since accounts identify and names only describe. A line paying an
    amount no item is due is passed over without normalizing its payer, and the names are
    indexed only once a line needs them: most lines are found by account or by nothing."""
    dues = {item.amount_due.amount for item in items}
    by_account = _by_amount_and(attrgetter("payer_accounts"), items)

    @functools.cache
    def by_name() -> dict[_Key, tuple[str, ...]]:
        return _by_amount_and(attrgetter("payer_names"), items)

    def find(line: IncomingLine) -> Sequence[str]:
        paid = line.amount
        if paid.amount not in dues:
            return ()
        code = paid.currency.code
        account = normalize(line.payer_account)
        found = by_account.get((paid.amount, code, account)) if account else None
        if found is None:
            name = normalize(line.payer_name)
            found = by_name().get((paid.amount, code, name)) if name else None
        return found or ()

    return find


class _Ladder(NamedTuple):
    """One payer's items in one currency, by amount due, for bisection."""

    amounts: list[Decimal]
    keys: list[str]


def _ladders(pairs: Iterable[tuple[str, OpenItem]]) -> dict[tuple[str, str], _Ladder]:
    grouped: defaultdict[tuple[str, str], list[tuple[Decimal, str]]] = defaultdict(list)
    for payer, item in pairs:
        grouped[payer, item.amount_due.currency.code].append((item.amount_due.amount, item.key))
    ladders: dict[tuple[str, str], _Ladder] = {}
    for group, rows in grouped.items():
        rows.sort()
        ladders[group] = _Ladder([amount for amount, _ in rows], [key for _, key in rows])
    return ladders


def _tolerance_finder(items: Iterable[OpenItem], tolerance: Tolerance) -> _Finder:
    """A payer's items whose amount due is within the tolerance: bisection into that
    payer's items sorted by amount, then the exact check on the few in the window."""
    items = list(items)
    dues = {item.key: item.amount_due for item in items}
    by_account = _ladders((a, item) for item in items for a in _payer_keys(item)[0])
    by_name = _ladders((n, item) for item in items for n in _payer_keys(item)[1])

    def within(ladders: Mapping[tuple[str, str], _Ladder], payer: str, paid: Money) -> list[str]:
        ladder = ladders.get((payer, paid.currency.code)) if payer else None
        if ladder is None:
            return []
        low, high = tolerance.window(paid)
        window = ladder.keys[bisect_left(ladder.amounts, low) : bisect_right(ladder.amounts, high)]
        return sorted(key for key in window if tolerance.allows(paid, dues[key]))

    def find(line: IncomingLine) -> Sequence[str]:
        found = within(by_account, normalize(line.payer_account), line.amount)
        return found or within(by_name, normalize(line.payer_name), line.amount)

    return find


def _finder(rule: MatchRule, items: Collection[OpenItem], tolerance: Tolerance) -> _Finder:
    if rule is MatchRule.REFERENCE:
        return _reference_finder(items)
    if rule is MatchRule.AMOUNT_AND_PAYER:
        return _amount_payer_finder(items)
    return _tolerance_finder(items, tolerance)


# Deciding ----------------------------------------------------------------------------------

_Outcome: TypeAlias = "Match | Ambiguity"


def _pay_one(line: IncomingLine, item: OpenItem, rule: MatchRule) -> _Outcome:
    """The line's money to one item; amounts compared as decimals, and a new amount made
    only for the difference, since most lines pay exactly what is due. Currencies are
    shared values (:data:`leasekit.money.CURRENCIES`), so identity settles most."""
    paid, due = line.amount, item.amount_due
    cur = paid.currency
    if due.currency is not cur and due.currency != cur:
        return Ambiguity(line.line_id, (item.key,), rule, AmbiguityReason.CURRENCY_DIFFERS)
    zero = _zero(cur)
    if paid.amount == due.amount:
        return Match(line.line_id, (Allocation(item.key, paid),), rule, zero, zero)
    if paid.amount > due.amount:
        return Match(line.line_id, (Allocation(item.key, due),), rule, paid - due, zero)
    return Match(line.line_id, (Allocation(item.key, paid),), rule, zero, due - paid)


def _pay_several(line: IncomingLine, items: list[OpenItem], rule: MatchRule) -> _Outcome:
    """One transfer for several contracts: each gets its amount due, so the amounts must
    add up exactly; any other split would be a guess."""
    keys = tuple(item.key for item in items)
    paid = line.amount
    if any(item.amount_due.currency != paid.currency for item in items):
        return Ambiguity(line.line_id, keys, rule, AmbiguityReason.CURRENCY_DIFFERS)
    if sum((item.amount_due.amount for item in items), Decimal(0)) != paid.amount:
        return Ambiguity(line.line_id, keys, rule, AmbiguityReason.AMOUNTS_DIFFER)
    zero = _zero(paid.currency)
    allocations = tuple(Allocation(item.key, item.amount_due) for item in items)
    return Match(line.line_id, allocations, rule, zero, zero)


def _decide(
    line: IncomingLine,
    rule: MatchRule,
    keys: Sequence[str],
    items: Mapping[str, OpenItem],
    taken: set[str],
) -> _Outcome:
    """What *rule* does with a line it found the items *keys* for (at least one)."""
    if not taken.isdisjoint(keys):
        return Ambiguity(line.line_id, tuple(keys), rule, AmbiguityReason.ALREADY_MATCHED)
    if len(keys) == 1:
        return _pay_one(line, items[keys[0]], rule)
    if rule is MatchRule.REFERENCE:
        return _pay_several(line, [items[key] for key in keys], rule)
    return Ambiguity(line.line_id, tuple(keys), rule, AmbiguityReason.SEVERAL_CANDIDATES)


_line_order: Final[Callable[[IncomingLine], tuple[date, str]]] = attrgetter("booked_on", "line_id")


def _unique(values: Iterable[str], field: str) -> list[FieldError]:
    seen: set[str] = set()
    faults = []
    for index, value in enumerate(values):
        if value in seen:
            faults.append(FieldError(f"{field}[{index}]", f"{value!r} appears twice"))
        seen.add(value)
    return faults


def reconcile(
    lines: Iterable[IncomingLine],
    items: Iterable[OpenItem],
    rules: MatchingRules = DEFAULT_RULES,
) -> Reconciliation:
    """Match *lines* to *items* with *rules* (see the module's description for the order in
    which lines and rules take items). Line ids and item keys must be unique."""
    ordered = sorted(lines, key=_line_order)
    by_key = {item.key: item for item in items}
    _check_unique_lines(ordered)
    indexed = by_key.values()
    taken: set[str] = set()
    outcomes: dict[str, _Outcome] = {}
    pending = ordered
    for rule in rules.rules:
        find = _finder(rule, indexed, rules.tolerance)
        still_open = []
        for line in pending:
            keys = find(line)
            if not keys:
                still_open.append(line)
                continue
            outcome = _decide(line, rule, keys, by_key, taken)
            outcomes[line.line_id] = outcome
            if isinstance(outcome, Match):
                taken.update(keys)
        pending = still_open
    return _result(ordered, outcomes)


def _check_unique_lines(ordered: Sequence[IncomingLine]) -> None:
    """A set for the common case; which lines repeat is worked out only when some do."""
    if len({line.line_id for line in ordered}) != len(ordered):
        raise ValidationError(_unique((line.line_id for line in ordered), "lines"))


def _result(ordered: list[IncomingLine], outcomes: Mapping[str, _Outcome]) -> Reconciliation:
    matched: list[Match] = []
    ambiguous: list[Ambiguity] = []
    unmatched: list[str] = []
    for line in ordered:
        outcome = outcomes.get(line.line_id)
        if outcome is None:
            unmatched.append(line.line_id)
        elif isinstance(outcome, Match):
            matched.append(outcome)
        else:
            ambiguous.append(outcome)
    return Reconciliation(tuple(matched), tuple(ambiguous), tuple(unmatched))


# The queue: what a person does with a line the rules left ----------------------------------


def split(line: IncomingLine, parts: Sequence[tuple[str, Money]]) -> Match:
    """One line paid several items, in the parts a person names; the parts must add up to
    the line's amount exactly, so that no money is left unexplained."""
    if not parts:
        raise ValidationError.single("parts", "name at least one item and amount")
    faults = _unique((key for key, _ in parts), "parts")
    for index, (key, amount) in enumerate(parts):
        if not key.strip():
            faults.append(FieldError(f"parts[{index}].key", "must not be blank"))
        if amount.currency != line.amount.currency:
            faults.append(
                FieldError(f"parts[{index}].amount", f"must be in {line.amount.currency.code}")
            )
        elif amount.amount <= 0:
            faults.append(FieldError(f"parts[{index}].amount", "must be positive"))
    if not faults:
        total = sum((amount.amount for _, amount in parts), Decimal(0))
        if total != line.amount.amount:
            faults.append(
                FieldError("parts", f"add up to {total}, the line is {line.amount.amount}")
            )
    if faults:
        raise ValidationError(faults)
    zero = _zero(line.amount.currency)
    allocations = tuple(Allocation(key, amount) for key, amount in parts)
    return Match(line.line_id, allocations, MatchRule.MANUAL, zero, zero)


def combine(lines: Sequence[IncomingLine], item: OpenItem) -> tuple[Match, ...]:
    """Several lines paid one item (installments sent apart, a quote paid in two
    transfers): they fill it in line order, any excess is the overpayment of the line that
    crossed the amount due, and what is still missing is the last line's shortfall."""
    if not lines:
        raise ValidationError.single("lines", "name at least one line")
    faults = _unique((line.line_id for line in lines), "lines")
    cur = item.amount_due.currency
    faults += [
        FieldError(f"lines[{index}].amount", f"must be in {cur.code}, the item's currency")
        for index, line in enumerate(lines)
        if line.amount.currency != cur
    ]
    if faults:
        raise ValidationError(faults)
    ordered = sorted(lines, key=_line_order)
    remaining = item.amount_due
    zero = _zero(cur)
    matches = []
    for line in ordered:
        share = min(line.amount, remaining, key=lambda money: money.amount)
        remaining -= share
        allocations = (Allocation(item.key, share),) if share.amount else ()
        matches.append(
            Match(line.line_id, allocations, MatchRule.MANUAL, line.amount - share, zero)
        )
    last = matches[-1]
    matches[-1] = attrs.evolve(last, shortfall=remaining)
    return tuple(matches)


def to_suspense(line: IncomingLine, reason: str) -> Suspense:
    """Park a line nobody can place yet; the reason is what the next person reads."""
    return Suspense(line.line_id, line.amount, text(reason, "reason"))
