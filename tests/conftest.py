import os

import pytest

pytest_plugins = ["pgserver"]  # a real PostgreSQL server: postgres_server, postgres_url, database_url
# Starlette's TestClient sends `Host: testserver`: the tests' servers answer to that name too, besides the
# loopback names every server allows.
os.environ.setdefault("NETCANVAS_ALLOWED_HOSTS", "testserver")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API leaves an event loop running in the main thread,
    which later tests that call asyncio.run() would trip over."""
    items.sort(key=lambda item: "tests/e2e/" in str(item.path).replace("\\", "/"))
