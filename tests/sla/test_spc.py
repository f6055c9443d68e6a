"""Control-chart limits reproduce published worked examples, and the Western Electric rules flag
the runs they describe.

Worked examples: D. C. Montgomery, *Introduction to Statistical Quality Control*, 6th ed. (Wiley,
2009): the p chart of frozen orange juice cans (30 samples of 50 cans, 347 nonconforming: p̄ =
0.2313, UCL = 0.4102, LCL = 0.0524, samples 15 and 23 above the UCL) and the individuals and
moving-range chart of a bank's weekly loan-processing costs (20 weeks: x̄ = 300.5, MR̄ = 7.79,
UCL = 321.22, LCL = 279.78, moving-range UCL = 25.45)."""

from __future__ import annotations

import pytest

from serviceloop.sla.spc import SpcError, p_chart, western_electric, xmr_chart

JUICE = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15,
         9, 12, 7, 13, 9, 6]  # fmt: skip
LOAN_COSTS = [310, 288, 297, 298, 307, 303, 294, 297, 308, 306, 294, 299, 297, 299, 314, 295,
              293, 306, 301, 304]  # fmt: skip


def test_p_chart_reproduces_the_orange_juice_example():
    points = p_chart(JUICE, [50] * 30)
    assert points[0].center == pytest.approx(0.2313, abs=5e-5)
    assert points[0].ucl == pytest.approx(0.4102, abs=5e-5)
    assert points[0].lcl == pytest.approx(0.0524, abs=5e-5)
    beyond = [i + 1 for i, p in enumerate(points) if 1 in p.rules]
    assert beyond == [15, 23]


def test_xmr_chart_reproduces_the_loan_cost_example():
    individuals, ranges = xmr_chart(LOAN_COSTS)
    assert individuals[0].center == pytest.approx(300.5)
    assert ranges[0].center == pytest.approx(7.79, abs=5e-3)
    assert individuals[0].ucl == pytest.approx(321.22, abs=5e-3)
    assert individuals[0].lcl == pytest.approx(279.78, abs=5e-3)
    assert ranges[0].ucl == pytest.approx(25.45, abs=5e-3)
    assert not any(p.rules for p in individuals)  # the process is in control


def test_a_shift_after_the_baseline_is_signalled():
    values = LOAN_COSTS + [318] * 8  # the costs move up after the 20 baseline weeks
    individuals, _ = xmr_chart(values, baseline=20)
    assert individuals[-1].center == pytest.approx(300.5)  # limits stay the baseline's
    assert 4 in individuals[-1].rules and 2 in individuals[-1].rules


@pytest.mark.parametrize(
    ("z", "last_rules"),
    [
        ([0, 0, 3.5], (1,)),
        ([2.5, 0, 2.1], (2,)),
        ([-2.5, -2.2, 0], ()),  # the third point is not itself beyond 2σ
        ([1.5, 1.2, 0, 1.1, 1.3], (3,)),
        ([0.2] * 8, (4,)),
        ([0.2] * 7 + [-0.1], ()),
    ],
)
def test_western_electric_rules(z, last_rules):
    assert western_electric(z)[-1] == last_rules


def test_bad_input_is_refused():
    with pytest.raises(SpcError):
        p_chart([1, 2], [10])
    with pytest.raises(SpcError):
        p_chart([11], [10])
    with pytest.raises(SpcError):
        xmr_chart([1.0, 2.0], baseline=1)
    with pytest.raises(SpcError):
        p_chart([], [])
