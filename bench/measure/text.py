"""Documents: AG News and Banking77 loaded as a user's CSV of texts, embedded two ways, clustered with k given.

    python -m bench.measure.text [--datasets ag_news banking77] [--embeddings wordllama tfidf] [--seeds 0 1 2]
        [--methods kmeans agglomerative n2d] [--other-seeds 0] [--n2d-max-k 20] [--speed-rows 10000]
        [--skip-speed] [--quick]

Each set is written as a CSV of (text, label) and loaded through :func:`explorer.data.load`, as an upload is
(``TableOptions(label_column="label", text_embedding=...)``): a table of text alone is a document set, whose
features are the embedding the product clusters (the load, which embeds, is timed). With k given (the number of
classes), on those features: the documents' default (``DOCUMENT_METHOD`` as ``default_config`` sets it) for every
seed of ``--seeds`` on the first embedding, and the other ``--methods`` (and the default on the other embeddings)
for the seeds of ``--other-seeds``; N2D only up to ``--n2d-max-k`` clusters (its UMAP has k dimensions: 77 for
Banking77, out of a shared 2-core machine's reach); ACC, NMI, ARI per seed. Then ``--speed-rows`` documents
(Banking77's training queries, then AG News' test texts) end to end with the product's defaults (load, k chosen by
the sweep, map, explanation): the seconds of each stage. The parts measured replace theirs in an existing text.json.

AG News: the test split, title and description joined (7,600 news, 4 topics); Banking77: the test split
(3,080 queries, 77 intents), from $EXPLORER_BENCH_DATA/text/. Writes bench/results/text.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json
from bench.suites.labeled_sets import data_dir

DATASETS = ("ag_news", "banking77")


def read_texts(name: str, folder: Path) -> tuple[list[str], list[str]]:
    """(texts, labels) of one benchmark set from ``folder`` (the shared data's text/)."""
    with (folder / ("ag_news_test.csv" if name == "ag_news" else "banking77_test.csv")).open(newline="") as f:
        rows = list(csv.DictReader(f))
    if name == "ag_news":
        return [f"{r['title']}. {r['description']}" for r in rows], [r["label"] for r in rows]
    return [r["text"] for r in rows], [r["category"] for r in rows]


def speed_texts(folder: Path, n: int) -> list[str]:
    """``n`` documents: Banking77's training queries, then AG News' test texts, repeated if need be."""
    with (folder / "banking77_train.csv").open(newline="") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    texts += read_texts("ag_news", folder)[0]
    return (texts * (n // len(texts) + 1))[:n]


STAND_IN_TOPICS = (  # --quick without the shared data: documents drawn from four small vocabularies
    "match team goal season coach league player score win cup stadium fans",
    "bank rate loan market price stock fund interest profit trade card account",
    "space research study cell planet energy climate gene lab telescope species",
    "software phone chip app internet computer device network code update screen",
)


def stand_in_folder(tmp: Path, n: int = 2_000, seed: int = 0) -> Path:
    """A folder laid out as the shared data's text/ (Banking77's and AG News' file names and columns), holding
    ``n`` documents of 6 to 12 words, each from one of ``STAND_IN_TOPICS`` with a fifth of common words mixed
    in: the smoke test's stand-in where $EXPLORER_BENCH_DATA is missing."""
    rng = np.random.default_rng(seed)
    common = ["the", "a", "of", "and", "to", "in", "for", "on", "with", "new", "says", "report", "today"]
    folder = tmp / "stand_in_text"
    folder.mkdir(parents=True, exist_ok=True)
    docs, topics = [], []
    for _ in range(n):
        t = int(rng.integers(len(STAND_IN_TOPICS)))
        words = STAND_IN_TOPICS[t].split()
        size = int(rng.integers(6, 13))
        docs.append(" ".join(rng.choice(common) if rng.random() < 0.2 else rng.choice(words) for _ in range(size)))
        topics.append(f"topic{t}")
    for name, header in (("banking77_test.csv", ["text", "category"]), ("banking77_train.csv", ["text", "category"])):
        with (folder / name).open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(zip(docs, topics, strict=True))
    with (folder / "ag_news_test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["title", "description", "label"])
        w.writerows((d.split(" ", 1)[0], d, t) for d, t in zip(docs, topics, strict=True))
    return folder


def write_csv(path: Path, texts: list[str], labels: list[str] | None) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"] if labels is not None else ["text"])
        for i, t in enumerate(texts):
            w.writerow([t, labels[i]] if labels is not None else [t])


def scores(y: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from explorer.metrics import external_metrics, hungarian_accuracy

    ext = external_metrics(y, labels)
    return {"acc": round(hungarian_accuracy(y, labels), 4), "nmi": round(ext["nmi"], 4), "ari": round(ext["ari"], 4)}


def quality(name: str, folder: Path, tmp: Path, args: argparse.Namespace) -> dict:
    from explorer.cluster.methods import cluster
    from explorer.cluster.types import ClusterConfig
    from explorer.data import TableOptions, load
    from explorer.pipeline.defaults import DOCUMENT_METHOD, default_config

    texts, labels = read_texts(name, folder)
    path = tmp / f"{name}.csv"
    write_csv(path, texts, labels)
    out: dict = {"n": len(texts), "embeddings": {}}
    for embedding in args.embeddings:
        t0 = time.perf_counter()
        ds = load(path, table=TableOptions(label_column="label", text_embedding=embedding))
        load_s = time.perf_counter() - t0
        assert ds.labels is not None
        k = len(np.unique(ds.labels))
        cfg = default_config(ds, k=k)
        assert cfg.cluster.method == DOCUMENT_METHOD, "a CSV of texts alone is a document set"
        log(f"{name} {embedding}: {ds.n} docs -> {ds.X.shape[1]} features in {load_s:.1f} s; k = {k}")
        runs: dict[str, list[dict]] = {}
        for method in dict.fromkeys([DOCUMENT_METHOD, *args.methods]):
            if method == "n2d" and k > args.n2d_max_k:
                continue
            default = method == DOCUMENT_METHOD and embedding == args.embeddings[0]
            for seed in args.seeds if default else args.other_seeds:
                t0 = time.perf_counter()
                # the default as default_config sets it (its documents' options); the others plain
                run_cfg = cfg.cluster if method == DOCUMENT_METHOD else ClusterConfig(method=method, k=k)
                res = cluster(ds.X, replace(run_cfg, random_state=seed))
                row = {"seed": seed, **scores(ds.labels, res.labels), "seconds": round(time.perf_counter() - t0, 1)}
                runs.setdefault(method, []).append(row)
                log(f"  {method} seed {seed}: {row}")
        out["k"] = k
        out["embeddings"][embedding] = {
            "features": int(ds.X.shape[1]),
            "load_seconds": round(load_s, 1),
            "runs": runs,
            "summary": {
                m: {s: round(float(np.mean([r[s] for r in rows])), 4) for s in ("acc", "nmi", "ari", "seconds")}
                for m, rows in runs.items()
            },
        }
    return out


def speed(folder: Path, tmp: Path, n: int) -> dict:
    """``n`` documents end to end with the defaults: load (embedding), then ``run_pipeline`` (k by the sweep)."""
    from explorer.data import load
    from explorer.pipeline import default_config, run_pipeline

    path = tmp / "speed.csv"
    write_csv(path, speed_texts(folder, n), None)
    load_avg = list(os.getloadavg())
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    ds = load(path)
    load_s = time.perf_counter() - t0
    res = run_pipeline(ds, default_config(ds))
    total = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    row = {
        "n": ds.n,
        "features": int(ds.X.shape[1]),
        "load_seconds": round(load_s, 1),
        "total_seconds": round(total, 1),
        "cpu_seconds": round(cpu, 1),  # on a shared machine, the wall time one core would take (BENCH_THREADS=1)
        "stages": {k: round(v, 1) for k, v in res.timings.items()},
        "k_found": int(res.clusters.k),
        "method": res.clusters.method,
        "load_average_before": load_avg,
        "load_average_after": list(os.getloadavg()),
    }
    log(f"speed: {row}")
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--embeddings", nargs="+", default=["wordllama", "tfidf"])
    ap.add_argument("--methods", nargs="+", default=["kmeans", "agglomerative", "n2d"])
    ap.add_argument("--n2d-max-k", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--other-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--speed-rows", type=int, default=10_000)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--quick", action="store_true", help="the smoke test: one set, one seed, 2,000 documents")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.methods, args.embeddings, args.speed_rows = [0], ["kmeans"], args.embeddings[:1], 2_000
        args.datasets = args.datasets[-1:]  # Banking77: the smaller set

    stand_in = tempfile.TemporaryDirectory()
    try:
        folder = data_dir() / "text"
    except FileNotFoundError:
        if not args.quick:
            raise
        log("the shared data is missing: the smoke test runs on a stand-in of generated documents")
        folder = stand_in_folder(Path(stand_in.name))
    path = args.out / "text.json"
    result: dict = json.loads(path.read_text()) if path.is_file() else {}
    result.setdefault("datasets", {})
    result["machine"] = machine()
    measured: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            measured[name] = quality(name, folder, Path(tmp), args)
        if not args.skip_speed:
            result["speed"] = speed(folder, Path(tmp), args.speed_rows)
    if path.is_file():  # another process may have written its part meanwhile: keep it, replacing only what ran here
        written = json.loads(path.read_text())
        result["datasets"] = written.get("datasets", {})
        if args.skip_speed:
            result["speed"] = written.get("speed")
    result["datasets"].update(measured)
    write_json(path, result)
    stand_in.cleanup()
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
