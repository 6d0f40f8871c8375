"""Errors a person can act on.

Every problem with user input raises :class:`InputError` (a ``ValueError``) whose message says what
was wrong and what to do about it. The CLI prints it as one line; the dashboard shows it in a box.
"""

from __future__ import annotations


class ExplorerError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(ExplorerError, ValueError):
    """The data or an option given by the user cannot be used.

    The message names the problem and what to do, e.g.
    ``"data.csv: the label column 'kind' does not exist; choose one of: a, b, c."``
    """


class TrainingError(ExplorerError, RuntimeError):
    """Training could not go on (the loss became NaN or infinite, out of memory on every device)."""


class LimitError(InputError):
    """A configured cap (upload size, rows, pixels, epochs, time) was hit."""


class RunNotFound(ExplorerError, LookupError):
    """No saved run has this id (or the id is not a valid run id)."""


class Stopped(ExplorerError):
    """Work was stopped on request (the Stop button, a time cap) before it had a result to return."""

    stopped = True


class JobCancelled(BaseException):
    """Raised inside a job's work by ``should_stop()`` / ``emit()`` once the job was cancelled.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that library code catching ``Exception`` does
    not swallow it: the work ends at its next check, whatever it is doing.
    """
