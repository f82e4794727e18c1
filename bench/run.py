"""`make bench`: every benchmark of the project, one after the other. Figures are ratios to baselines
measured in the same run; absolute seconds are printed for context only."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

BENCHES = ["bench_paint", "bench_keypress", "bench_responsive", "bench_store", "bench_analysis", "bench_export",
           "bench_import", "bench_agree", "bench_suggest", "bench_ner", "bench_patterns",
           "bench_serve", "bench_library"]
ARGUMENTS = {"bench_library": {"sizes": [100, 1000]}}
"""Arguments of a bench's `main()` here, where its own defaults would make `make bench` too long (bench_library's
10,000-document store: `python bench/bench_library.py` measures it)."""


def main(names: list[str]) -> int:
    failed = []
    for name in names or BENCHES:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(name)
            sys.argv = [name]  # each bench parses its own defaults
            module.main(**ARGUMENTS.get(name, {}))
        except Exception as exc:  # one broken bench should not hide the others' figures
            failed.append(name)
            print(f"{name} failed: {exc!r}")
        print(f"({time.perf_counter() - start:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
