"""The run manager's pieces that need no process: watcher queues, exit messages, JSON-safe numbers."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from netcanvas.runs.manager import WATCHER_BATCH_LIMIT, Watcher, exit_message, finite


def _event(seq: int, kind: str) -> dict[str, Any]:
    return {"seq": seq, "type": kind}


def test_a_slow_watcher_skips_batch_events_but_never_the_others() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        slow, fast = Watcher("r"), Watcher("r")
        received: list[dict[str, Any]] = []

        async def read_fast() -> None:
            while (e := await fast.next()) is not None:
                received.append(e)

        reader = asyncio.create_task(read_fast())
        seq = 0
        for epoch in range(20):
            for _ in range(100):
                seq += 1
                for w in (slow, fast):
                    w.offer(_event(seq, "batch"))
            seq += 1
            for w in (slow, fast):
                w.offer(_event(seq, "epoch"))
            await asyncio.sleep(0)  # the fast reader keeps up; the slow one never reads
            del epoch
        seq += 1
        for w in (slow, fast):
            w.offer(_event(seq, "done"))
            w.close("end")
        await reader
        return list(slow.items), received, slow.skipped

    pending, fast, skipped = asyncio.run(scenario())
    assert [e["seq"] for e in fast] == list(range(1, 2022))  # the fast watcher missed nothing
    batches = sum(e["type"] == "batch" for e in pending)
    assert WATCHER_BATCH_LIMIT - 20 <= batches <= WATCHER_BATCH_LIMIT and skipped == 2000 - batches
    assert sum(e["type"] == "epoch" for e in pending) == 20 and pending[-1]["type"] == "done"
    assert [e["seq"] for e in pending] == sorted(e["seq"] for e in pending)


def test_a_closed_watcher_drains_then_ends() -> None:
    async def scenario() -> list[Any]:
        w = Watcher("r")
        w.offer(_event(1, "status"))
        w.close("deleted", 4410)
        w.offer(_event(2, "status"))  # ignored once closed
        return [await w.next(), await w.next()]

    assert asyncio.run(scenario()) == [_event(1, "status"), None]


def test_exit_messages_say_what_happened() -> None:
    assert "SIGKILL" in exit_message(-9) and "memory" in exit_message(-9)
    assert "SIGSEGV" in exit_message(-11)
    assert "code 3" in exit_message(3)
    assert "ended before the run finished" in exit_message(0)


def test_non_finite_numbers_become_null() -> None:
    assert finite({"a": math.nan, "b": [1.0, math.inf], "c": "x", "d": 2}) == {"a": None, "b": [1.0, None],
                                                                                "c": "x", "d": 2}
