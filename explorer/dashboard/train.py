"""What the Train page does: fit the representation as a job within the session's training budget, and
the training curve read from the job's progress events."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from explorer.dashboard.workspace import JobKind

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.events import Progress
    from explorer.limits import Limits
    from explorer.pipeline import PipelineConfig


def with_time_cap(
    cfg: PipelineConfig, ws: Workspace, limits: Limits, manager: JobManager | None = None
) -> PipelineConfig:
    """``cfg`` with the training time the session may still spend (the run's cap, or what is left of
    the session's and its client's budgets); a spent budget raises LimitError."""
    return replace(cfg, model=replace(cfg.model, max_seconds=ws.training_allowance(limits, manager)))


def start_training(ws: Workspace, manager: JobManager, cfg: PipelineConfig, limits: Limits) -> Job:
    """Fit the representation ``cfg.model`` names on the session's data, as a job; the model is kept
    under its settings (the time cap left out: it only says when to stop)."""
    from explorer.device import resolve_device
    from explorer.pipeline import fit_representation

    ds = ws.dataset_in_use()
    device = resolve_device(cfg.device).name
    capped = with_time_cap(cfg, ws, limits, manager)
    cap = ws.job_allowance(limits, manager)
    job = ws.start(
        manager,
        JobKind.TRAIN,
        lambda job: fit_representation(ds, capped, device, job.emit, job.should_stop),
        name=f"Training {cfg.model.kind}",
        device=device,
        model_key=ws.model_key(cfg),
        trains=True,
        max_seconds=cap,
    )
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once
    return job


def encoder_options(environ: dict[str, str] | None = None) -> dict[str, tuple[str, str | None]]:
    """The frozen image encoders this dashboard offers, by the name the Train page shows: (encoder, weights
    file). Only the built-in ones and those the operator lists in ``EXPLORER_ENCODERS``
    (:mod:`explorer.reducers.encoders`): a visitor never types a model name or a path, and nothing is downloaded."""
    from explorer.reducers.encoders import describe, offered_encoders

    return {describe(spec): (spec.label, spec.weights) for spec in offered_encoders(environ)}


def loss_history(events: Sequence[Progress]) -> tuple[list[dict], int | None]:
    """The training epochs among a job's progress events as history records ``{"epoch", "loss",
    "val_loss"}`` (what :func:`explorer.display.charts.loss_curve` draws), and the planned number of epochs."""
    history = [
        {"epoch": e.epoch, "loss": e.loss, "val_loss": e.val_loss}
        for e in events
        if e.stage == "train" and e.loss is not None
    ]
    planned = next((e.epochs for e in reversed(events) if e.stage == "train" and e.epochs), None)
    return history, planned


def text_in_use(dataset: object) -> str | None:
    """A sentence on how the data's free text became features (the embedding and the weight chosen on the Data
    page, as the CLI's --text-embedding and --text-weight), or None for data without a text column."""
    from explorer.data.encoder import TableEncoder
    from explorer.data.encoder_text import EMBEDDING_LABELS, TextColumn

    encoder = getattr(dataset, "table_encoder", None)
    texts = [c for c in getattr(encoder, "columns_", None) or [] if isinstance(c, TextColumn)]
    if not isinstance(encoder, TableEncoder) or not texts:
        return None
    names = ", ".join(f"'{c.name}'" for c in texts)
    used = ", ".join(sorted({EMBEDDING_LABELS.get(c.embedding, c.embedding) for c in texts}))
    weight = "" if encoder.documents_ else f", weight {encoder.text_weight:g}"
    return f"Free text {names}: {used}{weight} (chosen on the Data page; change it there and the data are read again)."
