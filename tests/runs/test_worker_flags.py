"""The worker reads the stop and pause flags at most once per FLAG_S, and never misses one that is set."""

import time

from netcanvas.runs.worker import at_most_every


def test_a_flag_is_read_at_most_once_per_interval_and_stays_set() -> None:
    reads: list[float] = []
    state = {"set": False}

    def is_set() -> bool:
        reads.append(time.perf_counter())
        return state["set"]

    check = at_most_every(is_set, 0.05)
    assert check() is False and len(reads) == 1  # the first time at once
    state["set"] = True
    assert check() is False and len(reads) == 1  # within the interval: the last answer
    deadline = time.perf_counter() + 5
    while not check():
        assert time.perf_counter() < deadline, "the flag set was never seen"
    assert len(reads) == 2 and reads[1] - reads[0] >= 0.05
    state["set"] = False
    assert check() is True and len(reads) == 2  # once set, set: the run is ending
