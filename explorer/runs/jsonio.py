"""JSON as runs write it: standard JSON only (NaN and infinity become ``null``), numpy values as plain
numbers and lists. What a run folder holds, and what the CLI prints with ``--json``, go through here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def json_ready(obj: Any) -> Any:
    """``obj`` as plain JSON data, recursively: dict keys as text; tuples, sets and arrays as lists;
    numpy scalars as Python numbers; NaN and ±inf as None; paths as text.

    Raises TypeError for anything else JSON can't hold (an object, a function).
    """
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def json_text(obj: Any, indent: int | None = None) -> str:
    """``obj`` (:func:`json_ready`) as standard JSON text."""
    return json.dumps(json_ready(obj), indent=indent, allow_nan=False)


def write_json(path: Path, obj: Any) -> None:
    """``obj`` (:func:`json_ready`) as indented JSON in the file ``path``."""
    path.write_text(json_text(obj, indent=2))


def read_json(path: Path) -> Any:
    """The JSON file ``path``, parsed."""
    return json.loads(path.read_text())
