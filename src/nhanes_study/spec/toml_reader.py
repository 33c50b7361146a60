"""A TOML table being validated: typed getters that know their TOML path for error messages.

Every error names the file, the field as TOML writes it (``[variables.bmi].source``,
``[[exclusions]] #2.value``) and what to do.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Iterable

from nhanes_study.errors import SpecError


class Section:
    """A TOML table being validated: typed getters that know their path for error messages."""

    def __init__(self, file: Path, path: str, data: Any):
        self.file, self.path = file, path
        if not isinstance(data, dict):
            self.fail(f"must be a table (section), not {_typename(data)}")
        self.data = data

    def fail(self, message: str, key: str | None = None):
        where = f"{self.path}.{key}" if key else self.path
        raise SpecError(f"{self.file}: {where}: {message}")

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(allowed)}"
                self.fail(f"unknown key '{key}'; {fix}", key)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., choices: Iterable | None = None):
        if key not in self.data:
            if default is ...:
                self.fail("is required but missing", key)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.fail(f"must be {_describe(kinds)}, not {_typename(value)} ({value!r})", key)
        if choices is not None and value not in choices:
            self.fail(f"'{value}' is not one of: {', '.join(map(str, choices))}", key)
        return value

    def get_list(self, key: str, kind: type | tuple[type, ...], default: Any = ..., min_len: int = 0) -> tuple:
        value = self.get(key, list, default)
        if value is default and default is not ...:
            return tuple(default) if isinstance(default, (list, tuple)) else default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        out = []
        for i, item in enumerate(value):
            if float in kinds and isinstance(item, int) and not isinstance(item, bool):
                item = float(item)
            if isinstance(item, bool) and bool not in kinds or not isinstance(item, kinds):
                self.fail(f"item {i + 1} must be {_describe(kinds)}, not {_typename(item)} ({item!r})", key)
            out.append(item)
        if len(out) < min_len:
            self.fail(f"needs at least {min_len} item(s)", key)
        return tuple(out)

    def section(self, key: str, default: Any = ...) -> "Section | None":
        if key not in self.data:
            if default is ...:
                self.fail("is required but missing", key)
            return default
        if not self.path:
            path = f"[{key}]"
        elif self.path.startswith("[[") or not self.path.endswith("]"):
            path = f"{self.path}.{key}"
        else:  # a table inside a table is named as TOML writes its header: [variables.bmi]
            path = f"{self.path[:-1]}.{key}]"
        return Section(self.file, path, self.data[key])

    def sections(self, key: str) -> list["Section"]:
        """An array of tables, [[key]]."""
        items = self.data.get(key, [])
        if not isinstance(items, list):
            self.fail(f"must be an array of tables ([[{key}]]), not {_typename(items)}", key)
        return [Section(self.file, f"[[{key}]] #{i + 1}", item) for i, item in enumerate(items)]


def _typename(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "true/false", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _describe(kinds: tuple[type, ...]) -> str:
    return " or ".join(_typename(k() if k is not float else 0.0) for k in kinds)
