"""The one ETA formula: mean time of the finished steps times the steps left."""

from __future__ import annotations

import pytest

from paretoscope.core.progress import done_fraction, eta_seconds


def test_no_estimate_before_a_step_finishes_or_without_a_total() -> None:
    assert eta_seconds(0, 10, 5.0) is None
    assert eta_seconds(3, None, 5.0) is None
    assert eta_seconds(3, 0, 5.0) is None


def test_mean_of_finished_steps_times_steps_left() -> None:
    assert eta_seconds(2, 10, 4.0) == pytest.approx(16.0)


def test_time_the_current_step_has_run_is_taken_off_and_never_negative() -> None:
    # Two steps done by t=4 s (2 s each), three left (6 s); the third has run 1.5 s.
    assert eta_seconds(2, 5, 5.5, last_done_s=4.0) == pytest.approx(4.5)
    assert eta_seconds(2, 3, 100.0, last_done_s=4.0) == 0.0


def test_done_fraction_is_clamped() -> None:
    assert done_fraction(3, 4) == 0.75
    assert done_fraction(5, 4) == 1.0
    assert done_fraction(1, None) == 0.0
