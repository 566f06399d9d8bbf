"""Driver threads: one per stored object that this server drives (a study, an ensemble), and the registry of them.

A study or an ensemble lives in the database with an ``owner`` (the server that drives it, ``cluster.py``); the
server that owns it runs one driver thread for it. ``DriverService`` keeps those threads: it starts at most one per
id, lets a caller wait for one, forgets a driver once its thread ends, and "tends": looks now and every few seconds
for running objects that no live server drives (``resume``, which each service defines with its own claim). On close
it stops tending and lets its drivers go (they stay running in the database, for the next server to take over).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ..store import Database
from .manager import RunManager

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
"""How often a driver looks at the runs it follows."""
TEND_S = 5.0
"""How often a server looks for running objects that no live server drives."""


class Driver(threading.Thread, ABC):
    """Drives one object until it is done or the server closes; ``closing`` is set when the server lets it go.
    A subclass defines ``drive`` and what an unexpected error does (``failed``)."""

    def __init__(self, service: DriverService[Any], key: str, kind: str):
        super().__init__(name=f"netcanvas-{kind}-{key}", daemon=True)
        self.key = key
        self.closing = threading.Event()
        self._forget = service.forget

    @abstractmethod
    def drive(self) -> None: ...

    @abstractmethod
    def failed(self, error: Exception) -> None:
        """What an error that ``drive`` let through does (called inside its ``except``, for ``log.exception``)."""

    def run(self) -> None:
        try:
            self.drive()
        except Exception as e:
            self.failed(e)
        finally:
            self._forget(self)


D = TypeVar("D", bound=Driver)


class DriverService(ABC, Generic[D]):
    """The drivers this server runs, one per id; ``what`` names the objects in the tender's thread and log."""

    def __init__(self, db: Database, manager: RunManager, what: str):
        self.db, self.manager, self.what = db, manager, what
        self._lock = threading.Lock()
        self._drivers: dict[str, D] = {}
        self._halt = threading.Event()
        self._tender: threading.Thread | None = None

    @abstractmethod
    def new_driver(self, key: str) -> D: ...

    @abstractmethod
    def resume(self) -> list[str]:
        """Take over the running objects that no live server drives; the ids of those taken."""

    def driving(self, key: str) -> bool:
        with self._lock:
            return key in self._drivers

    def driver(self, key: str) -> D | None:
        with self._lock:
            return self._drivers.get(key)

    def launch(self, key: str) -> None:
        """Start a driver for ``key`` unless one runs already (asked twice at once, it starts one)."""
        with self._lock:
            if key in self._drivers:
                return
            driver = self.new_driver(key)
            self._drivers[key] = driver
        driver.start()

    def tend(self, every: float = TEND_S) -> None:
        """Resume now, then every ``every`` seconds (a server that died is seen as gone only once its heartbeat is
        old; another server may die while this one runs)."""
        self.resume()

        def loop() -> None:
            while not self._halt.wait(every):
                try:
                    self.resume()
                except SQLAlchemyError as e:
                    log.warning("could not look for %s to take over: %s", self.what, str(e).splitlines()[0])

        self._tender = threading.Thread(target=loop, name=f"netcanvas-{self.what}", daemon=True)
        self._tender.start()

    def wait(self, key: str, timeout: float | None = None) -> bool:
        """Wait until the driver of ``key`` ends; True when it has (or none runs)."""
        driver = self.driver(key)
        if driver is not None:
            driver.join(timeout)
            return not driver.is_alive()
        return True

    def forget(self, driver: Driver) -> None:
        with self._lock:
            if self._drivers.get(driver.key) is driver:
                del self._drivers[driver.key]

    def close(self) -> None:
        """Stop tending and let go of the drivers (what they drive stays running in the database)."""
        self._halt.set()
        if self._tender is not None:
            self._tender.join(10)
        with self._lock:
            drivers = list(self._drivers.values())
        for driver in drivers:
            driver.closing.set()
        for driver in drivers:
            driver.join(10)
