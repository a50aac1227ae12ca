"""Wilson intervals and McNemar's exact test against scipy's own computations."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from paretoscope.core.errors import InputError
from paretoscope.core.intervals import mcnemar_exact, paired_test, wilson_interval


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (431, 450), (110, 119), (1, 1)])
def test_wilson_matches_the_closed_form(k: int, n: int) -> None:
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(max(0.0, centre - half), abs=1e-12)
    assert high == pytest.approx(min(1.0, centre + half), abs=1e-12)
    assert 0.0 <= low <= p <= high <= 1.0


def test_wilson_refuses_impossible_counts() -> None:
    with pytest.raises(InputError):
        wilson_interval(3, 0)
    with pytest.raises(InputError):
        wilson_interval(5, 4)


def test_mcnemar_matches_scipy_exact_binomial() -> None:
    # 12 items only A got right, 3 only B: the exact test is a binomial on the 15 changes.
    assert mcnemar_exact(12, 3) == pytest.approx(binomtest(12, 15, 0.5).pvalue, abs=1e-15)
    assert mcnemar_exact(12, 3) == pytest.approx(0.03515625, abs=1e-12)
    assert mcnemar_exact(0, 0) == 1.0


def test_paired_test_counts_changes_and_words_them() -> None:
    a = "1111111111" + "0" * 5 + "1" * 20
    b = "1111111000" + "1" * 5 + "1" * 20
    result = paired_test(a, b)
    assert (result.only_a, result.only_b, result.changed, result.n_items) == (3, 5, 8, 35)
    assert result.p_value == pytest.approx(binomtest(3, 8, 0.5).pvalue)
    assert not result.significant
    text = result.sentence("int8", "fp32")
    assert text.startswith("int8 vs fp32: 8 items changed")
    assert "not significant" in text and "p = 0.73" in text


def test_paired_test_refuses_different_items() -> None:
    with pytest.raises(InputError, match="different items"):
        paired_test("101", "1011")
