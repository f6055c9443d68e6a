"""Survey arithmetic, defined once: CSAT, NPS and CES.

- CSAT (customer satisfaction): the share of answers of 4 or 5 on the 1-5 scale, in percent;
  its mean is reported beside it.
- NPS (net promoter score): percent of promoters (9-10) minus percent of detractors (0-6) among
  the 0-10 answers, from -100 to 100.
- CES (customer effort score): the mean of the 1-7 answers (here 7 = very easy).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ces_score", "csat_mean", "csat_score", "nps_score"]


def _values(answers: Iterable[float | int | None]) -> list[float]:
    return [float(a) for a in answers if a is not None]


def csat_score(answers: Iterable[float | int | None]) -> float | None:
    """Percent of satisfied answers (4 or 5); None without answers.

    >>> csat_score([5, 4, 3, 2, 5])
    60.0
    """
    values = _values(answers)
    if not values:
        return None
    return 100.0 * sum(1 for v in values if v >= 4) / len(values)


def csat_mean(answers: Iterable[float | int | None]) -> float | None:
    """Mean of the 1-5 answers.

    >>> csat_mean([5, 4, 3])
    4.0
    """
    values = _values(answers)
    return sum(values) / len(values) if values else None


def nps_score(answers: Iterable[float | int | None]) -> float | None:
    """Promoters minus detractors, in percent points.

    >>> nps_score([10, 9, 8, 7, 6, 0, 10, 10, 3, 9])
    20.0
    """
    values = _values(answers)
    if not values:
        return None
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    return 100.0 * (promoters - detractors) / len(values)


def ces_score(answers: Iterable[float | int | None]) -> float | None:
    """Mean of the 1-7 answers.

    >>> ces_score([7, 6, 2])
    5.0
    """
    values = _values(answers)
    return sum(values) / len(values) if values else None
