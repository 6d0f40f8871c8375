"""The measurements, one module each, run as ``python -m bench.measure.<name> [args]`` from the
repository root; each writes bench/results/<name>.json (the docstring of each says what it measures)."""
