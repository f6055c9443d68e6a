"""Analytic hierarchy process: weights from a pairwise comparison matrix (Saaty).

The weights are the principal (Perron) eigenvector of the reciprocal matrix, scaled to sum to 1.
Consistency is Saaty's: CI = (lambda_max - n) / (n - 1), CR = CI / RI(n) with his random index.
A matrix whose CR exceeds the limit (0.1) is refused, naming the judgements that disagree most
with the weights the matrix itself implies (entries a_ij furthest from w_i / w_j).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError

__all__ = [
    "RANDOM_INDEX",
    "AHPResult",
    "InconsistentJudgementsError",
    "Judgement",
    "ahp_weights",
    "pairwise_matrix",
]

#: Saaty's random consistency index by matrix order (Saaty 1980, orders 1-10; 11-15 as
#: tabulated by Saaty 2001 / Alonso & Lamata 2006 usage). Orders 1 and 2 are always consistent.
RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Judgement:
    """One entry of the matrix compared with what the derived weights imply.

    ``given`` is a_ij, ``implied`` is w_i / w_j and ``deviation`` the factor between them
    (always >= 1; 1 means the judgement agrees exactly with the weights).
    """

    row: str
    column: str
    given: float
    implied: float
    deviation: float

    def __str__(self) -> str:
        return (
            f"{self.row} vs {self.column}: judged {self.given:.3g}, "
            f"the weights imply {self.implied:.3g} (off by x{self.deviation:.2f})"
        )


@dataclass(frozen=True)
class AHPResult:
    """Weights and Saaty's consistency figures for one comparison matrix.

    ``judgements`` lists the upper-triangle entries, the most deviant first.
    """

    weights: dict[str, float]
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float
    judgements: list[Judgement]

    @property
    def consistent(self) -> bool:
        """Whether CR <= 0.1, Saaty's limit."""
        return self.consistency_ratio <= 0.1 + 1e-12


class InconsistentJudgementsError(InvalidParameterError):
    """The comparison matrix is too inconsistent (CR above the limit) to derive weights from.

    ``result`` holds the figures; ``conflicts`` the judgements furthest from the weights.
    """

    def __init__(self, result: AHPResult, *, limit: float) -> None:
        self.result = result
        self.limit = limit
        self.consistency_ratio = result.consistency_ratio
        self.conflicts = [j for j in result.judgements[:3] if j.deviation > 1 + 1e-9]
        worst = "; ".join(str(j) for j in self.conflicts)
        super().__init__(
            f"consistency ratio {result.consistency_ratio:.3f} exceeds {limit:g}: the "
            f"judgements conflict. Revise first those furthest from the weights: {worst}"
        )


def pairwise_matrix(
    judgements: Mapping[tuple[str, str], float], labels: Sequence[str]
) -> np.ndarray:
    """Build the full reciprocal matrix from judgements given for each pair once.

    ``judgements[(a, b)] = 3`` means *a* is moderately more important than *b*; the reciprocal
    entry is filled in. Every pair must be judged exactly once.

    Examples
    --------
    >>> pairwise_matrix({("speed", "cost"): 3}, ["speed", "cost"]).tolist()
    [[1.0, 3.0], [0.3333333333333333, 1.0]]
    """
    index = {name: i for i, name in enumerate(labels)}
    if len(index) != len(labels):
        raise InvalidParameterError(f"labels are repeated: {list(labels)}")
    n = len(labels)
    matrix = np.ones((n, n))
    seen: set[frozenset[str]] = set()
    for (a, b), value in judgements.items():
        for name in (a, b):
            if name not in index:
                raise InvalidParameterError(f"judgement names unknown element {name!r}")
        if a == b:
            raise InvalidParameterError(f"{a!r} cannot be compared with itself")
        pair = frozenset((a, b))
        if pair in seen:
            raise InvalidParameterError(f"the pair {a!r} / {b!r} is judged twice")
        seen.add(pair)
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise InvalidParameterError(f"judgement {a!r} vs {b!r} must be > 0, not {value!r}")
        matrix[index[a], index[b]] = value
        matrix[index[b], index[a]] = 1.0 / value
    missing = [
        (labels[i], labels[j])
        for i in range(n)
        for j in range(i + 1, n)
        if frozenset((labels[i], labels[j])) not in seen
    ]
    if missing:
        raise InvalidParameterError(f"pairs not judged: {missing}")
    return matrix


def _check_matrix(matrix: np.ndarray, labels: list[str]) -> None:
    n = len(labels)
    if matrix.ndim != 2 or matrix.shape != (n, n):
        raise InvalidParameterError(
            f"the comparison matrix must be square with one row per label ({n}), "
            f"got shape {matrix.shape}"
        )
    if not np.all(np.isfinite(matrix)) or np.any(matrix <= 0):
        raise InvalidParameterError("every judgement must be a positive number")
    for i in range(n):
        if abs(matrix[i, i] - 1.0) > _TOLERANCE:
            raise InvalidParameterError(
                f"the diagonal must be 1: {labels[i]!r} vs itself is {matrix[i, i]:g}"
            )
        for j in range(i + 1, n):
            if abs(matrix[i, j] * matrix[j, i] - 1.0) > 1e-3:
                raise InvalidParameterError(
                    f"the matrix is not reciprocal: {labels[i]!r} vs {labels[j]!r} is "
                    f"{matrix[i, j]:g} but {labels[j]!r} vs {labels[i]!r} is {matrix[j, i]:g} "
                    f"(expected {1 / matrix[i, j]:g})"
                )


def ahp_weights(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    labels: Sequence[str],
    *,
    max_consistency_ratio: float | None = 0.1,
) -> AHPResult:
    """Weights from a reciprocal pairwise comparison matrix by the principal eigenvector.

    Parameters
    ----------
    matrix
        Square, positive, reciprocal (``a[j][i] == 1 / a[i][j]``), ones on the diagonal;
        ``a[i][j]`` is how much more important ``labels[i]`` is than ``labels[j]`` (Saaty's
        1-9 scale).
    labels
        One name per row.
    max_consistency_ratio
        Refuse a matrix whose consistency ratio exceeds this (Saaty's 0.1) with
        :class:`InconsistentJudgementsError`; ``None`` only reports it.

    Returns
    -------
    AHPResult
        ``weights`` (summing to 1), ``lambda_max``, ``consistency_index``, ``random_index``,
        ``consistency_ratio`` and the judgements sorted by how far they are from ``w_i / w_j``.

    Examples
    --------
    >>> r = ahp_weights([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]], ["a", "b", "c"])
    >>> {k: round(v, 3) for k, v in r.weights.items()}
    {'a': 0.637, 'b': 0.258, 'c': 0.105}
    >>> round(r.consistency_ratio, 3)
    0.033
    >>> ahp_weights([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]], ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    serviceloop.analytics.scoring._ahp.InconsistentJudgementsError: consistency ratio ...
    """
    names = [str(label) for label in labels]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"labels are repeated: {names}")
    if not names:
        raise InvalidParameterError("at least one element is needed")
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"the comparison matrix is not numeric: {exc}") from None
    _check_matrix(a, names)
    n = len(names)
    if n > max(RANDOM_INDEX):
        raise InvalidParameterError(
            f"at most {max(RANDOM_INDEX)} elements can be compared (Saaty's random index is "
            f"tabulated that far); split the level into groups"
        )
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[k].real)
    vector = np.abs(eigenvectors[:, k].real)
    w = vector / vector.sum()
    ci = (lambda_max - n) / (n - 1) if n > 2 else 0.0
    ci = max(ci, 0.0)  # rounding can push a consistent matrix a hair below n
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    judgements = []
    for i in range(n):
        for j in range(i + 1, n):
            implied = float(w[i] / w[j])
            given = float(a[i, j])
            judgements.append(
                Judgement(
                    row=names[i],
                    column=names[j],
                    given=given,
                    implied=implied,
                    deviation=max(given / implied, implied / given),
                )
            )
    judgements.sort(key=lambda j: -j.deviation)
    result = AHPResult(
        weights={name: float(value) for name, value in zip(names, w, strict=True)},
        lambda_max=lambda_max,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
        judgements=judgements,
    )
    if max_consistency_ratio is not None and cr > max_consistency_ratio + 1e-12:
        raise InconsistentJudgementsError(result, limit=max_consistency_ratio)
    return result
