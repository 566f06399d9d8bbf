"""Writing export files so that no reader ever sees half a file, and a failed export leaves none."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file next to ``path`` that replaces it when the block succeeds; when the block fails,
    neither the temporary file nor ``path`` (an older export) is left."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)
