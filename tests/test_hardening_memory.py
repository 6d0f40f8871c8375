"""The worst small files of issue 13, at full size and under the default caps, measured: each is
refused with the message naming its cap (or saying the file lies), and loading it raises the peak
memory (RSS) of a fresh process by far less than ``Limits().max_decoded_bytes``.

Each file is loaded in a subprocess of its own, so one file's peak can't hide behind another's; the
peak is ``ru_maxrss`` after the load minus ``ru_maxrss`` after every library the loaders use was
imported and the file was read into memory (the bytes of the upload itself are not the loader's doing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs import (
    big_png_zip,
    constant_parquet,
    lying_npy,
    npz_bomb,
    repeated_string_parquet,
)

from explorer.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
PEAK_SHARE = 0.05  # the load may add at most 5 % of the memory cap (26 MiB of the default 512 MiB)

MEASURE = r"""
import json, resource, sys
import numpy, pandas, pyarrow, pyarrow.parquet, PIL.Image  # what the loaders import, before the baseline
from explorer.data import load
from explorer.errors import ExplorerError, LimitError
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load(data, name=sys.argv[2])
    outcome = {"refused": False}
except ExplorerError as e:
    outcome = {"refused": True, "limit": isinstance(e, LimitError), "message": str(e)}
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({**outcome, "peak_kib": after - before}))
"""

# (file name, how to make it, the fragment the refusal must hold): the issue's own measurements
WORST = [
    # 1,000,000 rows x 100 constant columns: ~0.5 MB on disk, 800 MB decoded (issue: 1.9 GB peak)
    ("constant_columns.parquet", lambda: constant_parquet(1_000_000, 100), "max_decoded_bytes"),
    # one 2,000-character string on each of 1,000,000 rows: tiny footer sizes, 2 GB of text expanded
    ("repeated_string.parquet", lambda: repeated_string_parquet(1_000_000, 2_000), "max_decoded_bytes"),
    # 384 MiB of zeros deflated to a few hundred KB (issue: no ratio check, then a hang in clustering)
    ("bomb.npz", lambda: npz_bomb(384), "max_compression_ratio"),
    # a 288-byte .npy whose header claims 10^13 float64 values (issue: "out of memory")
    ("lying.npy", lying_npy, "header lies"),
    # 40 PNGs of 6000x6000 in a zip of ~20 KB (issue: 14 s of decoding)
    ("big_pngs.zip", big_png_zip, "max_total_pixels"),
]


@pytest.mark.parametrize("filename,make,fragment", WORST, ids=[w[0] for w in WORST])
def test_the_worst_small_files_are_refused_before_they_cost_memory(tmp_path, filename, make, fragment):
    path = tmp_path / filename
    path.write_bytes(make())
    assert path.stat().st_size < Limits().max_upload_bytes  # each is an ordinary upload
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), filename],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["refused"] and fragment in result["message"], result
    if fragment.startswith("max_"):
        assert result["limit"] and f"EXPLORER_{fragment.upper()}" in result["message"], result
    peak = result["peak_kib"] * 1024
    assert peak < PEAK_SHARE * Limits().max_decoded_bytes, f"{filename}: the load added {peak / 2**20:.0f} MiB"
