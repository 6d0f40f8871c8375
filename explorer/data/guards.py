"""What keeps a load in bounds: Stop and the time cap between steps, the memory a load may take, the
fewest rows that can be clustered."""

from __future__ import annotations

import time

from explorer.data.words import human_bytes, plural
from explorer.errors import ExplorerError, InputError, LimitError
from explorer.events import StopCheck
from explorer.limits import Limits, how_to_raise
from explorer.validation import MIN_ROWS

VALUE_BYTES = 8  # what one value read costs: a float64 cell of the table as read (and of most arrays)
FEATURE_BYTES = 4  # what one feature costs once encoded: Dataset.X is float32, filled column by column
BOMB_MIN_BYTES = 32 * 2**20  # a zip or .npz member expanding past this is checked for its compression ratio


class LoadStopped(ExplorerError):
    """A load was stopped because its ``should_stop()`` said so (the dashboard's Stop button)."""


class LoadGuard:
    """Checked between the steps of one load (images, batches of rows, columns): raises
    :class:`LoadStopped` when ``should_stop()`` says so and :class:`LimitError` once the load has run
    past ``limits.max_load_seconds``. A load never blocks between two checks for long: each step is
    bounded by the caps checked before it (pixels, rows, bytes)."""

    def __init__(self, limits: Limits, should_stop: StopCheck | None = None) -> None:
        self.limits, self.should_stop = limits, should_stop
        self.start = time.monotonic()

    def check(self, what: str) -> None:
        """``what``: the load, for messages ("loading data.csv")."""
        if self.should_stop is not None and self.should_stop():
            raise LoadStopped(f"{what} was stopped.")
        elapsed = time.monotonic() - self.start
        if elapsed > self.limits.max_load_seconds:
            raise LimitError(
                f"{what} took over {elapsed:,.0f} seconds, more than the limit max_load_seconds="
                f"{self.limits.max_load_seconds:,.0f}. {how_to_raise('max_load_seconds')}"
            )


def check_decoded_bytes(limits: Limits, n_bytes: int, what: str, *, while_reading: bool = False) -> None:
    """Refuse, before decoding, data whose decoded size (estimated: :data:`VALUE_BYTES` a value plus
    any text) is over ``limits.max_decoded_bytes``. ``what``: "data.parquet (1,000,000 rows x 100 columns)".

    ``while_reading``: ``n_bytes`` is what a streamed read holds so far (its size was not known
    before), and the read stops there."""
    cap = limits.max_decoded_bytes
    if n_bytes > cap:
        when = "it was stopped while being read" if while_reading else "it was refused before decoding"
        raise LimitError(
            f"{what} would take about {human_bytes(n_bytes)} of memory once decoded, more than the limit "
            f"max_decoded_bytes={cap:,} ({human_bytes(cap)}); {when}. Load fewer rows or "
            f"columns. {how_to_raise('max_decoded_bytes')}"
        )


def check_expansion(limits: Limits, what: str, expanded: int, compressed: int) -> None:
    """Refuse a zip or .npz member that expands more than ``limits.max_compression_ratio`` times to
    more than :data:`BOMB_MIN_BYTES` (a zip bomb), from its declared sizes, before reading it."""
    ratio = expanded / max(compressed, 1)
    if expanded > BOMB_MIN_BYTES and ratio > limits.max_compression_ratio:
        raise LimitError(
            f"{what} expands {ratio:,.0f} times (from {compressed:,} to {expanded:,} bytes), more than the limit "
            f"max_compression_ratio={limits.max_compression_ratio:,}; that looks like a zip bomb, so it was "
            f"refused. {how_to_raise('max_compression_ratio')}"
        )


def check_min_rows(n: int, fname: str, what: str = "rows", least: int = MIN_ROWS) -> None:
    """Raise :class:`InputError` when there are fewer than ``least`` rows: by default
    ``explorer.validation.MIN_ROWS``, the fewest that clustering and the 2-D map work on (so a file that loads can
    also be clustered); new data applied to a run needs only one."""
    if n < least:
        if least <= 1:
            raise InputError(f"{fname} holds no {what}.")
        raise InputError(
            f"{fname} has only {plural(n, what.rstrip('s'), what)}; at least {least} are needed to find "
            "any structure. "
            "Add more data."
        )
