"""Training's time budget counts the work the training got, so a neighbour's load does not cut the epochs.

The plans are tested with fake clocks (a neighbour's load played exactly, nothing timed); the clock itself
with a real busy neighbour pinned to the same core."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from explorer.reducers import ModelConfig
from explorer.reducers.clock import MAX_STRETCH, WorkClock


def low_rank_data(n=200, d=24, rank=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


class Neighbour:
    """Fake clocks for a training whose every loss evaluation needs ``step`` seconds of CPU: while a neighbour
    runs (until the wall clock reads ``busy_until``) the training gets only ``share`` of the wall time."""

    def __init__(self, share: float = 1.0, busy_until: float = math.inf, step: float = 0.25):
        self.share, self.busy_until, self.step = share, busy_until, step
        self.wall = self.cpu = 0.0

    def loss(self, module, x):
        import torch.nn.functional as F

        self.wall += self.step / (self.share if self.wall < self.busy_until else 1.0)
        self.cpu += self.step
        return F.mse_loss(module.decode(module.encode(x)), x)

    def clock(self, counts_cpu: bool = True) -> WorkClock:
        return WorkClock(counts_cpu, wall=lambda: self.wall, cpu=lambda: self.cpu)


def train(neighbour: Neighbour, epochs: int, budget: float, counts_cpu: bool = True):
    from explorer.reducers.networks import DenseNet
    from explorer.reducers.train import fit_module

    X = low_rank_data()
    cfg = ModelConfig(latent_dim=3, hidden=(8,), epochs=epochs, batch_size=64, patience=1000, time_budget=budget)
    # 200 rows: 3 training batches and 1 validation batch, 1 s of work an epoch
    return fit_module(DenseNet(24, [8], 3), X, neighbour.loss, cfg, device="cpu", clock=neighbour.clock(counts_cpu))


def test_a_neighbour_that_takes_half_the_cpu_does_not_cut_the_epochs():
    alone = train(Neighbour(), epochs=30, budget=12.0)
    assert len(alone.history) == 12 and alone.epochs == 12  # 12 s at 1 s an epoch
    # a neighbour takes half of the CPU for the first 10 s of the clock: the same work, so the same epochs
    loaded = train(Neighbour(share=0.5, busy_until=10.0), epochs=30, budget=12.0)
    assert len(loaded.history) == 12
    # the wall clock would have believed the slow epochs and trained fewer
    walled = train(Neighbour(share=0.5, busy_until=10.0), epochs=30, budget=12.0, counts_cpu=False)
    assert len(walled.history) < 12


def test_the_plan_is_remade_as_training_goes():
    """On the wall clock too (a GPU), a slow start does not fix the run to a short plan: the plan after two
    slow epochs is short, and grows back once the epochs are fast."""
    r = train(Neighbour(share=0.1, busy_until=10.0), epochs=30, budget=40.0, counts_cpu=False)
    assert r.history[1]["epochs"] < 30 and len(r.history) == 30
    assert not [n for n in r.notes if "time_budget" in n]


def test_a_machine_shared_all_along_trains_fewer_and_says_so():
    """A neighbour that never leaves: each epoch counts at least 1 / MAX_STRETCH of its wall time, so the run
    ends within MAX_STRETCH times its budget, with fewer epochs, and says why."""
    r = train(Neighbour(share=0.25), epochs=30, budget=24.0)
    work = 4.0 / MAX_STRETCH  # each epoch: 1 s of CPU over 4 s of wall
    assert len(r.history) == round(24.0 / work) == 12  # half of the 24 that fit alone
    said = [n for n in r.notes if "time_budget" in n]
    assert said and "Other work shared the CPU: training ran 25%" in said[0]
    short = train(Neighbour(share=0.25), epochs=30, budget=1.0)
    assert len(short.history) == 10  # never below the floor of 10 epochs
    assert "Fewer than half" in next(n for n in short.notes if "time_budget" in n)


def test_the_clock_counts_cpu_time_within_its_bounds():
    clock = WorkClock()
    a, b = clock.read(), clock.read()
    assert clock.work(a, b) <= b.wall - a.wall + 1e-9
    fake = Neighbour()
    fake_clock = fake.clock()
    start = fake_clock.read()
    fake.wall, fake.cpu = 10.0, 3.0
    assert fake_clock.work(start, fake_clock.read()) == 10.0 / MAX_STRETCH  # never below the stretch's bound
    fake.cpu = 7.0
    assert fake_clock.work(start, fake_clock.read()) == 7.0
    assert fake.clock(counts_cpu=False).work(start, fake_clock.read()) == 10.0  # a GPU: the wall clock


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _spin_until(stop: threading.Event) -> None:
    while not stop.is_set():
        pass


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pins the neighbour to our core (Linux)")
@pytest.mark.parametrize("kind", ["process", "thread"])
def test_the_clock_does_not_count_the_time_a_busy_neighbour_takes(kind):
    """A busy process on the same core, or a busy thread in this process (a second dashboard job): the work
    counted is about half the wall time (never more than 0.8 of it), where the wall clock would count it all."""
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})  # this thread, and what it starts, on one core
    stop = threading.Event()
    busy: subprocess.Popen | threading.Thread
    try:
        if kind == "process":
            code = "print('ready', flush=True)\nwhile True: pass"
            busy = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            assert busy.stdout is not None and busy.stdout.readline().strip() == "ready"
        else:
            busy = threading.Thread(target=_spin_until, args=(stop,), daemon=True)
            busy.start()
        clock = WorkClock()
        a = clock.read()
        _spin(0.6)
        b = clock.read()
    finally:
        stop.set()
        if isinstance(busy, subprocess.Popen):
            busy.kill()
            busy.wait()
        else:
            busy.join()
        os.sched_setaffinity(0, saved)
    assert clock.work(a, b) < 0.8 * (b.wall - a.wall)
