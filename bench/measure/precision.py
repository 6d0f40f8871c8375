"""Mixed precision: the dense autoencoder's training in float32 and under bf16 autocast, side by side.

    python -m bench.measure.precision [--device cpu] [--seeds 0 1 2] [--epochs 150] [--out bench/results]

Two measurements, each in this one process, float32 and bf16 alternating:
- the time of one training step of the DEC / N2D autoencoder (784-500-500-2000-10, batch 256, Adam),
  median of ``--repeats`` blocks of 30 steps after a warm-up;
- the default pipeline's quality on load_digits (scikit-learn's 8x8 digits, bundled, so no
  ../shared/data is needed) with ``mixed_precision`` on and off, same seeds: N2D's ACC / NMI and the
  training time.
On a device without native bf16 the product trains in float32 whatever the setting; the JSON says
which precision each run used. Writes precision<tag>.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.report.precision import section_precision  # noqa: F401  (the table in docs/BENCHMARKS.md)
from bench.suites.common import RESULTS, log, machine, write_json


def step_times(device: str, repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    from explorer.reducers.networks import DenseNet
    from explorer.reducers.train import uses_bf16

    dev = torch.device(device)
    x = torch.rand(256, 784, device=dev)
    out: dict = {}
    nets = {}
    for name in ("float32", "bf16"):
        torch.manual_seed(0)
        net = DenseNet(784, [500, 500, 2000], 10).to(dev)
        nets[name] = (net, torch.optim.Adam(net.parameters(), 1e-3))
    times: dict = {"float32": [], "bf16": []}

    def block(name: str, steps: int) -> float:
        net, opt = nets[name]
        ctx = (
            torch.autocast(dev.type, dtype=torch.bfloat16)
            if name == "bf16"
            else torch.autocast(dev.type, enabled=False)
        )
        t0 = time.perf_counter()
        with ctx:
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                F.mse_loss(net.decode(net.encode(x)).float(), x).backward()
                opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / steps * 1000

    for name in times:
        block(name, 5)  # warm-up
    for _ in range(repeats):
        for name in times:
            times[name].append(block(name, 30))
    out["step_ms"] = {k: round(statistics.median(v), 2) for k, v in times.items()}
    out["step_ms_all"] = {k: [round(t, 2) for t in v] for k, v in times.items()}
    out["native_bf16"] = uses_bf16(dev)
    out["speedup"] = round(out["step_ms"]["float32"] / out["step_ms"]["bf16"], 2)
    return out


def quality(device: str, seeds: list[int], epochs: int | None) -> list[dict]:
    from bench.suites.labeled_sets import digits
    from explorer.metrics import external_metrics
    from explorer.pipeline import RunContext, cluster_latent, default_config, fit_representation

    ds = digits()
    rows = []
    for seed in seeds:
        for mixed in (False, True):
            cfg = default_config(ds, k=int(ds.n_classes), seed=seed, device=device, mixed_precision=mixed)
            if epochs:
                cfg.model.epochs = epochs
            t0 = time.perf_counter()
            reducer = fit_representation(ds, cfg, device, lambda e: None)
            train_s = time.perf_counter() - t0
            res = cluster_latent(RunContext(ds, cfg), reducer.transform(ds.X), reducer)
            m = external_metrics(ds.labels, res.labels)
            row = {
                "seed": seed,
                "mixed_precision": mixed,
                "precision": reducer.train_info_["precision"],
                "train_seconds": round(train_s, 1),
                "epochs": len(reducer.history_),
                **{k: round(v, 4) for k, v in m.items()},
                "n": int(ds.n),
                "d": int(ds.X.shape[1]),
                "config": cfg.to_dict(),
            }
            log(f"  seed {seed} {row['precision']:<14} acc {row['acc']:.3f} nmi {row['nmi']:.3f} train {train_s:.0f}s")
            rows.append(row)
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=None, help="default: the product's (150 for images)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="")
    a = p.parse_args(argv)
    doc = {"machine": machine(), "device": a.device}
    doc["steps"] = step_times(a.device, a.repeats)
    log(f"step: float32 {doc['steps']['step_ms']['float32']} ms, bf16 {doc['steps']['step_ms']['bf16']} ms")
    doc["quality"] = quality(a.device, a.seeds, a.epochs)
    write_json(a.out / f"precision{a.tag}.json", doc)
    log(f"wrote {a.out / f'precision{a.tag}.json'}")


if __name__ == "__main__":
    main()
