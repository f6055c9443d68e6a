"""Composite evaluation (serviceloop.analytics.scoring) against published worked examples.

Every expected number below is copied from the cited publication; none was computed here.
"""

from __future__ import annotations

import doctest
import importlib
import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from serviceloop.analytics import InvalidParameterError, MissingColumnError
from serviceloop.analytics.scoring import (
    InconsistentJudgementsError,
    ahp_weights,
    blend_weights,
    entropy_weights,
    normalise,
    pairwise_matrix,
    probit_thresholds,
    rank_sum_ratio,
    topsis,
    weighted_sum,
)

# --- AHP ---------------------------------------------------------------------------------------

# Saaty, T. L. (2008). Decision making with the analytic hierarchy process. Int. J. Services
# Sciences 1(1), 83-98: "Which drink is consumed more in the U.S.?" (Table 2). Judgements as
# printed there, one per pair; published eigenvector and consistency ratio below.
DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
DRINK_JUDGEMENTS = {
    ("coffee", "wine"): 9,
    ("coffee", "tea"): 5,
    ("coffee", "beer"): 2,
    ("coffee", "soda"): 1,
    ("coffee", "milk"): 1,
    ("water", "coffee"): 2,
    ("tea", "wine"): 3,
    ("beer", "wine"): 9,
    ("beer", "tea"): 3,
    ("beer", "milk"): 1,
    ("soda", "wine"): 9,
    ("soda", "tea"): 4,
    ("soda", "beer"): 2,
    ("soda", "milk"): 2,
    ("milk", "wine"): 9,
    ("milk", "tea"): 3,
    ("water", "wine"): 9,
    ("water", "tea"): 9,
    ("water", "beer"): 3,
    ("water", "soda"): 2,
    ("water", "milk"): 3,
}
DRINKS_PUBLISHED = {
    "coffee": 0.177,
    "wine": 0.019,
    "tea": 0.042,
    "beer": 0.116,
    "soda": 0.190,
    "milk": 0.129,
    "water": 0.327,
}


def test_ahp_reproduces_saaty_2008_drink_consumption():
    result = ahp_weights(pairwise_matrix(DRINK_JUDGEMENTS, DRINKS), DRINKS)
    for name, published in DRINKS_PUBLISHED.items():
        assert result.weights[name] == pytest.approx(published, abs=5e-4)
    assert result.consistency_ratio == pytest.approx(0.022, abs=5e-4)
    assert result.consistent


def test_ahp_reproduces_the_leader_example_criteria():
    # "Analytic hierarchy process - leader example" (Wikipedia, after Saaty's method): criteria
    # experience, education, charisma, age weighted .547, .127, .270, .056; CR 0.044.
    labels = ["experience", "education", "charisma", "age"]
    matrix = pairwise_matrix(
        {
            ("experience", "education"): 4,
            ("experience", "charisma"): 3,
            ("experience", "age"): 7,
            ("education", "age"): 3,
            ("charisma", "education"): 3,
            ("charisma", "age"): 5,
        },
        labels,
    )
    result = ahp_weights(matrix, labels)
    published = {"experience": 0.547, "education": 0.127, "charisma": 0.270, "age": 0.056}
    for name, value in published.items():
        assert result.weights[name] == pytest.approx(value, abs=1e-3)
    assert result.consistency_ratio == pytest.approx(0.044, abs=5e-4)
    assert result.random_index == 0.90  # Saaty's RI for n = 4


def test_ahp_refuses_a_matrix_above_cr_and_names_the_conflicting_judgement():
    # a > b and b > c strongly, but c > a: the c-vs-a judgement contradicts the other two.
    labels = ["a", "b", "c"]
    matrix = pairwise_matrix({("a", "b"): 5, ("b", "c"): 5, ("c", "a"): 5}, labels)
    with pytest.raises(InconsistentJudgementsError) as caught:
        ahp_weights(matrix, labels)
    error = caught.value
    assert error.consistency_ratio > 0.1
    assert "exceeds 0.1" in str(error)
    assert error.conflicts, "the error must name the judgements to revise"
    # The reported deviation is the factor between the judgement and w_i / w_j.
    worst = error.conflicts[0]
    weights = error.result.weights
    assert worst.implied == pytest.approx(weights[worst.row] / weights[worst.column])
    assert worst.deviation == pytest.approx(
        max(worst.given / worst.implied, worst.implied / worst.given)
    )
    assert f"{worst.row} vs {worst.column}" in str(error)


def test_ahp_names_the_one_wrong_judgement_in_an_otherwise_consistent_matrix():
    # Consistent weights 8:4:2:1 except one flipped judgement (d over a instead of a over d).
    labels = ["a", "b", "c", "d"]
    w = {"a": 8, "b": 4, "c": 2, "d": 1}
    judgements = {(x, y): w[x] / w[y] for x, y in itertools.combinations(labels, 2)}
    judgements[("a", "d")] = 1 / 8
    with pytest.raises(InconsistentJudgementsError) as caught:
        ahp_weights(pairwise_matrix(judgements, labels), labels)
    assert {caught.value.conflicts[0].row, caught.value.conflicts[0].column} == {"a", "d"}


def test_ahp_reports_cr_without_refusing_when_asked():
    labels = ["a", "b", "c"]
    matrix = pairwise_matrix({("a", "b"): 5, ("b", "c"): 5, ("c", "a"): 5}, labels)
    result = ahp_weights(matrix, labels, max_consistency_ratio=None)
    assert not result.consistent
    assert sum(result.weights.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 2], [2, 1]], "not reciprocal"),
        ([[2, 1], [1, 1]], "diagonal must be 1"),
        ([[1, -2], [-0.5, 1]], "positive"),
        ([[1, 2, 3], [0.5, 1, 1]], "square"),
    ],
)
def test_ahp_refuses_malformed_matrices(matrix, message):
    with pytest.raises(InvalidParameterError, match=message):
        ahp_weights(matrix, ["a", "b"])


def test_pairwise_matrix_refuses_missing_repeated_and_unknown_pairs():
    with pytest.raises(InvalidParameterError, match="not judged"):
        pairwise_matrix({("a", "b"): 2}, ["a", "b", "c"])
    with pytest.raises(InvalidParameterError, match="judged twice"):
        pairwise_matrix({("a", "b"): 2, ("b", "a"): 0.5}, ["a", "b"])
    with pytest.raises(InvalidParameterError, match="unknown element 'z'"):
        pairwise_matrix({("a", "z"): 2}, ["a", "b"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.05, max_value=20.0), min_size=2, max_size=9))
def test_ahp_recovers_the_weights_of_a_perfectly_consistent_matrix(raw):
    w = np.array(raw) / sum(raw)
    labels = [f"c{i}" for i in range(len(w))]
    result = ahp_weights(np.outer(w, 1 / w), labels)
    assert result.consistency_ratio == pytest.approx(0.0, abs=1e-9)
    assert list(result.weights.values()) == pytest.approx(list(w), abs=1e-9)


# --- Entropy weights -------------------------------------------------------------------------

# Elsayed, E. A., Dawood, A. S., Karthikeyan, R. (2017). Evaluating alternatives through the
# application of TOPSIS method with entropy weight. Int. J. Eng. Trends Technol. 46(2), 60-66:
# 12 alternatives x 5 criteria, entropy weights on the raw values (p = x / sum x).
ELSAYED = [
    [7, 312, 1891, 6613, 163],
    [72, 88, 728, 941804, 1078],
    [10, 252, 2594, 3466, 117471],
    [10, 145, 980, 2371, 86329],
    [65, 54, 350, 501, 29897],
    [29, 48, 380, 912, 34051],
    [7, 476, 3300, 78470, 2212],
    [70, 87, 650, 733, 819000],
    [4, 86, 591, 3015, 103],
    [12, 79, 579, 3240, 96098],
    [21, 45, 261, 1253, 453],
    [1, 72, 530, 4333, 0.1048],
]
ELSAYED_WEIGHTS = [0.104991, 0.069124, 0.071373, 0.449937, 0.304575]


def _table(rows, names=None):
    names = names or [f"c{j + 1}" for j in range(len(rows[0]))]
    return pl.DataFrame(
        {"unit": [f"A{i + 1}" for i in range(len(rows))]}
        | {name: [float(r[j]) for r in rows] for j, name in enumerate(names)}
    )


def test_entropy_weights_reproduce_elsayed_2017():
    weights = entropy_weights(_table(ELSAYED))
    assert list(weights.values()) == pytest.approx(ELSAYED_WEIGHTS, abs=5e-7)


# The classic rank-sum-ratio example (Tian Fengtiao): maternal care in 10 regions of a province,
# x1 antenatal examination rate (%, more is better), x2 maternal mortality (1/100,000) and x3
# perinatal mortality (per mille), both less is better. Data and results as reproduced, with the
# published regression, in the open book https://github.com/zhjx19/mathmodels-book, chapter
# "秩和比法" sections 10.2.3 ("重现经典案例结果") and 10.2.4 (rank-sum-ratio.qmd, docs/*.html).
MATERNAL = pl.DataFrame(
    {
        "unit": list("ABCDEFGHIJ"),
        "x1": [99.54, 96.52, 99.36, 92.83, 91.71, 95.35, 96.09, 99.27, 94.76, 84.80],
        "x2": [60.27, 59.67, 43.91, 58.99, 35.40, 44.71, 49.81, 31.69, 22.91, 81.49],
        "x3": [16.15, 20.10, 15.60, 17.04, 15.01, 13.93, 17.43, 13.89, 19.87, 23.63],
    }
)
MATERNAL_DIRECTIONS = {"x2": "cost", "x3": "cost"}


def test_entropy_weights_after_min_max_with_the_textbook_floor():
    # Same source, 10.2.4: entropy weights of the raw data with directions (+, -, -), min-max
    # mapped into 0.002..1 (Si Shoukui's practice): 0.2945205, 0.3631078, 0.3423717.
    weights = entropy_weights(
        MATERNAL, directions=MATERNAL_DIRECTIONS, normalisation="minmax", floor=0.002
    )
    assert list(weights.values()) == pytest.approx([0.2945205, 0.3631078, 0.3423717], abs=1e-6)


def test_entropy_weights_refuse_negative_values_and_constant_tables():
    with pytest.raises(InvalidParameterError, match="negative values"):
        entropy_weights(_table([[1, -2], [3, 4]]))
    with pytest.raises(InvalidParameterError, match="no indicator varies"):
        entropy_weights(_table([[1, 2], [1, 2]]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(min_value=0.1, max_value=1e4), min_size=3, max_size=3),
        min_size=2,
        max_size=12,
    ),
    st.floats(min_value=0.01, max_value=100.0),
)
def test_entropy_weights_sum_to_one_and_ignore_the_unit_of_measure(rows, factor):
    table = _table(rows)
    assume(any(table[c].max() > 1.01 * table[c].min() for c in ("c1", "c2", "c3")))
    weights = entropy_weights(table)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in weights.values())
    rescaled = entropy_weights(table.with_columns(pl.col("c2") * factor))
    assert list(rescaled.values()) == pytest.approx(list(weights.values()), abs=1e-9)


# --- Blend -------------------------------------------------------------------------------------


def test_blend_weights_linear_and_multiplicative():
    s, o = {"x": 0.8, "y": 0.2}, {"x": 0.4, "y": 0.6}
    assert blend_weights(s, o, alpha=1.0) == pytest.approx(s)
    assert blend_weights(s, o, alpha=0.0) == pytest.approx(o)
    assert blend_weights(s, o, alpha=0.25) == pytest.approx({"x": 0.5, "y": 0.5})
    assert blend_weights(s, o, method="multiplicative") == pytest.approx(
        {"x": 0.32 / 0.44, "y": 0.12 / 0.44}
    )
    with pytest.raises(InvalidParameterError, match="different indicators"):
        blend_weights(s, {"x": 1.0})
    with pytest.raises(InvalidParameterError, match="alpha"):
        blend_weights(s, o, alpha=1.5)


# --- Normalisation and weighted sum ------------------------------------------------------------


def test_normalise_turns_cost_indicators_so_higher_is_better():
    table = pl.DataFrame({"unit": ["a", "b", "c"], "csat": [4.0, 5.0, 3.0], "hours": [2, 4, 6]})
    out = normalise(table, directions={"hours": "cost"})
    assert out["csat"].to_list() == [0.5, 1.0, 0.0]
    assert out["hours"].to_list() == [1.0, 0.5, 0.0]
    vector = normalise(table, method="vector")
    assert (vector["csat"] ** 2).sum() == pytest.approx(1.0)


def test_weighted_sum_traces_every_score_to_its_contributions():
    table = pl.DataFrame({"unit": ["a", "b", "c"], "csat": [4.0, 5.0, 3.0], "hours": [2, 4, 6]})
    result = weighted_sum(table, {"csat": 3, "hours": 1}, directions={"hours": "cost"})
    assert result.weights == pytest.approx({"csat": 0.75, "hours": 0.25})
    by_unit = {row["unit"]: row["score"] for row in result.scores.to_dicts()}
    contributions = result.contributions.to_dicts()
    for row in contributions:
        assert row["csat"] + row["hours"] == pytest.approx(by_unit[row["unit"]])
    assert result.scores["unit"].to_list() == ["b", "a", "c"]


def test_scoring_refuses_bad_tables_with_the_unit_and_indicator_named():
    table = pl.DataFrame({"unit": ["a", "b"], "x": [1.0, None], "y": [1.0, 2.0]})
    with pytest.raises(InvalidParameterError, match="'x' has no usable value for unit 'b'"):
        weighted_sum(table, {"x": 1, "y": 1})
    with pytest.raises(MissingColumnError):
        weighted_sum(table, {"z": 1})
    with pytest.raises(InvalidParameterError, match="no weight for \\['y'\\]"):
        weighted_sum(table.fill_null(0), {"x": 1}, indicators=["x", "y"])
    with pytest.raises(InvalidParameterError, match="'benefit' or 'cost'"):
        weighted_sum(table.fill_null(0), {"x": 1}, directions={"x": "lower"})
    with pytest.raises(InvalidParameterError, match="appears more than once"):
        weighted_sum(pl.DataFrame({"unit": ["a", "a"], "x": [1, 2]}), {"x": 1})
    with pytest.raises(InvalidParameterError, match="weight of 'x' must be >= 0"):
        weighted_sum(table.fill_null(0), {"x": -1, "y": 1})


# --- TOPSIS ------------------------------------------------------------------------------------


def test_topsis_reproduces_tzeng_and_huang_2011():
    # Tzeng, G.-H., Huang, J.-J. (2011). Multiple Attribute Decision Making: Methods and
    # Applications. CRC Press: 4 alternatives, 3 benefit criteria, weights 0.3/0.4/0.3; relative
    # closeness 0.5037, 0.6581, 0.7482, 0.3340.
    table = _table([[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6]])
    result = topsis(table, {"c1": 0.3, "c2": 0.4, "c3": 0.3})
    closeness = {r["unit"]: r["score"] for r in result.scores.to_dicts()}
    assert [closeness[u] for u in ("A1", "A2", "A3", "A4")] == pytest.approx(
        [0.5037, 0.6581, 0.7482, 0.3340], abs=5e-5
    )
    assert result.scores["unit"].to_list() == ["A3", "A2", "A1", "A4"]


units_and_values = st.integers(min_value=2, max_value=8).flatmap(
    lambda n: st.lists(
        st.lists(st.floats(min_value=0.5, max_value=1e3), min_size=n, max_size=n),
        min_size=3,
        max_size=3,
    )
)


@settings(max_examples=60, deadline=None)
@given(units_and_values, st.lists(st.floats(min_value=0.1, max_value=5), min_size=3, max_size=3))
def test_topsis_closeness_lies_in_0_1_and_a_dominating_unit_scores_1(columns, raw_weights):
    n = len(columns[0])
    table = pl.DataFrame(
        {"unit": [f"u{i}" for i in range(n)], "a": columns[0], "b": columns[1], "c": columns[2]}
    )
    weights = dict(zip("abc", raw_weights, strict=True))
    directions = {"c": "cost"}
    scores = topsis(table, weights, directions=directions).scores["score"].to_list()
    assert all(-1e-12 <= s <= 1 + 1e-12 for s in scores)
    best = pl.DataFrame(
        {"unit": ["best"], "a": [2e3], "b": [2e3], "c": [0.1]}
    )  # better than every unit on every indicator
    with_best = topsis(pl.concat([table, best]), weights, directions=directions)
    top = with_best.scores.row(0, named=True)
    assert top["unit"] == "best"
    assert top["score"] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(units_and_values, st.floats(min_value=0.01, max_value=100))
def test_weighted_sum_and_topsis_ignore_the_unit_of_measure(columns, factor):
    n = len(columns[0])
    table = pl.DataFrame(
        {"unit": [f"u{i}" for i in range(n)], "a": columns[0], "b": columns[1], "c": columns[2]}
    )
    weights = {"a": 1, "b": 2, "c": 3}
    rescaled = table.with_columns(pl.col("b") * factor)
    for method in (weighted_sum, topsis):
        before = method(table, weights, directions={"c": "cost"}).scores.sort("unit")["score"]
        after = method(rescaled, weights, directions={"c": "cost"}).scores.sort("unit")["score"]
        assert after.to_list() == pytest.approx(before.to_list(), abs=1e-9)


# --- Rank-sum ratio ----------------------------------------------------------------------------


def test_rsr_reproduces_the_classic_maternal_care_example():
    # 10.2.3 "reproducing the classic case": equal weights, integer ranks. Published RSR, probit
    # and fitted RSR per region, and the regression RSR = -0.60855 + 0.22169 Probit, R^2 0.9379.
    result = rank_sum_ratio(MATERNAL, directions=MATERNAL_DIRECTIONS)
    rows = {r["unit"]: r for r in result.scores.to_dicts()}
    published = {
        "J": (0.1, 3.72, 0.216),
        "B": (0.4, 4.33, 0.350),
        "D": (0.4, 4.33, 0.350),
        "G": (0.5, 4.75, 0.444),
        "I": (0.567, 5.0, 0.500),
        "A": (0.6, 5.39, 0.585),
        "E": (0.6, 5.39, 0.585),
        "F": (0.667, 5.84, 0.686),
        "C": (0.767, 6.28, 0.784),
        "H": (0.9, 6.96, 0.934),
    }
    for unit, (rsr, probit, fitted) in published.items():
        assert rows[unit]["score"] == pytest.approx(rsr, abs=5e-4)
        assert rows[unit]["probit"] == pytest.approx(probit, abs=5e-3)
        assert rows[unit]["fitted"] == pytest.approx(fitted, abs=5e-4)
    assert result.details["intercept"] == pytest.approx(-0.60855, abs=5e-6)
    assert result.details["slope"] == pytest.approx(0.22169, abs=5e-6)
    assert result.details["r_squared"] == pytest.approx(0.9379, abs=5e-5)
    # Published rank table (x1, x2, x3) for region A: 10, 2, 6.
    ranks = result.details["ranks"]
    assert (ranks["x1"]["A"], ranks["x2"]["A"], ranks["x3"]["A"]) == (10, 2, 6)


def test_rsr_non_integer_ranks_with_entropy_weights_reproduce_the_textbook():
    # 10.2.4: non-integer ranks weighted by the published entropy weights.
    weights = {"x1": 0.2945205, "x2": 0.3631078, "x3": 0.3423717}
    result = rank_sum_ratio(
        MATERNAL, weights, directions=MATERNAL_DIRECTIONS, ranking="non-integer"
    )
    rows = {r["unit"]: r for r in result.scores.to_dicts()}
    published = {
        "J": (0.1, 0.366),
        "B": (0.544, 0.456),
        "D": (0.578, 0.521),
        "G": (0.676, 0.576),
        "A": (0.720, 0.627),
        "I": (0.725, 0.679),
        "E": (0.754, 0.734),
        "F": (0.802, 0.798),
        "C": (0.826, 0.888),
        "H": (0.946, 1.03),
    }
    for unit, (rsr, fitted) in published.items():
        assert rows[unit]["score"] == pytest.approx(rsr, abs=5e-4)
        assert rows[unit]["fitted"] == pytest.approx(fitted, abs=5e-3)


def test_rsr_grades_into_tiers_at_tians_probit_points():
    assert probit_thresholds(3) == [4.0, 6.0]
    assert probit_thresholds(4) == [3.5, 5.0, 6.5]
    result = rank_sum_ratio(MATERNAL, directions=MATERNAL_DIRECTIONS, tiers=3)
    tiers = {r["unit"]: r["tier"] for r in result.scores.to_dicts()}
    # Probit < 4 -> tier 3 (worst), 4..6 -> 2, >= 6 -> 1 (best).
    assert tiers["J"] == 3
    assert tiers["C"] == tiers["H"] == 1
    assert {tiers[u] for u in "ABDEFGI"} == {2}
    with pytest.raises(InvalidParameterError, match="tiers"):
        rank_sum_ratio(MATERNAL, tiers=1)


def test_rsr_without_spread_has_no_regression_and_no_tier():
    table = pl.DataFrame({"unit": ["a", "b"], "x": [1.0, 1.0]})
    result = rank_sum_ratio(table)
    assert result.scores["tier"].to_list() == [None, None]
    assert "slope" not in result.details


@settings(max_examples=60, deadline=None)
@given(units_and_values)
def test_rsr_lies_between_1_over_n_and_1(columns):
    n = len(columns[0])
    table = pl.DataFrame(
        {"unit": [f"u{i}" for i in range(n)], "a": columns[0], "b": columns[1], "c": columns[2]}
    )
    scores = rank_sum_ratio(table, directions={"b": "cost"}).scores["score"].to_list()
    assert all(1 / n - 1e-12 <= s <= 1 + 1e-12 for s in scores)
    # Reversing a column and its direction changes nothing.
    flipped = table.with_columns(-pl.col("b"))
    again = rank_sum_ratio(flipped).scores.sort("unit")["score"].to_list()
    original = rank_sum_ratio(table, directions={"b": "cost"}).scores.sort("unit")["score"]
    assert again == pytest.approx(original.to_list())


# --- Documentation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["_ahp", "_weights", "_normalise", "_methods", "_rsr"])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"serviceloop.analytics.scoring.{name}")
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
