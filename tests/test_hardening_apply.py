"""Every malformed or hostile input of tests/bad_inputs applied to a saved table run and a saved image run
(``explorer.apply.apply_run``, the path the CLI's ``apply`` and the dashboard's "Add new data" take): an
ExplorerError with a message (never another exception), or rows assigned; nothing written beside the data;
the saved runs unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import LIMITS_ENV, build_corpus

from explorer.apply import apply_run
from explorer.data import TableOptions, load
from explorer.errors import ExplorerError, InputError, LimitError
from explorer.limits import Limits
from explorer.pipeline import default_config, run_pipeline
from explorer.runs.files import load_run, save_run

LIMITS = Limits.from_env(LIMITS_ENV)


def tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    lines = ["a,b,colour"] + [f"{rng.normal(4 * c):.3f},{rng.normal(-3 * c):.3f},{'rgb'[c]}" for c in y]
    table = load(("\n".join(lines) + "\n").encode(), name="t.csv", table=TableOptions())
    from PIL import Image

    pngs = []
    for i in range(30):
        a = np.zeros((8, 8), np.uint8)
        a[:, : 4 if i % 2 else 8] = 200
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        buf.name = f"{i:02d}.png"
        buf.seek(0)
        pngs.append(buf)
    images = load(pngs)
    out = {}
    for name, ds in (("table", table), ("images", images)):
        cfg = default_config(
            ds,
            model="pca" if name == "images" else None,
            latent_dim=3,
            method="kmeans",
            k=2,
            explain=False,
            projection_method="pca",
        )
        out[name] = load_run(save_run(run_pipeline(ds, cfg), root))
    return root, out


def test_every_bad_input_applied_gives_a_clear_error_or_assigned_rows(runs, tmp_path, monkeypatch):
    root, saved = runs
    folder = tmp_path / "corpus"
    cases = build_corpus(folder)
    monkeypatch.chdir(tmp_path)
    before, runs_before = tree(folder), tree(root)
    failures = []
    for case in cases:
        for kind, run in saved.items():
            try:
                applied = apply_run(run, folder / case.filename, limits=LIMITS, missing="impute")
            except InputError as exc:
                if not str(exc).strip():
                    failures.append(f"{case.name} -> {kind}: an empty message")
                if case.message_fragment.startswith("max_") and case.expect == "error" and isinstance(exc, LimitError):
                    assert f"EXPLORER_{case.message_fragment.upper()}" in str(exc)
                continue
            except ExplorerError:
                continue
            except Exception as exc:  # noqa: BLE001 - the point: nothing but the library's errors may escape
                failures.append(f"{case.name} -> {kind}: {type(exc).__name__} escaped: {exc}")
                continue
            if len(applied.labels) != applied.dataset.n or not np.isfinite(applied.embedding).all():
                failures.append(f"{case.name} -> {kind}: rows without a cluster or a place")
    assert not failures, "\n".join(failures)
    assert tree(folder) == before and tree(root) == runs_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_the_encoded_size_of_new_rows_is_capped(runs):
    _, saved = runs
    rows = "a,b,colour\n" + "1.0,2.0,r\n" * 5000
    with pytest.raises(LimitError, match="max_decoded_bytes"):
        apply_run(saved["table"], rows.encode(), "big.csv", limits=Limits(max_decoded_bytes=100_000))
