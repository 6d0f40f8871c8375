"""What the dashboard's setting widgets need beyond the configs: text typed by hand turned into
values, and the choices that depend on this machine."""

from __future__ import annotations

from explorer.errors import InputError


def parse_hidden(text: str) -> tuple[int, ...]:
    """ "500, 500, 2000" -> (500, 500, 2000): the hidden layer sizes of a dense autoencoder."""
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(
            f"hidden layers must be whole numbers separated by commas, like 500, 500, 2000; got {text!r}."
        ) from None
    if not sizes or any(s < 1 for s in sizes):
        raise InputError(f"give at least one hidden layer size, each >= 1 (like 500, 500, 2000); got {text!r}.")
    return sizes


def available_devices() -> list[str]:
    """The device choices that work on this machine: "auto", "cpu", and "cuda" / "mps" when present."""
    import torch

    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out
