"""What long work reports while it runs: typed progress events and the callbacks that carry them.

The pipeline emits :class:`Progress` events to an ``on_event`` callback: the CLI draws them as a
terminal bar, a dashboard job records them for its page to poll. Training also calls
``on_epoch_end(epoch, logs)`` with the epoch's record (the same dict that lands in ``history_``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

# the last five are the stages of applying a saved run to new data (explorer.apply.apply_run)
Stage = Literal[
    "load",
    "train",
    "cluster",
    "refine",
    "selftrain",
    "project",
    "evaluate",
    "explain",
    "done",
    "preprocess",
    "encode",
    "assign",
    "place",
    "drift",
]


@dataclass(frozen=True)
class Progress:
    """One step of a run: which stage, what is happening, how far the stage is (0 to 1).

    Training events also carry the epoch, the planned epochs and the losses of that epoch.
    """

    stage: Stage
    message: str
    fraction: float = 0.0
    epoch: int | None = None
    epochs: int | None = None
    loss: float | None = None
    val_loss: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
# should_stop() -> True asks training / refinement / the k sweep to stop and keep what it has
StopCheck = Callable[[], bool]
# on_progress(fraction done in [0, 1], what is happening): a step inside one stage (the k sweep, DEC's
# batches); the order st.progress(value, text) takes. The pipeline turns these into Progress events.
StepCallback = Callable[[float, str], None]
# on_epoch_end(epoch, logs): logs = {"epoch", "loss", "val_loss" (or None), "seconds", "epochs" (planned)}
EpochCallback = Callable[[int, dict], None]


def ignore(event: Progress) -> None:
    """The callback used when nobody listens."""
