"""The run clock: one deadline, moved only by a settled scenario, model waits and --resume."""

from __future__ import annotations

import pytest

from automl.clock import Clock


class FakeTime:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_counts_from_the_start_and_follows_the_settled_walltime() -> None:
    time = FakeTime()
    clock = Clock(60.0, now=time)
    time.now += 15.0
    assert clock.remaining() == pytest.approx(45.0 - 3.6)  # the walltime's last 6% are the report's
    assert clock.elapsed() == pytest.approx(15.0)
    clock.limit(30.0)  # a model's scenario lowered the user's walltime
    assert clock.deadline == pytest.approx(130.0 - 3.0)
    assert clock.remaining() == pytest.approx(15.0 - 3.0)


def test_time_spent_waiting_on_a_model_does_not_count() -> None:
    time, waited = FakeTime(), [0.0]
    clock = Clock(60.0, now=time)
    clock.exclude(lambda: waited[0])
    time.now += 50.0
    waited[0] = 40.0  # the model took 40 of those 50 seconds to answer
    assert clock.remaining() == pytest.approx(50.0 - clock.report_reserve())


def test_a_resumed_run_gets_what_its_search_had_left_plus_the_refit_reserve() -> None:
    time = FakeTime()
    clock = Clock(60.0, now=time)
    time.now += 3.0  # loading the interrupted run's data
    clock.resume(search_left=20.0, reserve=6.0)
    assert clock.remaining() == pytest.approx(26.0)
    assert clock.elapsed() == pytest.approx(3.0)  # the run's own total time is not shifted


def test_refit_reserve_scales_with_the_default_configuration_within_bounds() -> None:
    clock = Clock(100.0, now=FakeTime())
    assert clock.refit_reserve(default_seconds=1.0, fits=5) == pytest.approx(10.0)  # 2 x 5 x 1 s
    assert clock.refit_reserve(default_seconds=0.01, fits=5) == pytest.approx(10.0)  # at least 10% of the walltime
    assert clock.refit_reserve(default_seconds=9.0, fits=5) == pytest.approx(25.0)  # at most 25% of it
    assert Clock(2.0, now=FakeTime()).refit_reserve(0.0, 5) == pytest.approx(0.5)  # a tiny walltime caps the floor
    assert clock.refit_grace() == pytest.approx(5.0)


def test_the_report_keeps_the_end_of_the_walltime_within_bounds() -> None:
    assert Clock(60.0, now=FakeTime()).report_reserve() == pytest.approx(3.6)  # 6% of the walltime
    assert Clock(10.0, now=FakeTime()).report_reserve() == pytest.approx(3.0)  # at least 3 s
    assert Clock(3600.0, now=FakeTime()).report_reserve() == pytest.approx(15.0)  # at most 15 s
