"""What the command line writes to a terminal: a progress bar driven by the pipeline's events, the
metrics as aligned lines, and streams that never pass a control character through."""

from __future__ import annotations

import sys
import time
from typing import Any

from explorer.events import Progress
from explorer.metrics import METRICS


class ProgressBar:
    """A one-line terminal progress bar on stderr, driven by the pipeline's events.

    :meth:`end_line` ends the bar's line if it is open, so what is printed next (an error) starts a
    line of its own."""

    def __init__(self, stream=None, enabled: bool = True):
        self.stream, self.enabled = stream or sys.stderr, enabled  # sys.stderr as it is now, not at import
        self.start = time.perf_counter()
        self.stage: str | None = None
        self.line_open = False

    def end_line(self) -> None:
        if self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        stage = event.stage
        if stage != self.stage and self.stage is not None:
            self.end_line()
        self.stage = stage
        frac = float(min(max(event.fraction, 0.0), 1.0))
        width = 28
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        extra = ""
        if event.loss is not None:
            extra = f" loss {event.loss:.4g}"
            if event.val_loss is not None:
                extra += f" val {event.val_loss:.4g}"
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r{stage:>8} [{bar}] {event.message}{extra}  {elapsed:5.0f}s   ")
        self.stream.flush()
        self.line_open = True
        if stage == "done":
            self.end_line()


def format_metrics(metrics: dict[str, Any]) -> str:
    """The scores :data:`explorer.metrics.METRICS` names, one ``  label  value`` line each, in its order."""
    lines = []
    for key, metric in METRICS.items():
        v = metrics.get(key)
        if v is not None:
            lines.append(f"  {metric.label:<24} {v:.4f}" if isinstance(v, float) else f"  {metric.label:<24} {v}")
    return "\n".join(lines)


class TerminalSafe:
    """A text stream that replaces control characters other than newline, carriage return and tab
    (ANSI escape sequences, bell, backspace) with U+FFFD: file, column and cluster names come from
    users, and a name holding an escape sequence would otherwise drive the terminal it is printed in."""

    _keep = frozenset({"\n", "\r", "\t"})

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        import unicodedata

        clean = "".join(ch if ch in self._keep or unicodedata.category(ch) != "Cc" else "\ufffd" for ch in text)
        return self._stream.write(clean)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
