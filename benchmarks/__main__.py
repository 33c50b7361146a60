"""Run every benchmark: ``python -m benchmarks`` (from the repository root).

Discovers the modules ``benchmarks/bench_*.py`` and calls each one's ``main([])`` (its
defaults), in name order; ``python -m benchmarks survey threshold`` runs only those whose
name contains one of the words. A benchmark that fails is reported and the others still run;
the exit status is 1 if any failed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    names = [n for n in discover() if not words or any(w in n for w in words)]
    if not names:
        print(f"no benchmark matches {' '.join(words)} (have: {', '.join(discover())})")
        return 1
    failed = []
    for name in names:
        print(f"=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main([])
        except Exception:  # noqa: BLE001 - report and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
        print(f"=== {name}: {time.perf_counter() - t0:.1f} s{' (FAILED)' if name in failed else ''} ===\n",
              flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
