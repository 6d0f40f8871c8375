"""PyTorch's CPU threads on a quiet and on a busy machine: how long training steps take with OpenMP's default
spin-wait, with the short spin ``import explorer`` sets (``GOMP_SPINCOUNT``), with passive waiting and with one
thread, each alone and beside ``--busy`` processes that keep a core busy each.

    python -m bench.measure.threads [--steps 100] [--busy 2] [--rounds 3]

A step is a forward, backward and Adam step of the dense image autoencoder's encoder shape (784-500-500-2000-10,
a batch of 256). Each variant runs in a fresh process (the OpenMP settings are read when torch loads); the
variants take turns, ``--rounds`` times, so a change in the machine's load hits them alike. Writes
bench/results/threads.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from bench.suites.common import RESULTS, log, machine, write_json

STEP = """
import json, time, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(784, 500), torch.nn.ReLU(), torch.nn.Linear(500, 500), torch.nn.ReLU(),
                          torch.nn.Linear(500, 2000), torch.nn.ReLU(), torch.nn.Linear(2000, 10))
opt = torch.optim.Adam(net.parameters())
x = torch.randn(256, 784)
t = time.perf_counter()
for _ in range({steps}):
    loss = net(x).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
print(json.dumps({{"seconds": time.perf_counter() - t, "threads": torch.get_num_threads()}}))
"""

VARIANTS = {  # name -> environment over the parent's (explorer's own setting removed)
    "OpenMP default (spin)": {},
    "GOMP_SPINCOUNT=5000 (import explorer)": {"GOMP_SPINCOUNT": "5000"},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "one thread": {"OMP_NUM_THREADS": "1"},
}


def _run(env_over: dict[str, str], steps: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env.update(env_over)
    out = subprocess.run(
        [sys.executable, "-c", STEP.format(steps=steps)], env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--busy", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results: dict[str, dict[str, list[float]]] = {"quiet": {}, f"{args.busy} busy neighbours": {}}
    for setting in results:
        busy = []
        if setting != "quiet":
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
            time.sleep(1)
        try:
            for r in range(args.rounds):
                for name, env in VARIANTS.items():
                    secs = _run(env, args.steps)
                    results[setting].setdefault(name, []).append(round(secs, 3))
                    log(f"{setting}, round {r}: {name}: {secs:.2f} s")
        finally:
            for p in busy:
                p.kill()
    medians = {s: {n: float(np.median(v)) for n, v in d.items()} for s, d in results.items()}
    write_json(
        RESULTS / "threads.json",
        {"machine": machine(), "steps": args.steps, "busy": args.busy, "seconds": results, "median_seconds": medians},
    )
    log(f"wrote {RESULTS / 'threads.json'}: {medians}")


if __name__ == "__main__":
    main()
