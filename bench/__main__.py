"""`python -m bench [NAME ...]`: run the named benchmarks (all when none is named).

Each benchmark is a module in this package exposing `main(argv: list[str]) -> None` and is
listed in BENCHMARKS. Every benchmark runs against real servers and prints its figures,
including ratios to a bare FastAPI endpoint measured in the same run where the issue asks.
"""

from __future__ import annotations

import importlib
import sys

# name -> module (relative to this package)
BENCHMARKS: dict[str, str] = {
    "redirect": "redirect",  # /r/{code} vs a bare FastAPI 302; worker clicks/s
    "import": "influencer_import",  # roster CSV import rows/s (CLI service path and HTTP)
    "webhooks": "webhook_intake",  # signed webhook intake vs a bare FastAPI POST; inbox drain
    "attribution": "attribution",  # orders attributed/s end to end by one worker process
    "payouts": "payouts_outbound",  # outbound deliveries/s vs bare POSTs; payout creation
    "engagement": "engagement",  # engagement events/s by one worker; recommendations p95
    "reports": "reports",  # campaign report p50/p95 on rollups vs raw tables (10M clicks)
}


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
