"""docs/BENCHMARKS.md (and its SVG charts) from the JSON in bench/results/: ``python -m bench.report``.

document puts the sections together; one module per section (headline, quality, quality_tables,
explain, apply, small_images, speed, precision, peers, missing); defaults decides whether a run measured
today's defaults; common and svg hold what they share."""
