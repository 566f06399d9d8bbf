"""Real `netcanvas serve` processes for the tests: several on one database and one data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def servers(count: int, data_dir: Path, database_url: str, procs: list[subprocess.Popen[bytes]] | None = None,
            **env: str) -> Iterator[list[str]]:
    """``count`` servers started together on loopback ports, sharing the database and the data directory; their
    processes are appended to ``procs``."""
    environ = {**os.environ, "NETCANVAS_DATA_DIR": str(data_dir), "NETCANVAS_DATABASE_URL": database_url,
               "NETCANVAS_MAX_CONCURRENT_RUNS": "1", **env}
    procs = [] if procs is None else procs
    urls: list[str] = []
    with ExitStack() as stack:
        for _ in range(count):
            port = free_port()
            log = stack.enter_context(open(data_dir.parent / f"server-{port}.log", "wb"))  # noqa: SIM115
            procs.append(subprocess.Popen([sys.executable, "-m", "netcanvas.cli", "serve", "--port", str(port)],
                                          env=environ, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        try:
            for proc, url in zip(procs, urls, strict=True):
                while True:
                    try:
                        if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert proc.poll() is None, f"the server at {url} exited: {logs(data_dir)}"
                    time.sleep(0.2)
            yield urls
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def logs(data_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(data_dir.parent.glob("server-*.log")))
