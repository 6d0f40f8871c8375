"""What the Data page's buttons do: read an upload (or a sample) as a job capped at ``max_load_seconds``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.dashboard.workspace import JobKind

if TYPE_CHECKING:  # pragma: no cover
    from explorer.dashboard.jobs.job import Job
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.data import ImageOptions, TableOptions
    from explorer.limits import Limits


def start_load(
    ws: Workspace,
    manager: JobManager,
    load_key: tuple,
    data: Any,
    name: str,
    table: TableOptions | None,
    images: ImageOptions | None,
    limits: Limits,
    label: str,
) -> Job:
    """Read an upload with :func:`explorer.data.load`, as a job capped at ``max_load_seconds``; the
    dataset is put in use when it arrives (a failure is kept as ``ws.load_error`` for that upload).
    Stop cancels it (the loader checks it between images, batches of rows and columns, as it does its
    own ``max_load_seconds``); the dataset in use stays."""
    from explorer.data import load

    cap = min(float(limits.max_load_seconds), ws.job_allowance(limits, manager))
    job = ws.start(
        manager,
        JobKind.LOAD,
        lambda job: load(data, name=name, table=table, images=images, limits=limits, should_stop=job.should_stop),
        name=f"Reading {name}",
        max_seconds=cap,
        load_key=load_key,
        label=label,
    )
    job.grace_s = min(job.grace_s, cap)  # nothing to keep from a stopped load: cancel it soon after the cap
    ws.collect(manager)
    return job


TEXT_EMBEDDING_HELP = {
    "auto": "auto: WordLlama where its wheel is installed on this server, else TF-IDF + LSA.",
    "wordllama": "WordLlama: an offline embedding of the words' meanings (256-d, from its wheel; nothing is "
    "downloaded): texts that say the same thing in other words land near each other. It agreed best with the "
    "topics of news and the intents of bank queries.",
    "tfidf": "TF-IDF + LSA: the words the texts share, weighted by how rare they are, reduced to a few directions "
    "(scikit-learn; light, and explained in the same words it clusters on).",
}
TEXT_WEIGHT_HELP = (
    "How much a column of free text counts beside the other columns: 1 (the default) counts it as much as one "
    "standardized number, 2 as much as a number with twice the spread, 0.5 half. A table of text alone (documents) "
    "is clustered on its text whatever the weight."
)


def offered_text_embeddings() -> list[str]:
    """The text embeddings a dashboard offers (the CLI's ``--text-embedding`` choices): "auto", WordLlama where
    its wheel is installed on this server, TF-IDF + LSA. No model is named by a visitor."""
    from explorer.data.encoder_text import TEXT_EMBEDDINGS
    from explorer.data.text_models import WORDLLAMA, wordllama_folder

    return [e for e in TEXT_EMBEDDINGS if e != WORDLLAMA or wordllama_folder() is not None]


def describe_text_embedding(choice: str) -> str:
    """How a page names a text embedding ("auto" says what it stands for on this server)."""
    from explorer.data.encoder_text import EMBEDDING_LABELS, resolve_embedding

    if choice == "auto":
        return f"auto ({EMBEDDING_LABELS[resolve_embedding('auto')]})"
    return EMBEDDING_LABELS.get(choice, choice)


def text_columns(rows: Any, summary: Any, columns: Any = None) -> list[str]:
    """The columns of a table preview ``rows`` (a DataFrame; ``summary`` its column summary, with "kind") that the
    loader will take as free text (:func:`explorer.data.encoder_text.looks_like_text`), among ``columns`` (all
    when None)."""
    from explorer.data.encoder_text import looks_like_text

    kinds = dict(zip(summary["column"].astype(str), summary["kind"], strict=True))
    wanted = None if columns is None else {str(c) for c in columns}
    return [
        str(c)
        for c in rows.columns
        if kinds.get(str(c)) == "text" and (wanted is None or str(c) in wanted) and looks_like_text(rows[c])
    ]
