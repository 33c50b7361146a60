"""The results document: one JSON file that holds every number a run produces.

Tables, figures and the report are renderings of it. It is deterministic: the same inputs
and seed give a byte-identical file (no timestamps, no absolute paths, no NaN: missing
numbers are null). The format is a public interface, documented in docs/results.md.
"""

from __future__ import annotations

import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import nhanes_study

FORMAT_VERSION = 1
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "pyreadstat", "matplotlib")


def package_versions() -> dict[str, str]:
    versions = {"nhanes-study": nhanes_study.__version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def plain(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and NaN into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return value.as_posix()
    return value


def dumps(document: dict) -> str:
    return json.dumps(plain(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_results(document: dict, path: Path, text: str | None = None) -> Path:
    """Write the document atomically (a reader never sees a half-written file); ``text``:
    its `dumps`, when the caller has it already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(document) if text is None else text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_results(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
