"""The templates gallery: one ready graph per model family, with a dataset and a training config that trains well."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def list_templates() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(HERE.glob("*.json"))]
