"""Export files: written so that no reader ever sees half a file (a failed export leaves none), and named
after the graph without letting its name become a path or break a header."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

MAX_STEM = 100


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


def file_stem(graph_name: object) -> str:
    """A file name (without suffix) from a graph name: letters, digits, ``_``, ``.`` and ``-`` only (so no ``/``,
    quote or line break), not starting or ending with a dot, at most ``MAX_STEM`` characters; "model" when
    nothing is left."""
    text = re.sub(r"[^\w.-]+", "_", str(graph_name or ""))[:MAX_STEM]
    return text.strip("._-") or "model"


def content_disposition(stem: str, tail: str) -> str:
    """An ``attachment`` header value for the file ``stem + tail`` (``stem`` from ``file_stem``, ``tail`` such as
    "-<run id>.onnx"): an ASCII ``filename`` for old clients and the exact name as RFC 5987
    ``filename*=UTF-8''...``."""
    fallback = re.sub(r"[^A-Za-z0-9_.-]+", "_", file_stem(re.sub(r"[^\x20-\x7e]+", "_", stem)) + tail)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(stem + tail, safe='')}"
