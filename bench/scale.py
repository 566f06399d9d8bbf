"""Scale: a local worker process vs a Ray Core task, from submit to the first epoch and for 4 runs at once.

    .venv/bin/python bench/scale.py [--repeats 3] [--epochs 3]

Runs the app in this process (a fresh data directory each time) with each executor:

  first epoch   one run at a time (the digits MLP, one epoch): seconds from POST /api/runs to its first
                ``epoch`` event on the websocket, the median of ``--repeats`` runs on one server
  4 concurrent  4 runs (the digits MLP, ``--epochs`` epochs) submitted at once with 4 slots: seconds until
                the last one is done

Local: worker processes (the first run of a server takes its waiting standby worker; the others start a new
process each). Ray: a local Ray instance started by this script (``ray.init``, as many CPUs as the machine
has), each run a task; its start-up is timed apart and not counted. It prints each figure and the ratio
Ray / local. A benchmark prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers' graphs and the in-process client

from runhelpers import DIGITS_MLP, app_client, start_run, watch  # noqa: E402

SETTINGS: dict[str, Any] = {"allowed_hosts": ["testserver"]}
"""The in-process client sends ``Host: testserver``."""


def first_epoch(executor: str, repeats: int, **settings: Any) -> list[float]:
    settings = {**SETTINGS, **settings}
    times = []
    with tempfile.TemporaryDirectory() as tmp, app_client(Path(tmp), executor=executor, **settings) as client:
        for _ in range(repeats):
            started = time.perf_counter()
            run_id = start_run(client, DIGITS_MLP, "digits", {"epochs": 1, "batch_size": 32})
            watch(client, run_id, until="epoch")
            times.append(time.perf_counter() - started)
            watch(client, run_id)  # the next one starts on a quiet machine
    return times


def concurrent(executor: str, epochs: int, **settings: Any) -> float:
    settings = {**SETTINGS, **settings}
    with tempfile.TemporaryDirectory() as tmp, app_client(Path(tmp), executor=executor, max_concurrent_runs=4,
                                                          **settings) as client:
        started = time.perf_counter()
        runs = [start_run(client, DIGITS_MLP, "digits", {"epochs": epochs, "batch_size": 32}) for _ in range(4)]
        statuses = [watch(client, run_id)[-1]["status"] for run_id in runs]
        took = time.perf_counter() - started
    assert statuses == ["completed"] * 4, statuses
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    print(f"ray.init of a local instance: {time.perf_counter() - started:.1f} s ({os.cpu_count()} CPUs)")
    address = str(ray.get_runtime_context().gcs_address)
    try:
        local = first_epoch("local", args.repeats)
        on_ray = first_epoch("ray", args.repeats, ray_address=address)
        print(f"submit -> first epoch  local {statistics.median(local):6.2f} s   ray {statistics.median(on_ray):6.2f} s"
              f"   ray/local {statistics.median(on_ray) / statistics.median(local):5.2f}"
              f"   (each: local {', '.join(f'{t:.2f}' for t in local)}; ray {', '.join(f'{t:.2f}' for t in on_ray)})")
        local_4 = concurrent("local", args.epochs)
        ray_4 = concurrent("ray", args.epochs, ray_address=address)
        print(f"4 concurrent runs      local {local_4:6.2f} s   ray {ray_4:6.2f} s   ray/local {ray_4 / local_4:5.2f}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
