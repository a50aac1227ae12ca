"""Intervals and paired tests for counts: the binomial arithmetic behind accuracy's uncertainty.

An accuracy over ``n`` items is a binomial proportion, so its 95% interval is
the Wilson score interval (it stays inside [0, 1] and behaves at 0 and n
correct, unlike the normal approximation). Two runs scored on the same items
are compared with McNemar's exact test: only the items whose correctness
changed carry information, and under the null hypothesis each change is a
fair coin. Both come from scipy, not hand-written formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

from paretoscope.core.errors import InputError

__all__ = ["PairedTest", "mcnemar_exact", "paired_test", "wilson_interval"]


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``correct`` successes in ``n`` trials, as fractions.

    Raises ``InputError`` when ``n`` is not positive or ``correct`` is outside [0, n].
    """
    if n <= 0 or not 0 <= correct <= n:
        raise InputError(f"a proportion needs 0 <= correct <= n and n > 0; got {correct}/{n}")
    from scipy.stats import binomtest

    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided p-value of McNemar's exact test.

    ``only_a`` items are right in A and wrong in B, ``only_b`` the reverse; the
    p-value is the exact binomial test of ``only_a`` out of ``only_a + only_b``
    against 1/2 (1.0 when no item changed).
    """
    if only_a < 0 or only_b < 0:
        raise InputError("discordant counts must be non-negative")
    changed = only_a + only_b
    if changed == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(int(only_a), int(changed), 0.5).pvalue)


@dataclass(frozen=True)
class PairedTest:
    """McNemar's exact test of two runs' per-item correctness on the same items."""

    n_items: int
    only_a: int  # right in A, wrong in B
    only_b: int  # right in B, wrong in A
    p_value: float
    alpha: float = 0.05

    @property
    def changed(self) -> int:
        return self.only_a + self.only_b

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    def sentence(self, name_a: str, name_b: str) -> str:
        """E.g. ``int8 vs fp32: 3 items changed, difference not significant (p = 0.62)``."""
        items = "item" if self.changed == 1 else "items"
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{name_a} vs {name_b}: {self.changed} {items} changed "
            f"({self.only_a} only {name_a} got right, {self.only_b} only {name_b}), "
            f"difference {verdict} (McNemar exact p = {self.p_value:.2g}, "
            f"{self.n_items} items)"
        )


def paired_test(correct_a: str, correct_b: str) -> PairedTest:
    """McNemar's exact test of two per-item correctness strings ('1'/'0' per item).

    Raises ``InputError`` when the strings differ in length or hold other characters:
    the runs were not scored on the same items.
    """
    if len(correct_a) != len(correct_b):
        raise InputError(
            f"the runs were scored on different items ({len(correct_a)} vs {len(correct_b)})"
        )
    if set(correct_a) - {"0", "1"} or set(correct_b) - {"0", "1"}:
        raise InputError("per-item correctness must be a string of '0' and '1'")
    only_a = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if a == "1" and b == "0")
    only_b = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if a == "0" and b == "1")
    return PairedTest(len(correct_a), only_a, only_b, mcnemar_exact(only_a, only_b))
