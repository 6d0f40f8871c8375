"""The benchmarks behind docs/BENCHMARKS.md, run from the repository root as modules:

    python -m bench.run_all [--quick]          # every step, then the report
    python -m bench.measure.<name> [args]      # one measurement (quality, speed, peers, ...)
    python -m bench.report                     # docs/BENCHMARKS.md from bench/results/*.json

- bench.suites: what the measurements share: the labeled benchmark sets, the table suite, the planted
  tables, the plain reference pipeline, and the machine description / JSON helpers (common).
- bench.measure: the measurements; each writes bench/results/<name>.json.
- bench.report: the document, one module per section.

Not part of the installed product (pyproject packages only explorer).
"""
