"""The training loop shared by every autoencoder.

Small and explicit (minGPT's Trainer): Adam, epochs / batch size / learning rate, a validation split
with early stopping that keeps the best weights, an ``on_epoch_end`` callback that drives any progress
bar, a ``should_stop`` check to stop from outside, bf16 autocast where the hardware computes bf16
natively (CUDA GPUs; CPUs with AVX512-BF16 or AMX), and clear handling of a
loss that becomes NaN or infinite. When the data fit in device memory they are moved there once and
batches are indexed on the device (no DataLoader, no host-to-device copy per batch).
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import InputError, TrainingError
from explorer.events import EpochCallback, StopCheck
from explorer.reducers.clock import Reading, WorkClock, cpu_share

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from explorer.reducers.config import ModelConfig

# loss_fn(module, xb) -> scalar loss tensor for a batch xb (already on the device)
LossFn = Callable[["torch.nn.Module", "torch.Tensor"], "torch.Tensor"]


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one dict per epoch: epoch, loss, val_loss, seconds
    best_epoch: int = 0
    stop_reason: str = "finished"  # finished | early_stopping | stopped | time_limit | nan
    device: str = "cpu"
    precision: str = "float32"  # or "bf16 autocast"
    batch_size: int = 256  # the batch size that finally ran (halved on out-of-memory)
    epochs: int = 0  # the epochs planned (fewer than asked under max_examples, see training_schedule)
    rows_per_epoch: int = 0  # rows each epoch looked at (all the training rows unless max_examples drew fewer)
    notes: list[str] = field(default_factory=list)
    processes: int = 1  # data-parallel processes that trained together (explorer.reducers.distributed)


STOP_CHECK_BATCHES = 32  # should_stop() is also checked every this many batches, for long epochs
MAX_VAL_ROWS = 10_000  # the validation split never holds more rows: it scores the model, it does not train it
MIN_EPOCHS_IN_BUDGET = 10  # a capped schedule still has this many epochs: progress, early stopping, best weights
PLAN_AFTER_EPOCHS = 2  # time_budget: the epochs that fit are first planned after this many, then again after each
PLAN_WINDOW = 5  # ... from the median work time (explorer.reducers.clock) of the last epochs this many: a slow start
# that ends gives its epochs back, and a machine that slows down trains fewer
SHARED_BELOW = 0.8  # a training that got less of a core's time than this is said to have shared the CPU


def epochs_in_time(planned: int, done: int, elapsed: float, budget: float, per_epoch: float | None = None) -> int:
    """How many epochs in all fit in ``budget`` seconds when ``done`` epochs took ``elapsed`` and the next ones
    take ``per_epoch`` each (default: the mean so far): at most ``planned``, at least ``done`` and at least
    ``MIN_EPOCHS_IN_BUDGET`` (when planned)."""
    if done <= 0 or elapsed <= 0:
        return planned
    per = per_epoch if per_epoch is not None and per_epoch > 0 else elapsed / done
    fit = done + int(max(budget - elapsed, 0.0) / per)
    return max(done, min(planned, max(fit, min(planned, MIN_EPOCHS_IN_BUDGET))))


def validation_rows(n: int, val_fraction: float) -> int:
    """Rows of ``n`` held out to score the model (none below 20 rows; never more than ``MAX_VAL_ROWS``)."""
    return min(round(n * val_fraction), MAX_VAL_ROWS) if n >= 20 else 0


def planned_epochs(model: dict, n: int) -> int:
    """The epochs a model config (as recorded: ``ModelConfig.to_dict()``) plans for ``n`` rows before any
    time budget: ``epochs``, fewer under ``max_examples`` (:func:`training_schedule`)."""
    from explorer.reducers.config import ModelConfig

    n_train = n - validation_rows(n, float(model.get("val_fraction", ModelConfig.val_fraction)))
    return training_schedule(int(model["epochs"]), n_train, model.get("max_examples"))[0]


def training_schedule(epochs: int, n_train: int, max_examples: int | None) -> tuple[int, int]:
    """(epochs, rows per epoch) for ``n_train`` training rows under the ``max_examples`` budget.

    Without a budget, or when ``epochs`` full passes fit in it: ``(epochs, n_train)``. Otherwise the
    budget is spent in at least ``MIN_EPOCHS_IN_BUDGET`` epochs (fewer only if ``epochs`` is smaller),
    each a fresh random draw of at most ``n_train`` rows: 63,000 rows under 1.5M examples train 23
    full epochs; 900,000 rows under 500,000 examples train 10 epochs of 50,000 rows.
    """
    if max_examples is None or epochs * n_train <= max_examples:
        return epochs, n_train
    rows = max(1, min(n_train, max_examples // min(epochs, MIN_EPOCHS_IN_BUDGET)))
    return max(1, min(epochs, max_examples // rows)), rows


def place_data(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """X as a float32 tensor, on ``device`` when it fits comfortably, else pinned on the CPU."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        if t.nbytes < 0.5 * free:
            return t.to(device)
        return t.pin_memory()
    if device.type == "mps":
        return t.to(device)
    return t


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX), where bf16 autocast
    roughly halves the time of a dense autoencoder's step (python -m bench.measure.precision); elsewhere it would
    be emulated and slower."""
    import torch

    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():  # oneDNN's own check (x86: AVX512-BF16 / AMX)
            return False
    except (AttributeError, RuntimeError):
        return False
    try:  # oneDNN also says yes to plain AVX512 cores, where bf16 is emulated: ask the CPU itself
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # no /proc (macOS, Windows): trust oneDNN
    return "avx512_bf16" in flags or "amx_bf16" in flags


def uses_bf16(device: torch.device, mixed_precision: bool = True) -> bool:
    """Whether training on ``device`` runs under bf16 autocast: CUDA GPUs with bf16 and CPUs with
    native bf16, unless ``mixed_precision`` is off. Weights, codes and reconstructions stay float32."""
    import torch

    if not mixed_precision:
        return False
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def autocast(device: torch.device, enabled: bool):
    import contextlib

    import torch

    if enabled:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def fit_module(
    module: torch.nn.Module,
    X: np.ndarray,
    loss_fn: LossFn,
    cfg: ModelConfig,
    *,
    device: str = "auto",
    seed: int = 0,
    on_epoch_end: EpochCallback | None = None,
    should_stop: StopCheck | None = None,
    clock: WorkClock | None = None,
) -> TrainResult:
    """Train ``module`` on the rows of X (n, d) by minimising ``loss_fn``; returns the history.

    ``cfg`` is the model's :class:`~explorer.reducers.config.ModelConfig`; the loop reads its epochs,
    batch_size, lr, weight_decay, val_fraction, patience, min_delta, max_seconds and mixed_precision.
    The module ends with the weights of the epoch with the best validation loss (the training loss
    when there is no validation split). Running out of GPU memory halves the batch and retries, then
    falls back to the CPU, and says so in ``notes``. ``cfg.time_budget`` counts the seconds of work the
    training got (``clock``, default :meth:`WorkClock.for_device`; data-parallel, the wall clock), so another
    process's load does not cut the epochs.

    Inside :func:`explorer.reducers.distributed.data_parallel` (a process launched by torchrun) the module
    trains data-parallel with the other processes: each computes its part of every batch of
    ``batch_size`` rows, and all take the same decisions (see :mod:`explorer.reducers.distributed`).
    """
    import torch

    from explorer.device import resolve_device, seed_everything
    from explorer.reducers.distributed import active

    cfg.validate()
    n = X.shape[0]
    if n < 2:
        raise InputError(f"need at least 2 rows to train, got {n}.")
    where = torch.device(resolve_device(device).name)
    group = active()
    if group is not None:
        where = group.local_device(where)
    result = TrainResult(device=str(where), batch_size=cfg.batch_size)
    batch_size = min(cfg.batch_size, n)
    if group is not None:
        result.processes = group.world_size
        result.notes.append(
            f"Trained data-parallel in {group.world_size} processes ({group.backend}), "
            f"{max(batch_size // group.world_size, 1)} rows of each batch of {batch_size} per process."
        )
    while True:
        try:
            # data-parallel, waiting for the other processes is part of the work: the wall clock measures it
            run_clock = clock or (WorkClock.for_device(where.type) if group is None else WorkClock(counts_cpu=False))
            _train(module, X, loss_fn, cfg, where, seed, batch_size, result, on_epoch_end, should_stop, run_clock)
            result.batch_size = batch_size
            return result
        except RuntimeError as exc:  # out of memory: smaller batches, then the CPU
            if not _is_oom(exc) or where.type == "cpu":
                raise
            if group is not None:  # the other processes cannot follow a retry: stop with a hint
                raise TrainingError(
                    f"out of GPU memory on rank {group.rank} with batches of {batch_size} rows; "
                    "give a smaller --batch-size."
                ) from exc
            if where.type == "cuda":
                torch.cuda.empty_cache()
            if batch_size > 16:
                batch_size //= 2
                result.notes.append(f"Out of GPU memory: retrying with batch size {batch_size}.")
            else:
                where = torch.device("cpu")
                batch_size = min(cfg.batch_size, n)
                result.notes.append("Out of GPU memory even with small batches: training on the CPU instead.")
                result.device = "cpu"
            result.history.clear()
            seed_everything(seed)


def _train(module, X, loss_fn, cfg, device, seed, batch_size, result, on_epoch_end, should_stop, clock) -> None:
    import torch

    from explorer.device import seed_everything
    from explorer.reducers.distributed import active

    group = active()  # None: one process, as always; else this rank's part of data-parallel training
    seed_everything(seed)
    if group is not None:
        group.seed(seed)
    module.to(device)
    bf16 = uses_bf16(device, cfg.mixed_precision)
    result.precision = "bf16 autocast" if bf16 else "float32"
    data = place_data(X, device)
    n = data.shape[0]
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen)
    n_val = validation_rows(n, cfg.val_fraction)
    val_idx, train_idx = order[:n_val], order[n_val:]
    if data.device.type != "cpu":
        val_idx, train_idx = val_idx.to(data.device), train_idx.to(data.device)
    opt = torch.optim.Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    parallel = group.wrap(module, loss_fn) if group is not None else None  # forward(xb) -> loss, synchronised
    best_loss, best_state, best_epoch, bad_epochs = math.inf, None, 0, 0
    start = time.perf_counter()
    n_train = len(train_idx)
    epochs, rows = training_schedule(cfg.epochs, n_train, cfg.max_examples)
    if (epochs, rows) != (cfg.epochs, n_train):
        drawn = f" of {rows:,} rows drawn at random" if rows < n_train else ""
        result.notes.append(
            f"{n_train:,} training rows: {epochs} epochs{drawn} instead of {cfg.epochs}, "
            f"{epochs * rows:,} examples in all (max_examples={cfg.max_examples:,})."
        )
    result.epochs, result.rows_per_epoch = epochs, rows
    asked, marks = epochs, [clock.read()]  # the schedule's epochs; the clocks at the start and after each epoch
    epoch = 0
    while epoch < epochs:
        epoch += 1
        t0 = time.perf_counter()
        module.train()
        perm = train_idx[torch.randperm(n_train, generator=gen).to(train_idx.device)[:rows]]
        total, count = torch.zeros((), device=device), 0
        for b, i in enumerate(range(0, rows, batch_size)):
            if b and b % STOP_CHECK_BATCHES == 0 and _asked_to_stop(should_stop, group):
                break  # a long epoch ends early too; the check after the epoch then stops training
            idx = perm[i : i + batch_size]
            if len(idx) < 2 and n_train > 1:  # a batch of one breaks batch statistics; skip it
                continue
            if group is not None:
                if len(idx) < group.world_size:  # a last batch too small to give every rank a row
                    continue
                idx = group.part(idx)
            xb = data[idx].to(device, non_blocking=True)
            with autocast(device, bf16):
                loss = loss_fn(module, xb) if parallel is None else parallel(xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach().float() * len(idx)
            count += len(idx)
        summed, rows_summed = float(total), float(count)
        if group is not None:  # every rank: the loss over all ranks' rows, and over the whole validation split
            summed, rows_summed = group.sum(summed, count)
        train_loss = summed / max(rows_summed, 1)
        val_loss: float | None
        if group is not None and n_val:
            val_loss_sum, val_count = group.sum(
                *_loss_sum(module, data, group.shard(val_idx), loss_fn, device, batch_size, bf16)
            )
            val_loss = val_loss_sum / max(val_count, 1)
        else:
            val_loss = _evaluate(module, data, val_idx, loss_fn, device, batch_size, bf16) if n_val else None
        seconds = time.perf_counter() - t0
        marks.append(clock.read())
        if cfg.time_budget is not None and epoch >= PLAN_AFTER_EPOCHS:
            epochs = _plan_in_time(cfg, asked, epoch, marks, clock, group, result)
        logs = {"epoch": epoch, "loss": train_loss, "val_loss": val_loss, "seconds": seconds, "epochs": epochs}
        monitored = val_loss if val_loss is not None else train_loss
        if not math.isfinite(monitored) or not math.isfinite(train_loss):
            result.stop_reason = "nan"
            if best_state is None:
                raise TrainingError(
                    f"the loss became {train_loss} in epoch {epoch} before any good epoch; "
                    "lower the learning rate, or check the data for extreme values."
                )
            module.load_state_dict(best_state)
            message = (
                f"The loss became {train_loss} in epoch {epoch}; training stopped and kept the weights "
                f"of epoch {best_epoch}. A lower learning rate may help."
            )
            result.notes.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            return
        result.history.append(logs)
        if monitored < best_loss * (1 - cfg.min_delta) or best_state is None:
            best_loss, best_epoch, bad_epochs = monitored, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            bad_epochs += 1
        result.best_epoch = best_epoch
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)
        if n_val and bad_epochs >= cfg.patience:
            result.stop_reason = "early_stopping"
            break
        if _asked_to_stop(should_stop, group):
            result.stop_reason = "stopped"
            break
        over_time = cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds
        if over_time if group is None else group.any(over_time):
            result.stop_reason = "time_limit"
            result.notes.append(f"Training stopped at the time limit of {cfg.max_seconds:.0f} s.")
            break
    if cfg.time_budget is not None and result.epochs < asked:
        result.notes.append(_budget_note(cfg, asked, result.epochs, marks, clock))
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()


def _epoch_work(marks: list[Reading], clock: WorkClock) -> list[float]:
    """The seconds of work of each epoch (``marks``: the clocks at the start, then after each epoch)."""
    return [clock.work(a, b) for a, b in itertools.pairwise(marks)]


def _plan_in_time(cfg, asked: int, done: int, marks: list[Reading], clock: WorkClock, group, result) -> int:
    """The epochs that fit in ``cfg.time_budget``, re-planned after each epoch from the work spent so far and the
    median of the last ``PLAN_WINDOW`` epochs (every process of a data-parallel run takes their means, so all
    decide alike)."""
    work = _epoch_work(marks, clock)
    elapsed, per = sum(work), float(np.median(work[-PLAN_WINDOW:]))
    if group is not None:
        elapsed, per = (v / group.world_size for v in group.sum(elapsed, per))
    budget = float(cfg.time_budget) * int(cfg.members)  # per autoencoder: an ensemble of 3 gets 3 times it
    result.epochs = epochs_in_time(asked, done, elapsed, budget, per)
    return result.epochs


def _budget_note(cfg, asked: int, fit: int, marks: list[Reading], clock: WorkClock) -> str:
    """What the time budget cut, at what speed, and what training every planned epoch would cost."""
    per = float(np.median(_epoch_work(marks, clock)[-PLAN_WINDOW:]))
    budget = float(cfg.time_budget) * int(cfg.members)
    poor = " Fewer than half: expect lower scores than on a faster machine." if fit < asked / 2 else ""
    share = cpu_share(marks) if clock.counts_cpu else 1.0
    shared = (
        f" Other work shared the CPU: training ran {share:.0%} of the time it took; the budget counts the time it "
        "ran, so it took longer on the clock."
        if share < SHARED_BELOW
        else ""
    )
    return (
        f"At {per:.2f} s per epoch on this machine (the last epochs; the plan is re-made after each), {fit} of the "
        f"{asked} planned epochs fit in the training budget of {budget:.0f} s (time_budget).{poor}{shared} "
        f"--epochs {asked} trains them all: about {per * (asked - fit):.0f} s more per autoencoder; a faster "
        "machine (bf16, a GPU) does too."
    )


def _evaluate(module, data, idx, loss_fn, device, batch_size, bf16: bool) -> float:
    """Mean loss over the rows ``idx``, without gradients (nanoGPT's estimate_loss)."""
    total, count = _loss_sum(module, data, idx, loss_fn, device, batch_size, bf16)
    return total / max(count, 1)


def _loss_sum(module, data, idx, loss_fn, device, batch_size, bf16: bool) -> tuple[float, int]:
    """(sum of the per-row loss, rows) over the rows ``idx``, without gradients."""
    import torch

    module.eval()
    total, count = 0.0, 0
    with torch.no_grad(), autocast(device, bf16):
        for i in range(0, len(idx), batch_size):
            b = idx[i : i + batch_size]
            xb = data[b].to(device, non_blocking=True)
            total += float(loss_fn(module, xb)) * len(b)
            count += len(b)
    return total, count


def _asked_to_stop(should_stop: StopCheck | None, group) -> bool:
    """should_stop() here, or, training data-parallel, on any rank (all ranks must stop together)."""
    asked = should_stop is not None and bool(should_stop())
    return asked if group is None else group.any(asked)


def predict_batches(fn, X: np.ndarray, device: torch.device, batch_size: int = 4096) -> np.ndarray:
    """Apply ``fn`` (tensor -> tensor) to X (n, d) in batches without gradients; float32 numpy out.

    Each batch's result is copied into one preallocated array: keeping the tensors' own arrays would
    keep alive the buffers they live in (measured: 7.6 GB to encode a million rows of 40 columns)."""
    import torch

    out: np.ndarray | None = None
    with torch.no_grad():
        for i in range(0, X.shape[0], batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size], dtype=np.float32)).to(device)
            part = fn(xb).float().cpu().numpy()
            if out is None:
                out = np.empty((X.shape[0], *part.shape[1:]), np.float32)
            out[i : i + len(part)] = part
    if out is None:
        return np.zeros((0, 0), np.float32)
    return out
