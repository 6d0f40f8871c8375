"""A small image set through the upload path (issue 16): 3,000 MNIST-test images written as a zip of PNG
files in one folder per digit, loaded with ``explorer.data.load`` (what the dashboard's uploader and the
CLI call), then the default pipeline with k = 10, over seeds. Results in bench/results/small_images.json.

    python -m bench.measure.small_images [--n 3000] [--seeds 0 1 2] [--members M] [--no-refine] [--fp32]
        [--budget S] [--refine-seconds S] [--out DIR]

``--members M`` overrides the default's number of autoencoders side by side (results then in
small_images_members<M>.json, beside the default's); ``--no-refine`` turns the refinement on augmented
copies off (``_norefine`` in the name); ``--budget S`` plans each autoencoder's epochs to fit in S seconds of
work (``ModelConfig.time_budget``; ``_budget<S>``); ``--refine-seconds S`` the refinement's batches to fit in S
seconds per autoencoder (``ClusterConfig.refine_seconds``; ``_refine<S>``).

The folder names carry the labels, which only score the run. The subset is drawn once (seeded); the
seeds vary the pipeline (training, UMAP, GMM).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json


def write_zip(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (img, y) in enumerate(zip(images, labels, strict=True)):
            buf = io.BytesIO()
            Image.fromarray(img.squeeze(-1) if img.ndim == 3 else img).save(buf, format="PNG")
            zf.writestr(f"digits/{y}/{i:05d}.png", buf.getvalue())


def main(argv: list[str] | None = None) -> None:
    from bench.suites.labeled_sets import mnist_test
    from explorer.data import load
    from explorer.metrics import external_metrics
    from explorer.pipeline import default_config, run_pipeline

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--members", type=int, default=None, help="autoencoders side by side (default: the product's)")
    p.add_argument("--no-refine", action="store_true", help="without the refinement on augmented copies (_norefine)")
    p.add_argument(
        "--fp32", action="store_true", help="train in float32 (a CPU without native bf16); small_images_fp32.json"
    )
    p.add_argument("--budget", type=float, default=None, help="seconds of training per autoencoder (_budget<S>)")
    p.add_argument("--refine-seconds", type=float, default=None, help="the refinement's seconds per autoencoder")
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    name = (
        "small_images"
        + ("" if a.members is None else f"_members{a.members}")
        + ("_norefine" if a.no_refine else "")
        + ("_fp32" if a.fp32 else "")
        + ("" if a.budget is None else f"_budget{a.budget:g}")
        + ("" if a.refine_seconds is None else f"_refine{a.refine_seconds:g}")
    ) + ".json"
    full = mnist_test()
    pick = np.sort(np.random.default_rng(0).choice(full.n, a.n, replace=False))
    doc = {
        "machine": machine(),
        "n": a.n,
        "source": "MNIST-test, a seeded subset, as a zip of PNGs (one folder per digit)",
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digits.zip"
        write_zip(path, full.images[pick], np.asarray(full.labels)[pick])
        for seed in a.seeds:
            t0 = time.perf_counter()
            ds = load(str(path))
            cfg = default_config(
                ds,
                k=10,
                seed=seed,
                explain=False,
                members=a.members,
                mixed_precision=False if a.fp32 else None,
                cluster_refine=False if a.no_refine else None,
                time_budget=a.budget,
                cluster_refine_seconds=a.refine_seconds,
            )
            res = run_pipeline(ds, cfg)
            m = external_metrics(ds.labels, res.labels)
            doc["members"], doc["refine"] = int(cfg.model.members), bool(cfg.cluster.refine)
            doc["time_budget"], doc["refine_seconds"] = cfg.model.time_budget, cfg.cluster.refine_seconds
            row = {
                "seed": seed,
                "seconds": round(time.perf_counter() - t0, 1),
                "epochs_run": len(res.history),
                "notes": [n for n in res.reducer.train_info_.get("notes", []) if "time_budget" in n],
                "train_s": round(float(res.timings.get("train", float("nan"))), 1),
                "refine_s": round(float(res.timings.get("refine", 0.0)), 1),
                "refine_batches": int(res.clusters.info.get("refine", {}).get("iterations", 0)),
                **{k: round(float(v), 4) for k, v in m.items()},
            }
            doc["runs"].append(row)
            log(
                f"{a.n} images, seed {seed}: ACC {row['acc']:.4f}, NMI {row['nmi']:.4f}, {row['epochs_run']} epochs, "
                f"{row['seconds']} s"
            )
            write_json(a.out / name, doc)
    accs, nmis = [r["acc"] for r in doc["runs"]], [r["nmi"] for r in doc["runs"]]
    doc.update(
        acc_mean=float(np.mean(accs)),
        acc_std=float(np.std(accs)),
        nmi_mean=float(np.mean(nmis)),
        nmi_std=float(np.std(nmis)),
    )
    write_json(a.out / name, doc)
    log(f"mean ACC {doc['acc_mean']:.4f} (std {doc['acc_std']:.4f}), NMI {doc['nmi_mean']:.4f}")


if __name__ == "__main__":
    main()
