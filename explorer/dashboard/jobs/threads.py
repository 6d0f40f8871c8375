"""A job's thread below the pages' threads: a lower CPU priority (Linux ``nice``, per thread) and its
share of BLAS / OpenMP / torch threads."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

log = logging.getLogger(__name__)


def lower_priority(tid: int, by: int) -> None:
    """Lower a thread's CPU priority by ``by`` nice levels (Linux: a thread is a task of its own;
    raising its nice value needs no privilege, and threads it starts later inherit it). Elsewhere
    nothing happens."""
    if by <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except OSError:  # the thread has ended, or it is not allowed here: it runs as it is
        pass


@contextlib.contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """At most ``threads`` BLAS / OpenMP threads for the work of this thread (OpenMP's limit is per
    calling thread; OpenBLAS's and torch's are global and every job sets the same value)."""
    import sys

    torch = sys.modules.get("torch")
    set_threads = getattr(torch, "set_num_threads", None)  # absent while another thread imports torch
    if set_threads is not None:
        try:
            set_threads(threads)
        except Exception as exc:  # noqa: BLE001 - a limit is a courtesy: the job runs without it
            log.debug("could not limit torch's threads: %s", exc)
    limits = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=threads)
    except Exception as exc:  # noqa: BLE001 - idem
        log.debug("could not limit BLAS / OpenMP threads: %s", exc)
    with limits:
        yield
