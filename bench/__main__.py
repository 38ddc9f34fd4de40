"""`python -m bench [NAME ...]`: run the named benchmarks (all when none is named).

Each benchmark is a module in this package exposing `main(argv: list[str]) -> None` and is
listed in BENCHMARKS. Every benchmark runs against real servers and prints its figures,
including ratios to a bare FastAPI endpoint measured in the same run where the issue asks.
"""

from __future__ import annotations

import importlib
import sys

# name -> module (relative to this package)
BENCHMARKS: dict[str, str] = {}


def main() -> None:
    args = sys.argv[1:]
    names = [a for a in args if not a.startswith("-")] or list(BENCHMARKS)
    flags = [a for a in args if a.startswith("-")]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    for name in names:
        print(f"== bench {name}", flush=True)
        module = importlib.import_module(f"bench.{BENCHMARKS[name]}")
        module.main(flags)


if __name__ == "__main__":
    main()
