"""Data-parallel training with PyTorch's own DistributedDataParallel, launched by torchrun.

    torchrun --nproc_per_node=N -m explorer run DATA ...     # one process per GPU (or N CPU processes)
    explorer run DATA --devices N ...                       # the same; explorer starts torchrun itself

Every process (rank) loads the same data and builds the same model (DDP copies rank 0's weights to
the others). Each global batch of ``batch_size`` rows, drawn in the same order on every rank, is cut
into one part per rank, so a rank computes ``batch_size / world_size`` rows and the gradients averaged
by DDP are those of the whole batch: the effective batch, and so the training, is the one of a single
process. The validation split is the same on all ranks; each scores its share of it and the sums are
all-reduced, so every rank sees the same validation loss and takes the same early-stopping decision;
every other decision to stop (the time limit, a Stop from outside) is all-reduced too, so no rank
waits forever for another. After training only rank 0 goes on (clustering, map, explanations) and
saves the one run.

In Python, around any autoencoder's ``fit`` in a script launched by torchrun::

    group = init_from_env()                # None outside torchrun: training as usual
    with data_parallel(group):
        model.fit(X)
    leave(group)                           # every rank, together

The backend is gloo for tensors on the CPU and NCCL for CUDA tensors. Nothing here is imported
unless training runs under torchrun with more than one process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch

RANK_SEED_STRIDE = 1_000_003  # rank r draws its noise (denoising, VAE sampling, augmentation) from seed + r * this


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes (torchrun's RANK, WORLD_SIZE, LOCAL_RANK)."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that finishes the run and saves it."""
        return self.rank == 0

    # -- what the training loop asks ------------------------------------------------------------------
    def local_device(self, device: torch.device) -> torch.device:
        """The device of this rank: its own GPU (cuda:LOCAL_RANK) on CUDA, else ``device``."""
        import torch

        if device.type != "cuda":
            return device
        if self.local_rank >= torch.cuda.device_count():
            raise InputError(
                f"rank {self.rank} wants GPU {self.local_rank} but this machine has "
                f"{torch.cuda.device_count()}; start at most one process per GPU."
            )
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def seed(self, seed: int) -> None:
        """Give each rank its own noise stream (rank 0 keeps ``seed``, as a single process would)."""
        import torch

        torch.manual_seed(seed + self.rank * RANK_SEED_STRIDE)

    def wrap(self, module: torch.nn.Module, loss_fn: Callable) -> torch.nn.Module:
        """``module`` and ``loss_fn`` as one DDP module whose forward(xb) is the loss of the rows xb:
        the autoencoders' losses call encode / decode, and DDP synchronises only through forward."""
        from torch.nn.parallel import DistributedDataParallel

        device = next(module.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(_loss_module(module, loss_fn), device_ids=ids)

    def part(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch of row indices (sizes differ by at most one)."""
        n = len(idx)
        lo, hi = (n * self.rank) // self.world_size, (n * (self.rank + 1)) // self.world_size
        return idx[lo:hi]

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """Every world_size-th index, from this rank's own on: its share of the validation rows."""
        return idx[self.rank :: self.world_size]

    def sum(self, *values: float) -> list[float]:
        """The sums of ``values`` over all ranks (float64 on the CPU: gloo reduces CPU tensors)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return [float(v) for v in t.cpu()]

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is True on at least one."""
        return self.sum(1.0 if flag else 0.0)[0] > 0

    def _collective_device(self) -> torch.device:
        import torch

        # gloo (alone, or beside NCCL) reduces CPU tensors; a group of NCCL alone needs them on the GPU
        return torch.device("cpu") if "gloo" in self.backend else torch.device("cuda", self.local_rank)


def _loss_module(module: torch.nn.Module, loss_fn: Callable) -> torch.nn.Module:
    """A module whose forward(xb) is loss_fn(module, xb): the whole loss behind one forward, as DDP needs."""
    import torch

    class LossOf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, xb: torch.Tensor) -> torch.Tensor:
            return loss_fn(self.inner, xb)

    return LossOf()


# -- joining and leaving the group --------------------------------------------------------------------
def launched() -> bool:
    """True in a process started by torchrun with more than one process in all."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ
    except ValueError:
        return False


def init_from_env() -> Group | None:
    """Join the process group torchrun set up (its RANK, WORLD_SIZE, MASTER_ADDR ... variables);
    None when this process was not started by torchrun with several processes."""
    if not launched():
        return None
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        # one group serving both: gloo for CPU tensors, NCCL for CUDA ones (NCCL only where there is CUDA)
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return Group(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        backend=str(dist.get_backend()),
    )


def leave(group: Group | None) -> None:
    """Leave the process group (all ranks together: a barrier first), if this process is in one.

    Called by every rank once training is over, so that no rank's exit looks like a failure to the
    others while rank 0 goes on alone with clustering and the map."""
    if group is None:
        return
    import gc

    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        gc.collect()  # training's DDP wrapper (and its hold on the group) goes now, not at interpreter exit
        dist.destroy_process_group()


def abandon() -> None:
    """Leave the process group alone, without waiting for the others (after an error), if in one."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


_ACTIVE: Group | None = None


@contextlib.contextmanager
def data_parallel(group: Group | None) -> Iterator[Group | None]:
    """Within this block, :func:`explorer.reducers.train.fit_module` trains data-parallel over ``group``
    (None: as usual, in this one process)."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, group
    try:
        yield group
    finally:
        _ACTIVE = previous


def active() -> Group | None:
    """The group training is data-parallel over now (inside :func:`data_parallel`), else None."""
    return _ACTIVE


# -- explorer run --devices N --------------------------------------------------------------------------
def launch_command(n_processes: int, module_args: Sequence[str]) -> list[str]:
    """The torchrun command that runs ``python -m explorer <module_args>`` in ``n_processes``
    processes on this machine (torchrun is torch.distributed.run, shipped with PyTorch)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={int(n_processes)}",
        "-m",
        "explorer",
        *module_args,
    ]


def check_devices(n_processes: int, device: str) -> None:
    """A clear error for a process count this machine cannot serve: at most one process per GPU."""
    if n_processes < 1:
        raise InputError(f"--devices must be 1 or more, got {n_processes}.")
    if launched():
        raise InputError(
            "--devices starts torchrun itself; under torchrun leave it out "
            "(torchrun's --nproc_per_node sets the number of processes)."
        )
    import torch

    on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if on_gpu and n_processes > torch.cuda.device_count():
        raise InputError(
            f"--devices {n_processes} asks for more processes than the {torch.cuda.device_count()} "
            "GPUs here (one process per GPU); use fewer, or --device cpu for CPU processes."
        )


def launch(n_processes: int, module_args: Sequence[str], env: dict[str, str] | None = None) -> int:
    """Run ``explorer <module_args>`` data-parallel in ``n_processes`` local processes; the exit status."""
    return subprocess.call(launch_command(n_processes, module_args), env=env)
