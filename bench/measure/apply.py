"""Applying a saved run to new data, measured (issue 14): results in bench/results/apply.json, a section of
docs/BENCHMARKS.md (bench/report/apply.py).

    python -m bench.measure.apply [--mnist-epochs 30] [--skip-mnist] [--quick] [--out DIR]

1. MNIST-test, shuffled, split in two halves of 5,000: the default image pipeline (the dense autoencoder with
   augmentation, N2D) trained ``--mnist-epochs`` epochs (not the default 150: two CPU cores) on half A, saved,
   loaded, and applied to half B. ACC of B (Hungarian) beside A's in-sample ACC, and B scored with A's own
   cluster-to-digit matching. Placement: each B image's 10 nearest A images on the run's map (where apply placed
   it) against its 10 nearest A images on the map of a run made on all 10,000 images (its own autoencoder,
   clustering and UMAP, the same settings): the mean overlap (1: the same neighbours; chance is 10 / 5,000);
   and, as before, against one UMAP of all 10,000 codes of half A's model.
2. A planted table (bench/suites/explain_tables.py: 20,000 customer-like rows, 5 segments, categorical columns, 3%
   missing in two columns): the table default (mixture, k = 5) on half A, applied to half B, where 5% of the
   rows carry a plan level never seen in training ("enterprise"). The same scores; the full run is the table
   default on all 20,000 rows.
3. Time to apply 10,000 rows, file reading excluded: half B of the table (10,000 rows, a DataFrame already
   read), and 10,000 MNIST images (half B twice); preprocessing, model, assignment and placement, drift.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json

NEIGHBORS = 10


def knn_overlap(
    train_a: np.ndarray, placed_b: np.ndarray, full_a: np.ndarray, full_b: np.ndarray, k: int = NEIGHBORS
) -> float:
    """Mean share of each B point's ``k`` nearest A points that are the same on two maps."""
    from sklearn.neighbors import NearestNeighbors

    first = NearestNeighbors(n_neighbors=k).fit(train_a).kneighbors(placed_b, return_distance=False)
    second = NearestNeighbors(n_neighbors=k).fit(full_a).kneighbors(full_b, return_distance=False)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(first, second, strict=True)]))


def knn_overlap_reference(run_a: np.ndarray, full_a: np.ndarray, k: int = NEIGHBORS) -> float:
    """The same overlap for the A points themselves (each one's ``k`` nearest other A points on the run's
    map and on the full map): how far the two maps agree where both hold the point; placement can't beat it."""
    from sklearn.neighbors import NearestNeighbors

    first = NearestNeighbors(n_neighbors=k + 1).fit(run_a).kneighbors(run_a, return_distance=False)[:, 1:]
    second = NearestNeighbors(n_neighbors=k + 1).fit(full_a).kneighbors(full_a, return_distance=False)[:, 1:]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(first, second, strict=True)]))


def acc_with_mapping(y_a: np.ndarray, labels_a: np.ndarray, y_b: np.ndarray, labels_b: np.ndarray) -> float:
    """B's accuracy when each cluster keeps the class A's rows matched it to (Hungarian on A's contingency)."""
    from scipy.optimize import linear_sum_assignment

    classes, clusters = np.unique(y_a), np.unique(labels_a)
    counts = np.array([[np.sum((labels_a == c) & (y_a == t)) for t in classes] for c in clusters])
    rows, cols = linear_sum_assignment(-counts)
    mapping = {int(clusters[i]): classes[j] for i, j in zip(rows, cols, strict=True)}
    predicted = np.array([mapping.get(int(c)) for c in labels_b], dtype=object)
    return float(np.mean(predicted == np.asarray(y_b, dtype=object))) if len(labels_b) else float("nan")


def _time_apply(run: Any, data: Any, repeats: int = 3) -> tuple[Any, float, dict[str, float]]:
    from explorer.apply import apply_run

    best, out, parts = np.inf, None, {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = apply_run(run, data)
        took = time.perf_counter() - t0
        if took < best:
            best, parts = took, dict(out.timings)
    return out, best, parts


def bench_mnist(epochs: int, folder: Path, seed: int = 0) -> dict[str, Any]:
    from bench.suites.labeled_sets import mnist_test
    from explorer.metrics import hungarian_accuracy
    from explorer.pipeline import default_config, project_for_display, run_pipeline
    from explorer.runs.files import load_run, save_run

    ds = mnist_test()
    perm = np.random.default_rng(seed).permutation(ds.n)
    a_idx, b_idx = perm[: ds.n // 2], perm[ds.n // 2 :]
    A, B = ds.subset(a_idx), ds.subset(b_idx)
    cfg = default_config(A, epochs=epochs, explain=False, k=10, seed=seed)
    t0 = time.perf_counter()
    run = load_run(save_run(run_pipeline(A, cfg), folder))
    fit_s = time.perf_counter() - t0
    applied, apply_s, parts = _time_apply(run, B, repeats=1)
    y_a, y_b = np.asarray(A.labels), np.asarray(B.labels)
    # the run made on all the data: its own model, clustering and map, the same settings
    full_run = run_pipeline(ds, default_config(ds, epochs=epochs, explain=False, k=10, seed=seed))
    full_a, full_b = full_run.embedding[a_idx], full_run.embedding[b_idx]  # subset keeps the order of the index
    Z_all = np.asarray(run.reducer.transform(ds.X), np.float32)
    same_codes = project_for_display(Z_all, run.clusters, run.config)  # half A's model, one map of all codes
    doubled = B.subset(np.r_[np.arange(B.n), np.arange(B.n)])
    _, ten_k_s, ten_k_parts = _time_apply(run, doubled)
    return {
        "epochs": epochs,
        "n_train": int(A.n),
        "n_applied": int(B.n),
        "method": run.clusters.method,
        "fit_s": fit_s,
        "acc_train": hungarian_accuracy(y_a, run.labels),
        "acc_applied": hungarian_accuracy(y_b, applied.labels),
        "acc_applied_train_mapping": acc_with_mapping(y_a, run.labels, y_b, applied.labels),
        "knn_overlap": knn_overlap(run.embedding, applied.embedding, full_a, full_b),
        "knn_overlap_reference": knn_overlap_reference(run.embedding, full_a),
        "knn_overlap_chance": NEIGHBORS / A.n,
        "apply_s": apply_s,
        "apply_parts": parts,
        "knn_overlap_same_model": knn_overlap(run.embedding, applied.embedding, same_codes[a_idx], same_codes[b_idx]),
        "knn_overlap_same_model_reference": knn_overlap_reference(run.embedding, same_codes[a_idx]),
        "acc_full_run": hungarian_accuracy(np.asarray(ds.labels), full_run.labels),
        "apply_10k_s": ten_k_s,
        "apply_10k_parts": ten_k_parts,
        "rows_timed": int(doubled.n),
        "unusual_share": applied.drift.unusual_share,
        "drifted": applied.drift.drifted,
        "how": applied.assignment.how,
    }


def bench_table(folder: Path, n: int = 20_000, seed: int = 0) -> dict[str, Any]:
    from bench.suites.explain_tables import distinct_segments
    from explorer.data import TableOptions, load
    from explorer.data.tables import read_table_preview
    from explorer.metrics import hungarian_accuracy
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import load_run, save_run

    df = distinct_segments(n, 5, seed=seed).table
    half = n // 2
    rng = np.random.default_rng(seed + 1)
    df_a, df_b = df.iloc[:half].reset_index(drop=True), df.iloc[half:].reset_index(drop=True)
    unseen = rng.random(len(df_b)) < 0.05
    df_b.loc[unseen, "plan"] = "enterprise"
    options = TableOptions(label_column="segment", id_column="customer_id")
    A = load(df_a.to_csv(index=False).encode(), name="half_a.csv", table=options)
    t0 = time.perf_counter()
    run = load_run(save_run(run_pipeline(A, default_config(A, k=5, explain=False, seed=seed)), folder))
    fit_s = time.perf_counter() - t0
    frame_b, _ = read_table_preview(df_b.to_csv(index=False).encode(), "half_b.csv", nrows=None)  # reading: not timed
    applied, apply_s, parts = _time_apply(run, frame_b)
    y_a, y_b = np.asarray(A.labels), df_b["segment"].to_numpy().astype(str)
    import pandas as pd

    full_ds = load(
        pd.concat([df_a, df_b], ignore_index=True).to_csv(index=False).encode(), name="all.csv", table=options
    )
    full = run_pipeline(full_ds, default_config(full_ds, k=5, explain=False, seed=seed))
    return {
        "n_train": int(A.n),
        "n_applied": len(df_b),
        "method": run.clusters.method,
        "fit_s": fit_s,
        "unseen_rows": int(unseen.sum()),
        "unseen_note": next((x for x in applied.report.notes if "enterprise" in x), ""),
        "acc_train": hungarian_accuracy(y_a, run.labels),
        "acc_applied": hungarian_accuracy(y_b, applied.labels),
        "acc_applied_train_mapping": acc_with_mapping(y_a, run.labels, y_b, applied.labels),
        "acc_unseen_rows_train_mapping": acc_with_mapping(y_a, run.labels, y_b[unseen], applied.labels[unseen]),
        "knn_overlap": knn_overlap(run.embedding, applied.embedding, full.embedding[:half], full.embedding[half:]),
        "knn_overlap_reference": knn_overlap_reference(run.embedding, full.embedding[:half]),
        "knn_overlap_chance": NEIGHBORS / A.n,
        "apply_10k_s": apply_s,
        "apply_10k_parts": parts,
        "rows_timed": len(df_b),
        "drifted_columns": [c.column for c in applied.drift.columns if c.drifted],
        "drifted": applied.drift.drifted,
        "how": applied.assignment.how,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist-epochs", type=int, default=30)
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke test: a 2,000-row table, no MNIST")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    doc: dict[str, Any] = {"machine": machine(), "quick": bool(args.quick)}
    with tempfile.TemporaryDirectory() as tmp:
        log("table: half A -> run, applied to half B (5% unseen plan level)")
        doc["table"] = bench_table(Path(tmp), 2000 if args.quick else 20_000)
        log(
            f"  acc {doc['table']['acc_train']:.3f} -> {doc['table']['acc_applied']:.3f}, overlap "
            f"{doc['table']['knn_overlap']:.3f}, apply {doc['table']['apply_10k_s']:.2f} s"
        )
        if not (args.skip_mnist or args.quick):
            log(f"MNIST-test: half A, {args.mnist_epochs} epochs -> run, applied to half B")
            doc["mnist"] = bench_mnist(args.mnist_epochs, Path(tmp))
            log(
                f"  acc {doc['mnist']['acc_train']:.3f} -> {doc['mnist']['acc_applied']:.3f}, overlap "
                f"{doc['mnist']['knn_overlap']:.3f}, 10k apply {doc['mnist']['apply_10k_s']:.2f} s"
            )
    doc["seconds"] = time.perf_counter() - t0
    doc["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "apply.json", doc)
    log(f"wrote {args.out / 'apply.json'}")


if __name__ == "__main__":
    main()
