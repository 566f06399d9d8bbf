"""Browser tests: Debian's Chromium (never a downloaded browser) against the real server and the built app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

MISSING = not Path(CHROMIUM).exists() or not (DIST / "index.html").exists()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Chromium or a built frontend the browser tests are skipped, saying why (a skip at module level here
    would stop pytest itself when it is started on this folder, as `make test` does)."""
    if MISSING:
        skip = pytest.mark.skip(reason="browser tests need /usr/bin/chromium and a built frontend "
                                       "(make test builds it)")
        for item in items:
            if Path(item.path).is_relative_to(Path(__file__).parent):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # Dark, as the system's preference the app follows by default: the tests (and their screenshots) were made with
    # the dark theme, and Playwright would otherwise say light. test_theme.py switches the theme itself.
    return {**browser_context_args, "viewport": {"width": 1500, "height": 950}, "accept_downloads": True,
            "color_scheme": "dark"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(data_dir: Path, **env: str) -> Iterator[str]:
    """`netcanvas serve` in its own process, on a free port, with the data directory and extra environment given."""
    port = free_port()
    env = {**os.environ, "NETCANVAS_DATA_DIR": str(data_dir), "NETCANVAS_STATIC_DIR": str(DIST), **env}
    log = (data_dir / "server.log").open("wb")  # a file, not a pipe: a pipe nobody reads fills and stalls the server
    proc = subprocess.Popen([sys.executable, "-m", "netcanvas.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text(errors="replace")) from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("the server did not start in 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server every browser test shares: loopback, no token."""
    with running_server(tmp_path_factory.mktemp("data")) as url:
        yield url


@pytest.fixture(scope="session")
def server_token() -> str:
    return "e2e-token-0123456789abcdef"


@pytest.fixture(scope="session")
def server_with_token(tmp_path_factory: pytest.TempPathFactory, server_token: str) -> Iterator[str]:
    """A second server, whose API needs server_token."""
    with running_server(tmp_path_factory.mktemp("data-token"), NETCANVAS_TOKEN=server_token) as url:
        yield url


@pytest.fixture(scope="session")
def server_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose dataset mirror (NETCANVAS_DATASET_MIRROR) is a loopback port where nothing listens: offline."""
    with running_server(tmp_path_factory.mktemp("data-offline"),
                        NETCANVAS_DATASET_MIRROR=f"http://127.0.0.1:{free_port()}") as url:
        yield url
