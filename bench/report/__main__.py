"""``python -m bench.report [--results bench/results] [--doc docs/BENCHMARKS.md]``: see bench.report.document."""

from bench.report.document import main

if __name__ == "__main__":
    main()
