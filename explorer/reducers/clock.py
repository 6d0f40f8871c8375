"""The seconds of work a training got, for time budgets that mean the same on a busy machine.

A time budget measured on the wall clock shrinks whenever another process (a neighbour's job, a second
dashboard job in this same process) takes CPU time from the training: its epochs look slow, and the plan
made from them trains fewer, so the scores depend on what else ran. On the CPU the budget therefore counts
the CPU time of the thread that trains (the one that drives PyTorch's thread team and waits with it): alone
it runs all the time its epochs take; time given to others is not counted. A run under load then takes
longer on the wall clock, up to ``MAX_STRETCH`` times its budget, no more: a machine shared for good (a CPU
quota, a job that never ends) still ends in time. On a GPU the thread mostly waits for the device and the
wall clock is the measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_STRETCH = 2.0  # an interval counts at least 1 / MAX_STRETCH of its wall time, however little CPU it got


@dataclass(frozen=True)
class Reading:
    """One look at both clocks (seconds from arbitrary origins)."""

    wall: float
    cpu: float


class WorkClock:
    """Measures the work done between two :class:`Reading` s taken on the same thread.

    Args:
        counts_cpu: True (the CPU trains): the thread's CPU time, bounded by the wall time and by
            ``MAX_STRETCH``; False (a GPU trains): the wall time.
        wall, cpu: the clocks read (default ``time.perf_counter`` and ``time.thread_time``); tests give
            fake ones to play a neighbour's load without timing anything.
    """

    def __init__(
        self,
        counts_cpu: bool = True,
        *,
        wall: Callable[[], float] = time.perf_counter,
        cpu: Callable[[], float] = time.thread_time,
    ):
        self.counts_cpu = counts_cpu
        self.wall = wall
        self.cpu = cpu

    @classmethod
    def for_device(cls, device_type: str) -> WorkClock:
        """The clock for training on a device of this type ("cpu", "cuda", "mps")."""
        return cls(counts_cpu=device_type == "cpu")

    def read(self) -> Reading:
        return Reading(self.wall(), self.cpu())

    def work(self, since: Reading, until: Reading) -> float:
        """Seconds of work between the two readings."""
        wall = until.wall - since.wall
        if not self.counts_cpu:
            return wall
        return max(min(until.cpu - since.cpu, wall), wall / MAX_STRETCH)


def cpu_share(readings: list[Reading]) -> float:
    """The share of the wall time between the first and the last reading that the thread ran (1.0: it had
    a core to itself all along; 0.5: others took half of its time)."""
    wall = readings[-1].wall - readings[0].wall
    return min(1.0, (readings[-1].cpu - readings[0].cpu) / wall) if wall > 0 else 1.0
