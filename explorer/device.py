"""Choosing the compute device: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.errors import InputError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    """The device a computation runs on, and how to describe it to a person."""

    name: str  # torch device string: "cpu", "cuda", "cuda:0", "mps"
    description: str  # "NVIDIA H100 80GB HBM3", "Apple MPS", "CPU (2 threads)"

    @property
    def type(self) -> str:
        return self.name.split(":")[0]


def resolve_device(choice: str = "auto") -> DeviceInfo:
    """Turn "auto" / "cpu" / "cuda" / "mps" into a usable device.

    "auto" picks CUDA, then MPS, then the CPU. Asking for a device that is not there is an
    :class:`InputError` that says which devices are.
    """
    import torch

    if choice not in DEVICE_CHOICES and not str(choice).startswith("cuda:"):
        raise InputError(f"device '{choice}' is not known; choose one of: {', '.join(DEVICE_CHOICES)}.")
    has_cuda = torch.cuda.is_available()
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if choice == "auto":
        choice = "cuda" if has_cuda else "mps" if has_mps else "cpu"
    if choice.startswith("cuda"):
        if not has_cuda:
            raise InputError("device 'cuda' was asked for but no CUDA GPU is available here; use --device auto or cpu.")
        index = torch.device(choice).index or 0
        return DeviceInfo(choice, f"{torch.cuda.get_device_name(index)} (CUDA)")
    if choice == "mps":
        if not has_mps:
            raise InputError(
                "device 'mps' was asked for but Apple MPS is not available here; use --device auto or cpu."
            )
        return DeviceInfo("mps", "Apple GPU (MPS)")
    return DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so the same seed gives the same result on the CPU."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
