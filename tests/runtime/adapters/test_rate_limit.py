"""rate_limit: the per-operation token bucket in the tracking table, on a simulated clock."""

from __future__ import annotations

import random
import threading

import pytest
from omics_autoload_runtime import errors
from omics_autoload_runtime.adapters import rate_limit
from support.pipeline import Pipeline

EPSILON = 1e-6


class Clock:
    """Simulated time: ``sleep`` moves it forward (for everybody, as threads share it)."""

    def __init__(self, start: float = 1_700_000_000.0, *, frozen: bool = False):
        self.t = start
        self.frozen = frozen
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            if not self.frozen:
                self.t += seconds

    def work(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


@pytest.fixture
def clock():
    with Pipeline():
        simulated = Clock()
        rate_limit.forget()
        rate_limit.set_clock(simulated.now, simulated.sleep)
        yield simulated
        rate_limit.set_clock(None)
        rate_limit.forget()


def worst_window(times: list[float], seconds: float) -> int:
    """Most takes whose times lie in one closed interval of ``seconds``."""
    times = sorted(times)
    best = lo = 0
    for hi, moment in enumerate(times):
        while times[lo] < moment - seconds - EPSILON:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def assert_within_budget(times: list[float], rate: float, burst: int) -> None:
    for seconds in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        assert worst_window(times, seconds) <= rate * seconds + burst, (seconds, worst_window(times, seconds))


def test_n_takes_over_t_seconds_never_exceed_rate_times_t_plus_burst(clock):
    rng = random.Random(3)
    times = []
    for _ in range(60):
        times.append(rate_limit.take("StartReadSetImportJob"))  # defaults: 4/s, burst 1
        clock.work(rng.choice([0.0, 0.0, 0.05, 0.3, 1.5]))  # bursts, pauses and idle spells
    assert_within_budget(times, rate=4, burst=1)
    assert worst_window(times, 1.0) <= 5  # the service's quota, with the defaults
    assert sum(clock.slept) > 0  # it really had to wait


def test_after_an_idle_spell_only_the_burst_goes_at_once(clock):
    rate_limit.take("GetReadSetImportJob", burst=3)
    clock.work(3600)
    times = [rate_limit.take("GetReadSetImportJob", burst=3) for _ in range(10)]
    assert times[:3] == [times[0]] * 3  # the bucket refilled to its burst only
    assert times[3] - times[0] >= 0.25 - EPSILON  # then one every 1/4 s
    assert times[9] - times[0] >= 7 / 4 - EPSILON
    assert_within_budget(times, rate=4, burst=3)


def test_operations_have_their_own_buckets(clock):
    start = rate_limit.take("StartReadSetImportJob")
    get = rate_limit.take("GetReadSetImportJob")
    assert start == get  # no wait: a different bucket
    assert clock.slept == []


def test_concurrent_takers_share_the_budget(clock):
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def taker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(10):
                at = rate_limit.take("StartReadSetImportJob", rate=5, burst=2, max_wait=120)
                with lock:
                    times.append(at)
                clock.work(rng.choice([0.0, 0.01, 0.2]))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=taker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(times) == 80
    assert_within_budget(times, rate=5, burst=2)


def test_no_token_within_the_bound_raises_omics_throttled(clock):
    clock.frozen = True  # time stands still: the bucket never refills
    rate_limit.take("StartReadSetImportJob")
    with pytest.raises(errors.OmicsThrottled, match="rate limit"):
        rate_limit.take("StartReadSetImportJob")
    assert 0 < sum(clock.slept) <= rate_limit.MAX_WAIT_SECONDS + 0.25 / 4 + EPSILON
    assert rate_limit.try_take("StartReadSetImportJob") is False


def test_a_stale_view_costs_one_more_write_not_a_token(clock):
    rate_limit.take("GetReadSetImportJob")
    clock.work(10)
    rate_limit.forget()  # another Lambda environment, which never saw the bucket
    rate_limit.take("GetReadSetImportJob")  # create fails, then the fresh state is used
    clock.work(0.1)
    with pytest.raises(errors.OmicsThrottled):
        rate_limit.take("GetReadSetImportJob", max_wait=0.1)  # the token was really taken
