"""`make bench`: every benchmark, printed as Markdown for docs/benchmarks.md.

python -m benchmarks [eventstore|labels ...] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time

ALL = ["eventstore", "storage", "labels", "mobile", "ledger", "scorecard", "web"]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the benchmarks and print Markdown for docs/benchmarks.md. PostgreSQL "
        "runs where HAZCHAIN_BENCH_POSTGRES_URL is set.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"default: all of {', '.join(ALL)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    if unknown := [n for n in args.names if n not in ALL]:
        parser.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(ALL)})")
    quick = args.quick
    names = args.names or ALL
    print(f"<!-- python -m benchmarks {' '.join(argv)} — {time.strftime('%Y-%m-%d %H:%M')} -->\n")
    if "eventstore" in names:
        from benchmarks import eventstore

        args = ["--single", "300", "--batches", "10", "--verify-events", "50000"] if quick else []
        print("## Event store (issue 2)\n")
        print(eventstore.main(args))
    if "storage" in names:
        from benchmarks import storage

        print("## Storage-in with rules (issue 4)\n")
        print(storage.main(["--held", "2000", "--n", "40"] if quick else []))
    if "labels" in names:
        from benchmarks import labels

        print("## Labels (issue 3)\n")
        r = labels.run(100 if quick else 500)
        print("| labels | ours (labels/s) | reportlab QR widget (labels/s) | ratio |")
        print("|---:|---:|---:|---:|")
        print(
            f"| {r['labels']:.0f} | {r['ours_labels_per_s']:.0f} | {r['widget_labels_per_s']:.0f} "
            f"| {r['speedup']:.1f}× |\n"
        )
    if "mobile" in names:
        from benchmarks import mobile

        print("## Handheld scan and sync (issue 5)\n")
        r = mobile.run(lots=10_000, requests=3_000, sync_lots=550) if quick else mobile.run()
        print(mobile.markdown(r))
    if "ledger" in names:
        from benchmarks import ledger

        print("## Ledger export (issue 6)\n")
        print(ledger.main(["--lots", "10000"] if quick else []))
    if "scorecard" in names:
        from benchmarks import scorecard

        print("## No-waste factory scorecard (issue 7)\n")
        print(scorecard.main(["--lots", "100000", "--proof", "100"] if quick else []))
    if "web" in names:
        from benchmarks import web

        print("## Web console (issue 8)\n")
        print(web.main(["--lots", "10000"] if quick else []))


if __name__ == "__main__":
    main(sys.argv[1:])
