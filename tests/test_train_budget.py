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

        nets = list(getattr(module, "members", [module]))  # an ensemble: each member costs a step
        step = self.step * len(nets)
        self.wall += step / (self.share if self.wall < self.busy_until else 1.0)
        self.cpu += step
        return sum(F.mse_loss(m.decode(m.encode(x)), x) for m in nets) / len(nets)

    def clock(self, counts_cpu: bool = True) -> WorkClock:
        return WorkClock(counts_cpu, wall=lambda: self.wall, cpu=lambda: self.cpu)


def train(neighbour: Neighbour, epochs: int, budget: float, counts_cpu: bool = True, members: int = 1, refine=0):
    from explorer.reducers.networks import DenseNet, Ensemble
    from explorer.reducers.train import fit_module

    X = low_rank_data()
    cfg = ModelConfig(
        latent_dim=3, hidden=(8,), epochs=epochs, batch_size=64, patience=1000, time_budget=budget, members=members
    )
    cfg.refine_batches = refine
    # 200 rows: 3 training batches and 1 validation batch, 1 s of work an epoch (for each member)
    net = DenseNet(24, [8], 3) if members == 1 else Ensemble([DenseNet(24, [8], 3) for _ in range(members)], 3)
    return fit_module(net, X, neighbour.loss, cfg, device="cpu", clock=neighbour.clock(counts_cpu))


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
    assert "a short training" in next(n for n in short.notes if "time_budget" in n)


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


# ----------------------------------------------------------------------- one budget for members, epochs, refinement
def test_the_plan_splits_one_budget_between_members_epochs_and_refinement():
    """The 3,000-digit sample's numbers: 2,700 training rows, 586 refinement batches, 500 epochs at most, 98 s."""
    from explorer.reducers.plan import MEMBER_EPOCHS, REFINE_SHARE, RunBudget, plan_run

    sample = RunBudget(seconds=98.0, members=3, epochs=500, refine_batches=586, rows=2700)
    # bf16 CPU, 0.17 s an epoch of one member: three members, each trained well over MEMBER_EPOCHS
    fast = plan_run(sample, 0.17, spent=1.0, done=2)
    assert fast.members == 3 and fast.epochs >= MEMBER_EPOCHS and fast.refine_batches == 586
    # AVX2 CPU, 0.57 s: three members would train 40 epochs each; one member trains three times as long
    slow = plan_run(sample, 0.57, spent=3.4, done=2)
    assert slow.members == 1 and 110 <= slow.epochs <= 130
    assert slow.refine_seconds <= REFINE_SHARE * 98.0 and 500 <= slow.refine_batches < 586
    spent = slow.epochs * 0.57 + slow.refine_batches * 0.57 * 256 / 2700
    assert 90 <= spent <= 98 + 1e-6  # the budget is spent, not exceeded
    assert slow.short and not fast.short  # 116 epochs of 11 batches: the run says it is a short training
    assert plan_run(sample, 0.57, spent=3.4, done=2, keep_members=True).members == 3  # the members chosen stay
    # everything fits: the plan is the schedule
    assert plan_run(RunBudget(seconds=1e6, members=3, epochs=150, refine_batches=586, rows=2700), 0.5).epochs == 150
    # a budget that buys little: the floor of 10 epochs, one member, said to be short
    tiny = plan_run(sample, 10.0, spent=20.0, done=2)
    assert (tiny.members, tiny.epochs, tiny.short) == (1, 10, True)
    # re-planned from the speed of the last epochs: 2 slow epochs (50 s) then 1 s each: 2 + 130 of the rest fit
    assert plan_run(RunBudget(seconds=180.0, epochs=150), 1.0, spent=100.0, done=2).epochs == 82


def test_slow_epochs_train_one_autoencoder_longer_instead_of_three_and_leave_the_refinement_its_part():
    """Fake clocks: each member's epoch is 1 s of work. 40 s cannot train three members for MEMBER_EPOCHS each,
    so after the first 2 epochs one goes on; what it leaves is kept for the refinement's batches."""
    r = train(Neighbour(), epochs=200, budget=40.0, members=3, refine=30)
    assert r.members == 1 and r.plan is not None and r.plan.members == 1
    refine = 30 * 64 / 180  # 30 batches of 64 of the 180 training rows, at 1 s an epoch
    assert len(r.history) == 2 + int(40 - 6 - refine) and r.plan.refine_batches == 30
    assert r.budget_left is not None and abs(r.budget_left - (40 - 6 - int(40 - 6 - refine))) < 1e-6
    said = next(n for n in r.notes if "time_budget" in n)
    assert "trains 1 of 3 autoencoders" in said and "--epochs 200" in said
    roomy = train(Neighbour(), epochs=12, budget=60.0, members=3)
    assert roomy.members == 3 and len(roomy.history) == 12 and not [n for n in roomy.notes if "time_budget" in n]


def test_members_dropped_after_their_best_epoch_keep_the_weights_of_the_ones_left():
    """A loss that only grows: the best epoch is the first, when three members trained; after the plan drops two,
    training ends with the weights of the one left (the best of its own epochs), not a three-member state."""
    from explorer.reducers.networks import DenseNet, Ensemble
    from explorer.reducers.train import fit_module

    calls = [0.0]

    def growing(module, x):
        calls[0] += 1.0
        nets = list(module.members)
        return sum((m.decode(m.encode(x)) - x).pow(2).mean() for m in nets) * 0.0 + calls[0]

    cfg = ModelConfig(latent_dim=3, hidden=(8,), epochs=12, batch_size=64, patience=100, members=3, time_budget=1e-6)
    net = Ensemble([DenseNet(24, [8], 3) for _ in range(3)], 3)
    r = fit_module(net, low_rank_data(), growing, cfg, device="cpu")
    assert r.members == 1 and len(net.members) == 1 and net.scale.shape == (1,)
    assert r.best_epoch == 2  # the first epoch of the one member left


@pytest.mark.parametrize("budget,members", [(1e-6, 1), (1e6, 3)])
def test_an_autoencoder_that_dropped_members_is_a_plain_one(budget, members):
    """A budget that cannot pay for three autoencoders trains one, and the fitted model is that one: its code
    is one member's wide, and it saves and restores as a model of one member."""
    from explorer.reducers import Autoencoder

    X = low_rank_data()
    cfg = ModelConfig(latent_dim=3, hidden=(8,), epochs=12, batch_size=64, patience=100, members=3, time_budget=budget)
    ae = Autoencoder(cfg, device="cpu").fit(X)
    assert ae.train_info_["members"] == members and ae.config_.members == members
    assert ae.transform(X).shape == (200, 3 * members)
    meta, tensors = ae.export_state()
    back = Autoencoder.restore(ae.export_params(), meta, tensors)
    np.testing.assert_allclose(back.transform(X), ae.transform(X), atol=1e-5)


def test_the_refinement_gets_what_the_training_left():
    from types import SimpleNamespace

    from explorer.pipeline import PipelineConfig
    from explorer.pipeline.stages import refine_budget

    cfg = PipelineConfig()
    trained = SimpleNamespace(train_info_={"budget_left": 31.5})
    assert refine_budget(trained, cfg) == 31.5
    assert refine_budget(SimpleNamespace(train_info_={"budget_left": None}), cfg) is None  # no budget: every batch
    cfg.cluster.refine_seconds = 5.0
    assert refine_budget(trained, cfg) == 5.0  # a budget of its own, given by name, wins
