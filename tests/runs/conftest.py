"""A local Ray instance for the tests of the Ray executor: started once per test session, only when one asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The address of a Ray instance this test process starts (2 CPUs, no dashboard); apps made in this process
    use its connection, servers started as subprocesses connect to the address."""
    ray = pytest.importorskip("ray", reason="the Ray executor's tests need ray: pip install -e '.[dev]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="netcanvas",
             configure_logging=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()
