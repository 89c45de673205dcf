"""Participants' credit record (增信): a score, a grade, and what the grade changes.

The score is meant to be explained to the party it describes, so it is a plain
sum rather than a model:

* start at ``DEFAULT_CREDIT_BASE`` (80): a newcomer with no record is grade B,
  treated like everybody else; a good record lifts it to A, bad events lower it;
* each event adds its kind's weight (``DEFAULT_CREDIT_WEIGHTS``) times a recency
  factor (``DEFAULT_CREDIT_RECENCY``): full weight within a year, half in the
  second year, a quarter in the third, nothing after three years, so a party
  can recover from an old default;
* the total is rounded HALF_UP to a whole number and clamped to 0..100.

Each event yields a ``CreditReason`` stating its contribution, so the score can
be shown line by line. Grades (``DEFAULT_GRADE_THRESHOLDS``): A ≥ 90, B ≥ 75,
C ≥ 60, D below. The grade scales the deposit (``DEFAULT_DEPOSIT_MULTIPLIERS``:
A 80 %, B 100 %, C 150 % of the listing's ratio, never above the 30 % ceiling of
DOMAIN.md) and grade D may not register for listings. Every default here is a
setting the operator may override by passing its own values.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from types import MappingProxyType

from exchange.errors import RuleViolationError, ValidationError

__all__ = [
    "DEFAULT_BARRED_GRADES",
    "DEFAULT_CREDIT_BASE",
    "DEFAULT_CREDIT_RECENCY",
    "DEFAULT_CREDIT_WEIGHTS",
    "DEFAULT_DEPOSIT_MULTIPLIERS",
    "DEFAULT_GRADE_THRESHOLDS",
    "DEFAULT_MAX_DEPOSIT_RATIO",
    "CreditEvent",
    "CreditEventKind",
    "CreditGrade",
    "CreditReason",
    "CreditScore",
    "check_grade_allows_registration",
    "credit_grade",
    "credit_score",
    "deposit_ratio_for_grade",
    "grade_bars_registration",
]


class CreditEventKind(str, Enum):
    ON_TIME_PAYMENT = "on_time_payment"
    LATE_PAYMENT = "late_payment"
    DEFAULT = "default"
    FORFEITURE = "forfeiture"
    DISPUTE = "dispute"
    COMPLETED_DEAL = "completed_deal"


class CreditGrade(str, Enum):
    """A str enum: ``CreditGrade.A == 'A'``."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


#: The score of a party with no record.
DEFAULT_CREDIT_BASE = 80

#: Points per event at full weight. A default usually comes with a forfeiture, so
#: together they take a fresh party from 80 to 45 (grade D) for the next year.
DEFAULT_CREDIT_WEIGHTS: Mapping[CreditEventKind, Decimal] = MappingProxyType({
    CreditEventKind.ON_TIME_PAYMENT: Decimal(2),
    CreditEventKind.COMPLETED_DEAL: Decimal(3),
    CreditEventKind.LATE_PAYMENT: Decimal(-5),
    # A dispute is not proof of fault, so it weighs less than a late payment and a default.
    CreditEventKind.DISPUTE: Decimal(-8),
    CreditEventKind.FORFEITURE: Decimal(-15),
    CreditEventKind.DEFAULT: Decimal(-20),
})

#: (maximum age in days, factor): the first row whose age limit the event is within applies;
#: older events count for nothing.
DEFAULT_CREDIT_RECENCY: tuple[tuple[int, Decimal], ...] = (
    (365, Decimal(1)),
    (730, Decimal("0.5")),
    (1095, Decimal("0.25")),
)

#: (minimum score, grade), best first; below the last row the grade is D.
DEFAULT_GRADE_THRESHOLDS: tuple[tuple[int, CreditGrade], ...] = (
    (90, CreditGrade.A),
    (75, CreditGrade.B),
    (60, CreditGrade.C),
)

#: Multiplier of the listing's deposit ratio per grade. Grade D is barred, so it has none.
DEFAULT_DEPOSIT_MULTIPLIERS: Mapping[CreditGrade, Decimal] = MappingProxyType({
    CreditGrade.A: Decimal("0.8"),
    CreditGrade.B: Decimal(1),
    CreditGrade.C: Decimal("1.5"),
})

#: DOMAIN.md: a deposit is at most 30 % of the listing price, whatever the grade.
DEFAULT_MAX_DEPOSIT_RATIO = Decimal("0.30")

#: Grades that may not register interest in a listing.
DEFAULT_BARRED_GRADES: frozenset[CreditGrade] = frozenset({CreditGrade.D})


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """Something a party did that its credit record keeps."""

    kind: CreditEventKind
    on: date
    note: str = ""


@dataclass(frozen=True, slots=True)
class CreditReason:
    """One line of a score's explanation. ``kind``/``on`` are ``None`` for the starting score."""

    kind: CreditEventKind | None
    on: date | None
    weight: Decimal
    factor: Decimal
    points: Decimal
    text: str


@dataclass(frozen=True, slots=True)
class CreditScore:
    """A score 0..100 and the lines that explain it (the starting score first)."""

    score: int
    reasons: tuple[CreditReason, ...]

    @property
    def grade(self) -> CreditGrade:
        """The grade under the default thresholds."""
        return credit_grade(self.score)


def _recency_factor(age_days: int, recency: Sequence[tuple[int, Decimal]]) -> tuple[Decimal, str]:
    previous = 0
    for limit, factor in recency:
        if age_days <= limit:
            return factor, f"{previous}-{limit} days ago"
        previous = limit
    return Decimal(0), f"more than {previous} days ago"


def credit_score(
    events: Iterable[CreditEvent],
    today: date,
    *,
    base: int = DEFAULT_CREDIT_BASE,
    weights: Mapping[CreditEventKind, Decimal] = DEFAULT_CREDIT_WEIGHTS,
    recency: Sequence[tuple[int, Decimal]] = DEFAULT_CREDIT_RECENCY,
) -> CreditScore:
    """Score a party's record as of ``today`` (see the module docstring for the rule).

    Events dated after ``today`` raise ``ValidationError`` ``invalid_credit_event``:
    a record cannot know the future, so such an event is a data error.
    """
    reasons = [CreditReason(None, None, Decimal(base), Decimal(1), Decimal(base), f"starting score {base}")]
    total = Decimal(base)
    for event in sorted(events, key=lambda e: e.on):
        kind = CreditEventKind(event.kind)
        age = (today - event.on).days
        if age < 0:
            raise ValidationError("A credit event is dated in the future (%(date)s).",
                                  params={"date": event.on.isoformat()}, code="invalid_credit_event")
        weight = Decimal(weights.get(kind, 0))
        factor, when = _recency_factor(age, recency)
        # "+ 0" rather than Decimal's "-0" for an event too old to count.
        points = weight * factor if factor else Decimal(0)
        total += points
        label = f"{kind.value.replace('_', ' ')} on {event.on.isoformat()}: {weight:+}"
        if factor:
            text = f"{label} × {factor} ({when}) = {points:+}"
        else:
            text = f"{label}, not counted ({when})"
        reasons.append(CreditReason(kind, event.on, weight, factor, points, text))
    score = int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return CreditScore(max(0, min(100, score)), tuple(reasons))


def credit_grade(
    score: int, thresholds: Sequence[tuple[int, CreditGrade]] = DEFAULT_GRADE_THRESHOLDS
) -> CreditGrade:
    """The grade for a score: the first threshold (best first) the score reaches, else D."""
    for minimum, grade in thresholds:
        if score >= minimum:
            return CreditGrade(grade)
    return CreditGrade.D


def grade_bars_registration(
    grade: CreditGrade | str, barred: frozenset[CreditGrade] = DEFAULT_BARRED_GRADES
) -> bool:
    """True when a party of this grade may not register interest in a listing."""
    return CreditGrade(grade) in barred


def check_grade_allows_registration(
    grade: CreditGrade | str, barred: frozenset[CreditGrade] = DEFAULT_BARRED_GRADES
) -> None:
    """Raise ``RuleViolationError`` ``credit_grade_barred`` for a barred grade."""
    if grade_bars_registration(grade, barred):
        raise RuleViolationError(
            "A party with credit grade %(grade)s may not register for listings.",
            params={"grade": CreditGrade(grade).value},
            code="credit_grade_barred", details={"grade": CreditGrade(grade).value},
        )


def deposit_ratio_for_grade(
    grade: CreditGrade | str,
    base_ratio: Decimal,
    *,
    multipliers: Mapping[CreditGrade, Decimal] = DEFAULT_DEPOSIT_MULTIPLIERS,
    cap: Decimal = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Decimal:
    """The deposit ratio a party of ``grade`` pays on a listing whose ratio is ``base_ratio``.

    ``base_ratio × multiplier``, never above ``cap``, quantised to 6 places HALF_UP.
    A grade without a multiplier (D by default) is barred: ``credit_grade_barred``.
    ``invalid_rate`` for a base ratio outside 0..1.
    """
    grade = CreditGrade(grade)
    if not isinstance(base_ratio, Decimal) or not base_ratio.is_finite() or not 0 <= base_ratio <= 1:
        raise ValidationError("The deposit ratio is a fraction between 0 and 1.", code="invalid_rate",
                              field="base_ratio")
    if grade not in multipliers:
        check_grade_allows_registration(grade, frozenset({grade}))
    ratio = min(base_ratio * multipliers[grade], cap)
    return ratio.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
