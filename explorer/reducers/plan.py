"""One time budget for an image run: how many autoencoders, how many epochs, how many refinement batches.

The default image run trains autoencoders side by side (``ModelConfig.members``) and then refines the encoder on
augmented copies (DEC-DA's refinement, :func:`explorer.cluster.deep.refine`). Both cost the same per batch of
rows (a forward and a backward pass of every member), so one budget of work seconds (``ModelConfig.time_budget``,
counted by :mod:`explorer.reducers.clock`) pays for both, split by :func:`plan_run` from the speed measured in the
first epochs and re-made after each epoch:

- the refinement is kept to its batches or ``REFINE_SHARE`` of the budget, whichever costs less;
- the rest trains the members: as many of them as can each train ``MEMBER_EPOCHS`` epochs, never fewer than one,
  for as many epochs as fit. Three members keep apart the digits one alone sometimes folds together
  (docs/BENCHMARKS.md, small image sets), but only when each is trained long enough: on the 3,000-digit sample
  (seed 0, refined after), one autoencoder scored ACC 0.78 after 50 epochs and 0.85 after 120 (float32), two
  0.79 after 40, three 0.89 after 150 (bf16), and three trained about 300 epochs 0.915 (float32, 538 s on AVX2);
- what the training leaves (it stopped early, or its epochs ran out) goes to the refinement.

A budget that buys fewer than ``GOOD_BATCHES`` training batches is said to be short (:attr:`RunPlan.short`): the run's
notes say so, and what training the planned epochs would cost (``--epochs``).
"""

from __future__ import annotations

from dataclasses import dataclass

REFINE_SHARE = 0.3  # the refinement takes at most this share of the budget (MNIST-test's 60 s of 210 before)
MEMBER_EPOCHS = 100  # a second or third autoencoder only when each of them can train this many epochs
GOOD_BATCHES = 1500  # fewer training batches than this, all members together: the run says its budget was short
# (float32, one autoencoder: MNIST-test, 54 epochs of 32 batches, ACC 0.968; 29 epochs 0.824; the 3,000-digit sample,
# 120 epochs of 11 batches and its refinement, 0.853, where three autoencoders for ~300 epochs score 0.915)
MIN_EPOCHS = 10  # a plan never trains fewer (progress, early stopping and the best weights need a few)


@dataclass(frozen=True)
class RunBudget:
    """What a run may spend and what it would like to.

    Attributes:
        seconds: work seconds for the training and the refinement together.
        members: autoencoders side by side at most (``ModelConfig.members``).
        epochs: epochs at most (the schedule's: ``ModelConfig.epochs`` under ``max_examples``).
        refine_batches: the refinement's batches at most (0: no refinement follows).
        rows: rows an epoch trains on; with ``batch_size``, what one refinement batch costs against an epoch.
        batch_size: rows per batch (the training's and the refinement's).
    """

    seconds: float
    members: int = 1
    epochs: int = 100
    refine_batches: int = 0
    rows: int = 1
    batch_size: int = 256


@dataclass(frozen=True)
class RunPlan:
    """The split of a :class:`RunBudget` at the speed measured (``member_epoch``: work seconds of one member's
    epoch): ``members`` autoencoders for ``epochs`` epochs, then ``refine_batches`` batches of refinement, for
    which ``refine_seconds`` are kept."""

    members: int
    epochs: int
    refine_batches: int
    refine_seconds: float
    member_epoch: float
    short: bool  # fewer than GOOD_BATCHES training batches in all: expect clearly lower scores than a longer training's


def refine_batch_seconds(member_epoch: float, members: int, rows: int, batch_size: int) -> float:
    """Work seconds of one refinement batch of ``members`` autoencoders: a training batch's (rows / batch_size
    batches an epoch)."""
    return member_epoch * members * min(batch_size, rows) / max(rows, 1)


def plan_run(
    budget: RunBudget, member_epoch: float, spent: float = 0.0, done: int = 0, *, keep_members: bool = False
) -> RunPlan:
    """How to spend ``budget`` when one member's epoch takes ``member_epoch`` work seconds, after ``done`` epochs
    that took ``spent`` seconds: ``budget.members`` autoencoders or fewer (all of them with ``keep_members``)."""
    most = max(1, budget.members)
    floor = min(budget.epochs, MIN_EPOCHS)
    per = max(member_epoch, 1e-9)

    def split(m: int) -> tuple[float, int]:
        refine = min(
            budget.refine_batches * refine_batch_seconds(per, m, budget.rows, budget.batch_size),
            REFINE_SHARE * budget.seconds,
        )
        fit = done + int(max(budget.seconds - refine - spent, 0.0) / (m * per))
        return refine, max(done, floor, min(budget.epochs, fit))

    enough = min(budget.epochs, MEMBER_EPOCHS)
    chosen = most if keep_members else next((m for m in range(most, 1, -1) if split(m)[1] >= enough), 1)
    refine, epochs = split(chosen)
    batch = refine_batch_seconds(per, chosen, budget.rows, budget.batch_size)
    batches = min(budget.refine_batches, int(refine / batch)) if budget.refine_batches else 0
    short = chosen * epochs * -(-budget.rows // budget.batch_size) < GOOD_BATCHES and epochs < budget.epochs
    return RunPlan(chosen, epochs, batches, refine, member_epoch, short)
