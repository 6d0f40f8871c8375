"""Shapes as well as segments (issue 28): a battery of numeric tables whose groups are blobs, curves, rings
and chains, plus real sets, clustered side by side with k given.

    python -m bench.measure.shapes [--sets moons circles ...] [--seed 0] [--out bench/results]

The battery, all made or bundled offline (no downloads):

- shapes (2-D unless said, generated here with scikit-learn's makers and numpy): two moons, two concentric
  circles, three concentric circles, four round blobs, three anisotropic (sheared) blobs, blobs of unequal
  spread, a two-arm spiral, two chained rings (3-D, interlocked), five blobs in 10-D;
- real (scikit-learn's bundled copies): iris, wine, breast cancer;
- the product's table suite (bench/suites/table_suite.py): penguins, tips, gapminder, and the planted
  customers at ``PLANTED_ROWS`` rows.
- correlated: 5,000 rows x 40 columns in different units, noisy copies of 5 latent factors with 10 overlapping
  groups planted in the factors (:func:`correlated`).

Each set is read by the product's own loader (a Parquet file, as an upload), k is the number of classes,
and per set, with the labels used only to score (ARI):

1. ``before``: the table default as it was (``default_config(ds, k=k, cluster_shapes=False)`` +
   ``run_pipeline``, a PCA map and no explanation: neither changes the clusters);
2. ``default``: the product's default now, which keeps Genie's clusters instead of the mixture's where
   they cut under ``SHAPE_CUT_FACTOR`` times as many edges of the rows' 10-nearest-neighbour graph
   (:mod:`explorer.cluster.shapes`: chained or curved groups), with the shares it compared;
3. ``kmeans``: scikit-learn's KMeans(k, n_init=10) on the loader's features (standardized numbers, one-hot);
4. ``gmm``: a full-covariance GaussianMixture(k, n_init=3) on the same features;
5. ``genie``: the product's Genie (``method="genie"``) on the representation the default uses.

``--noise``: instead, the product's default with k left to it (``default_config`` + ``run_pipeline``: N2D's path for
numbers on one scale, the mixture's for the others) on 20 pure-noise tables (``NOISE``: uniform and correlated
Gaussian numbers, 1,000 to 20,000 rows, with and without noise categories), whether it says "no groups"
(shapes_noise.json). ``--real``: the same on the real tables of $EXPLORER_BENCH_DATA/tables (``REAL_TABLES``: bank
churners, UCI Adult), with the agreement of its clusters with the label and other groupings, and with k given
(shapes_real.json).

Writes shapes.json: per set the ARIs, seconds, the default's shape check, and the means over shapes / real /
suite / all.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from bench.suites import table_suite
from bench.suites.common import RESULTS, log, machine, write_json

PLANTED_ROWS = 5_000


def _spiral(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.sqrt(rng.uniform(0.05, 1, n)) * 3 * np.pi
    y = rng.integers(0, 2, n)
    r = t + np.pi * y
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) * np.where(y == 0, 1, -1)[:, None]
    return X + rng.normal(0, 0.3, (n, 2)), y


def _rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interlocked rings in 3-D (a chain link)."""
    y = rng.integers(0, 2, n)
    a = rng.uniform(0, 2 * np.pi, n)
    ring0 = np.column_stack([np.cos(a), np.sin(a), np.zeros(n)])
    ring1 = np.column_stack([1 + np.cos(a), np.zeros(n), np.sin(a)])
    return np.where(y[:, None] == 0, ring0, ring1) + rng.normal(0, 0.08, (n, 3)), y


def shape_sets(seed: int) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    from sklearn.datasets import make_blobs, make_circles, make_moons

    rng = np.random.default_rng(seed)

    def three_circles() -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, 1500)
        a = rng.uniform(0, 2 * np.pi, 1500)
        r = 1.0 + 1.0 * y
        return np.column_stack([r * np.cos(a), r * np.sin(a)]) + rng.normal(0, 0.12, (1500, 2)), y

    def aniso() -> tuple[np.ndarray, np.ndarray]:
        X, y = make_blobs(1500, centers=3, random_state=170 + seed)
        return X @ np.array([[0.6, -0.64], [-0.41, 0.85]]), y

    return {
        "moons": lambda: make_moons(1000, noise=0.06, random_state=seed),
        "circles": lambda: make_circles(1000, noise=0.04, factor=0.5, random_state=seed),
        "three_circles": three_circles,
        "blobs": lambda: make_blobs(1500, centers=4, cluster_std=1.0, random_state=seed),
        "anisotropic": aniso,
        "varied": lambda: make_blobs(1500, centers=3, cluster_std=[1.0, 2.5, 0.5], random_state=170 + seed),
        "spiral": lambda: _spiral(1500, rng),
        "chained_rings": lambda: _rings(1500, rng),
        "blobs_10d": lambda: make_blobs(2000, centers=5, n_features=10, cluster_std=2.0, random_state=seed),
    }


def correlated(n: int, d: int, factors: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``d`` columns in different units that are noisy copies of ``factors`` latent factors, with ``k`` groups
    planted in the factors (overlapping: each group's spread in the factors is as large as the distance
    between group centres)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    latent = rng.normal(0, 1.0, (k, factors))[y] + rng.normal(0, 1, (n, factors))
    X = latent @ rng.normal(0, 1, (factors, d)) + rng.normal(0, 1, (n, d))
    return X * rng.uniform(0.5, 20, d) + rng.uniform(-50, 50, d), y


def correlated_sets(seed: int) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    return {"correlated_40": lambda: correlated(5000, 40, 5, 10, seed)}


def real_sets() -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    return {
        name: partial(f, return_X_y=True)
        for name, f in (("iris", load_iris), ("wine_uci", load_wine), ("breast_cancer", load_breast_cancer))
    }


SUITE = ("penguins", "tips", "gapminder", "customers")


def _dataset(X: np.ndarray, y: np.ndarray, name: str):
    import pandas as pd

    from explorer.data import TableOptions, load

    df = pd.DataFrame(np.asarray(X, np.float64), columns=[f"x{i}" for i in range(X.shape[1])])
    df["label"] = np.asarray(y).astype(str)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return load(buf.getvalue(), name=f"{name}.parquet", table=TableOptions(label_column="label"))


def _from_arrays(make: Callable[[], tuple[np.ndarray, np.ndarray]], name: str) -> Any:
    X, y = make()
    return _dataset(X, y, name)


def measure(name: str, ds: Any, seed: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    from explorer.pipeline import default_config, run_pipeline

    y = np.asarray(ds.labels).astype(str)
    k = int(ds.n_classes)
    out: dict[str, Any] = {"set": name, "rows": int(ds.n), "features": int(ds.X.shape[1]), "k": k}
    feats = np.asarray(ds.X, np.float64)  # the loader's features: standardized numbers, one-hot categories

    def run(**kw: Any) -> tuple[Any, float]:
        cfg = default_config(ds, k=k, seed=seed, explain=False, projection_method="pca", **kw)
        t0 = time.perf_counter()
        return run_pipeline(ds, cfg), time.perf_counter() - t0

    before, t_before = run(cluster_shapes=False)
    default, t_default = run()
    genie, t_genie = run(method="genie")
    t0 = time.perf_counter()
    km = KMeans(k, n_init=10, random_state=seed).fit_predict(feats)
    t_km = time.perf_counter() - t0
    t0 = time.perf_counter()
    gmm = GaussianMixture(k, covariance_type="full", n_init=3, random_state=seed).fit(feats).predict(feats)
    t_gmm = time.perf_counter() - t0
    out["ari"] = {
        m: round(float(adjusted_rand_score(y, lab)), 4)
        for m, lab in (
            ("before", before.labels),
            ("default", default.labels),
            ("kmeans", km),
            ("gmm", gmm),
            ("genie", genie.labels),
        )
    }
    out["seconds"] = {
        "before": round(t_before, 2),
        "default": round(t_default, 2),
        "kmeans": round(t_km, 2),
        "gmm": round(t_gmm, 2),
        "genie": round(t_genie, 2),
    }
    out["default_method"] = default.clusters.method
    out["shape"] = default.clusters.info.get("shape")
    return out


# "no groups": pure-noise tables (kind, rows, numeric columns, noise categorical columns; with categories also an
# integer 0-9 column), one seed each; the verdict is the automatic k's (the table default's stability sweep)
NOISE = (
    ("uniform", 1000, 4, 0),
    ("gauss", 1000, 4, 0),
    ("uniform", 5000, 8, 2),
    ("gauss", 5000, 8, 2),
    ("uniform", 20000, 16, 0),
    ("gauss", 20000, 16, 3),
    ("uniform", 2000, 2, 1),
    ("gauss", 3000, 6, 1),
    ("uniform", 10000, 5, 2),
    ("gauss", 1000, 12, 0),
    ("uniform", 1000, 3, 1),
    ("gauss", 2000, 5, 0),
    ("uniform", 3000, 10, 0),
    ("gauss", 1500, 8, 2),
    ("uniform", 5000, 4, 3),
    ("gauss", 4000, 3, 0),
    ("uniform", 1200, 6, 2),
    ("gauss", 2500, 12, 1),
    ("uniform", 8000, 8, 1),
    ("gauss", 1000, 2, 1),
)


def noise_table(kind: str, n: int, d: int, categories: int, seed: int) -> Any:
    """A table with no groups: uniform numbers, or Gaussian ones mixed by a random matrix (correlated, unequal
    spreads); ``categories`` columns of 5 equally likely levels and, with them, a uniform integer 0-9."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, d)) if kind == "uniform" else rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(d)])
    for j in range(categories):
        df[f"c{j}"] = np.asarray(list("abcde"), dtype=object)[rng.integers(0, 5, n)]
    if categories:
        df["lucky"] = rng.integers(0, 10, n)
    return df


def automatic(ds: Any, seed: int = 0) -> tuple[Any, float]:
    """(the product's default run on ``ds`` with k left to it, seconds): ``default_config`` + ``run_pipeline``,
    as a user's first run, with a PCA map and no explanation (neither changes the clusters)."""
    from explorer.pipeline import default_config, run_pipeline

    cfg = default_config(ds, seed=seed, explain=False, projection_method="pca")
    t0 = time.perf_counter()
    result = run_pipeline(ds, cfg)
    return result, time.perf_counter() - t0


def _verdict(result: Any, seconds: float) -> dict[str, Any]:
    """What the automatic k said, and why, for a results row."""
    from explorer.cluster.stability import NO_GROUPS

    sweep = result.clusters.sweep
    return {
        "path": result.config.cluster.method,
        "kept": result.clusters.method,
        "k": int(result.clusters.k),
        "no_groups": sweep is not None and sweep.criterion == NO_GROUPS,
        "criterion": sweep.criterion if sweep else None,
        "runner_up": sweep.runner_up if sweep else None,
        "stability": [round(v, 3) for v in sweep.stability or []] if sweep else [],
        "reason": sweep.reason if sweep else "",
        "seconds": round(seconds, 2),
    }


def noise_verdicts(out_dir: str) -> None:
    """The product's default, k left to it, on every NOISE table (writes shapes_noise.json): numbers on one
    scale take N2D's path, the others the mixture's; both may say "no groups"."""
    from pathlib import Path

    from explorer.data import TableOptions, load

    rows = []
    for i, (kind, n, d, cats) in enumerate(NOISE):
        buf = io.BytesIO()
        noise_table(kind, n, d, cats, i).to_parquet(buf, index=False)
        ds = load(buf.getvalue(), name="noise.parquet", table=TableOptions())
        result, seconds = automatic(ds)
        row = {"kind": kind, "rows": n, "numeric": d, "categories": cats, "seed": i, "features": ds.X.shape[1]}
        rows.append({**row, "scaling": ds.report.scaling, **_verdict(result, seconds)})
        log(f"{kind}{n}x{d}c{cats} seed {i}: {rows[-1]['path']}, k = {rows[-1]['k']} ({rows[-1]['criterion']})")
        write_json(
            Path(out_dir) / "shapes_noise.json",
            {"machine": machine(), "tables": rows, "no_groups": sum(r["no_groups"] for r in rows), "of": len(rows)},
        )


# real tables of $EXPLORER_BENCH_DATA/tables (data/README.md there): file, the label, an ID column, other groupings
REAL_TABLES = (
    ("bankchurners.csv", "Attrition_Flag", "CLIENTNUM", ("Card_Category", "Income_Category")),
    ("adult.csv", "class", None, ("sex", "relationship")),
)


def real_verdicts(out_dir: str) -> None:
    """The default with k left to it on the real tables of ``REAL_TABLES`` (writes shapes_real.json): the k it
    picks and why; the agreement (NMI, ARI) of its clusters with the label and the other groupings named; and,
    with k = the label's classes given, the default's ARI beside k-means' on the loader's features."""
    from pathlib import Path

    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from bench.suites.labeled_sets import data_dir
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline

    rows = []
    for fname, label, id_col, others in REAL_TABLES:
        path = data_dir() / "tables" / fname
        ds = load(path.read_bytes(), name=fname, table=TableOptions(label_column=label, id_column=id_col))
        result, seconds = automatic(ds)
        raw = pd.read_csv(path, usecols=list(others), keep_default_na=False).astype(str)
        truths = {label: np.asarray(ds.labels).astype(str), **{c: raw[c].to_numpy() for c in others}}
        row: dict[str, Any] = {"table": fname, "rows": int(ds.n), "features": int(ds.X.shape[1])}
        row.update(_verdict(result, seconds))
        row["agreement"] = {
            name: {
                "nmi": round(float(normalized_mutual_info_score(t, result.labels)), 4),
                "ari": round(float(adjusted_rand_score(t, result.labels)), 4),
            }
            for name, t in truths.items()
        }
        k = int(ds.n_classes or 2)
        given = run_pipeline(ds, default_config(ds, k=k, explain=False, projection_method="pca"))
        km = KMeans(k, n_init=10, random_state=0).fit_predict(np.asarray(ds.X, np.float64))
        row["k_given"] = {
            "k": k,
            "kept": given.clusters.method,
            "default_ari": round(float(adjusted_rand_score(truths[label], given.labels)), 4),
            "kmeans_ari": round(float(adjusted_rand_score(truths[label], km)), 4),
        }
        rows.append(row)
        log(f"{fname}: {row['path']}, k = {row['k']} ({row['criterion']}); k = {k} given: {row['k_given']}")
        write_json(Path(out_dir) / "shapes_real.json", {"machine": machine(), "tables": rows})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="*", help="only these sets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--noise", action="store_true", help="only the pure-noise tables' automatic k (shapes_noise.json)")
    p.add_argument("--real", action="store_true", help="only the real tables' automatic k (shapes_real.json)")
    args = p.parse_args(argv)
    if args.noise or args.real:
        if args.noise:
            noise_verdicts(args.out)
        if args.real:
            real_verdicts(args.out)
        return
    makers: dict[str, tuple[str, Callable[[], Any]]] = {}
    for group, sets in (
        ("shapes", shape_sets(args.seed)),
        ("real", real_sets()),
        ("correlated", correlated_sets(args.seed)),
    ):
        for name, make in sets.items():
            makers[name] = (group, partial(_from_arrays, make, name))
    for name in SUITE:
        makers[name] = ("suite", partial(table_suite.as_dataset, name))
    from bench.measure.quality_tables import planted_rows

    rows: list[dict[str, Any]] = []
    from explorer.cluster.shapes import SHAPE_CUT_FACTOR

    out: dict[str, Any] = {
        "machine": machine(),
        "seed": args.seed,
        "planted_rows": PLANTED_ROWS,
        "shape_cut_factor": SHAPE_CUT_FACTOR,
        "sets": rows,
    }
    path = f"{args.out}/shapes.json"
    with planted_rows(PLANTED_ROWS):
        for name, (group, make) in makers.items():
            if args.sets and name not in args.sets:
                continue
            r = {"group": group, **measure(name, make(), args.seed)}
            rows.append(r)
            log(
                f"{name:16s} {group:6s} "
                + " ".join(f"{m} {v:.3f}" for m, v in r["ari"].items())
                + f"  kept {r['default_method']}"
            )
            out["means"] = _means(rows)
            from pathlib import Path

            write_json(Path(path), out)
    for group, m in out["means"].items():
        log(f"mean ARI {group:7s} " + " ".join(f"{k} {v:.3f}" for k, v in m.items()))


def _means(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    methods = ("before", "default", "kmeans", "gmm", "genie")
    groups = {
        "all": rows,
        **{g: [r for r in rows if r["group"] == g] for g in ("shapes", "real", "suite", "correlated")},
    }
    return {
        g: {m: round(float(np.mean([r["ari"][m] for r in rs])), 4) for m in methods} for g, rs in groups.items() if rs
    }


if __name__ == "__main__":
    main()
