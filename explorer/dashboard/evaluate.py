"""Which runs the Evaluate page can compare: this session's runs, the saved run being viewed, and (where
the server lists them) the saved runs, as one list of typed choices; the comparison itself is
:func:`explorer.compare.compare_runs`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.compare import RunComparison
    from explorer.pipeline import RunResult

RunSource = Literal["session", "viewed", "saved"]
SOURCE_WORDS = {"session": "this session", "viewed": "viewing", "saved": "saved"}


@dataclass(frozen=True)
class RunChoice:
    """One run that can be compared.

    Attributes:
        key: unique among the choices: ``session:<run key>``, ``viewed:<run id>`` or ``saved:<run id>``.
        source: where the run is: this session's workspace, the saved run viewed read-only, the runs folder.
        ref: what finds the run there: the workspace's run key, or the run id.
        rows: rows the run clustered (runs of the same data have the same number).
        label: how the run is named in a picker (plain text; may hold a user's dataset name).
        run_id: the saved run's id, when it was saved.
    """

    key: str
    source: RunSource
    ref: str
    rows: int
    label: str
    run_id: str | None = None


def _label(data: str, method: str, k: Any, model: str, source: RunSource, run_id: str | None) -> str:
    tag = f" {run_id[:8]}" if run_id else ""
    return f"{data} · {method}, k {k} · {model} · {SOURCE_WORDS[source]}{tag}"


def comparable_runs(
    session_runs: Mapping[str, RunResult], viewed: RunResult | None = None, saved: Sequence[Mapping[str, Any]] = ()
) -> list[RunChoice]:
    """Every run that can be picked for a comparison: the session's runs (newest first), the viewed
    saved run, then the saved runs (summaries from :func:`explorer.runs.files.list_runs`) not listed already."""
    out: list[RunChoice] = []
    seen: set[str] = set()

    def add(choice: RunChoice) -> None:
        if choice.run_id is not None and choice.run_id in seen:
            return
        if choice.run_id is not None:
            seen.add(choice.run_id)
        out.append(choice)

    for key, run in reversed(list(session_runs.items())):
        add(
            RunChoice(
                f"session:{key}",
                "session",
                key,
                run.dataset.n,
                _label(
                    run.dataset.name, run.clusters.method, run.clusters.k, run.config.model.kind, "session", run.run_id
                ),
                run.run_id,
            )
        )
    if viewed is not None and viewed.run_id:
        add(
            RunChoice(
                f"viewed:{viewed.run_id}",
                "viewed",
                viewed.run_id,
                viewed.dataset.n,
                _label(
                    viewed.dataset.name,
                    viewed.clusters.method,
                    viewed.clusters.k,
                    viewed.config.model.kind,
                    "viewed",
                    viewed.run_id,
                ),
                viewed.run_id,
            )
        )
    for summary in saved:
        run_id = str(summary.get("run_id"))
        dataset, pipeline = summary.get("dataset") or {}, summary.get("pipeline") or {}
        add(
            RunChoice(
                f"saved:{run_id}",
                "saved",
                run_id,
                int(dataset.get("n") or 0),
                _label(
                    str(summary.get("name") or dataset.get("name") or "?"),
                    str((pipeline.get("cluster") or {}).get("method", "?")),
                    (summary.get("metrics") or {}).get("k", "?"),
                    str((pipeline.get("model") or {}).get("kind", "?")),
                    "saved",
                    run_id,
                ),
                run_id,
            )
        )
    return out


def same_rows(choices: Sequence[RunChoice], first: RunChoice) -> list[RunChoice]:
    """The choices other than ``first`` with as many rows as it: the candidates for run B (whether the
    rows are the same ones is checked by their ids when the runs are compared)."""
    return [c for c in choices if c.key != first.key and c.rows == first.rows]


def choice_of(
    choices: Sequence[RunChoice], run: RunResult | None, session_runs: Mapping[str, RunResult]
) -> RunChoice | None:
    """The choice that is ``run`` (the run on show), if it is among them."""
    if run is None:
        return None
    for c in choices:
        if (c.source == "session" and session_runs.get(c.ref) is run) or (
            run.run_id is not None and run.run_id == c.run_id
        ):
            return c
    return None


def pairs_table(found: RunComparison) -> pd.DataFrame:
    """The matched pairs as a table: A's cluster, B's, rows in both, Jaccard, the share of each cluster."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "A": found.name_a(p.a),
                "B": found.name_b(p.b),
                "rows": p.rows,
                "Jaccard": p.jaccard,
                "share of A's cluster": p.share_of_a,
                "share of B's cluster": p.share_of_b,
            }
            for p in found.pairs
        ],
        columns=["A", "B", "rows", "Jaccard", "share of A's cluster", "share of B's cluster"],
    )
