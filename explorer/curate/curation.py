"""Curation with history: a person turns a run's clusters into the ones they want.

A :class:`Curation` holds the run's original labels and a history of edits, each a :class:`Step`:

- ``recluster(rows or cluster)``: those rows clustered again (any registered method; k by stability when
  not given) into sub-clusters with new ids (reclustering a whole cluster, its largest part keeps its id);
- ``split(cluster)``: the same on one cluster, recorded as a split;
- ``merge(into, *others)``: the others' rows join ``into``, their ids are gone;
- ``rename(cluster, name)``.

Cluster ids stay as the person saw them (a merge leaves a gap, a split adds ``max + 1`` onwards), so an edit
names the clusters the history shows; :func:`explorer.curate.store.curated_result` numbers them
``0..k-1`` for the rest of the library. Every step keeps the labels and names after it, so
:meth:`Curation.undo` restores the previous ones exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from explorer.cluster.methods import cluster
from explorer.cluster.registry import method_labels, specs
from explorer.cluster.types import ClusterConfig, label_counts
from explorer.errors import InputError
from explorer.explain.names import clean_name

RECLUSTER_K_RANGE = (2, 8)  # k by stability for a recluster: from 2 to this many sub-clusters
RECLUSTER_METHOD = "kmeans"  # the default method of a recluster: seconds at 10,000 rows (n2d would run a UMAP)
MIN_RECLUSTER_ROWS = 4  # fewer rows than this cannot be clustered again
STEP_KINDS = ("recluster", "split", "merge", "rename")


def recluster_methods() -> dict[str, str]:
    """name -> label of the registered methods a recluster or a split can use: those fitted on the run's latent
    space alone (DEC and IDEC train the model further, which a curation does not)."""
    labels = method_labels()
    return {s.name: labels[s.name] for s in specs() if s.fit is not None and not s.refines_model}


@dataclass
class Step:
    """One edit: kind (``STEP_KINDS``), what it did in JSON-ready ``detail`` (the clusters, the method and k,
    the rows moved), when (ISO time, UTC), and the state after it: ``labels`` (n,) int64 and ``names``."""

    kind: str
    detail: dict[str, Any]
    labels: np.ndarray
    names: dict[int, str]
    when: str = ""

    def sentence(self) -> str:
        """The edit in words, for a history list."""
        d = self.detail
        if self.kind == "merge":
            return f"merged {', '.join(map(str, d['merged']))} into {d['into']} ({d['rows']:,} rows)"
        if self.kind == "rename":
            return f"renamed {d['cluster']} to {d['name']!r}"
        what = f"cluster {d['cluster']}" if d.get("cluster") is not None else f"{d['rows']:,} selected rows"
        verb = "split" if self.kind == "split" else "reclustered"
        return (
            f"{verb} {what} into {len(d['new'])} ({d['method']}, k {d['k']}{' by stability' if d['k_chosen'] else ''})"
        )


@dataclass
class Curation:
    """A run's labels as curated: ``original`` (n,) int64 (the run's, -1 noise), ``original_names`` (cluster
    -> name, from the run's explanation when it has one) and the ``steps`` taken. ``Z`` (n, d), the space the
    run clustered, is needed to recluster and split (not saved: it is the run's)."""

    original: np.ndarray
    original_names: dict[int, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    Z: np.ndarray | None = None
    seed: int | None = 0

    @classmethod
    def of(cls, run: Any) -> Curation:
        """A new curation of ``run`` (a RunResult): its labels and names, nothing edited yet."""
        names = run.explanation.names if run.explanation is not None else {}
        return cls(
            np.asarray(run.labels, np.int64).copy(),
            {int(c): str(v) for c, v in names.items()},
            Z=np.asarray(run.Z),
            seed=run.config.seed,
        )

    @property
    def labels(self) -> np.ndarray:
        """(n,) int64: the labels now (a copy)."""
        return (self.steps[-1].labels if self.steps else self.original).copy()

    @property
    def names(self) -> dict[int, str]:
        """cluster -> name now, for the clusters that have one."""
        return dict(self.steps[-1].names if self.steps else self.original_names)

    @property
    def clusters(self) -> list[int]:
        """The cluster ids now, ascending (noise, -1, left out)."""
        return [int(c) for c in label_counts(self._current())[0] if c >= 0]

    def _current(self) -> np.ndarray:
        return self.steps[-1].labels if self.steps else self.original

    def _check(self, c: int) -> int:
        if int(c) not in self.clusters:
            raise InputError(f"no cluster {c} now; the clusters are {self.clusters}.")
        return int(c)

    def _push(self, kind: str, detail: dict[str, Any], labels: np.ndarray, names: dict[int, str]) -> Step:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        step = Step(kind, detail, labels.astype(np.int64), {int(k): v for k, v in names.items()}, when)
        self.steps.append(step)
        return step

    # -- edits -----------------------------------------------------------------------------------------------
    def merge(self, into: int, *others: int) -> Step:
        """The rows of ``others`` join cluster ``into`` (which keeps its id and name)."""
        into = self._check(into)
        merged = [self._check(c) for c in others if int(c) != into]
        if not merged:
            raise InputError("merge needs two different clusters or more.")
        labels = self.labels
        moved = np.isin(labels, merged)
        labels[moved] = into
        names = {c: v for c, v in self.names.items() if c not in merged}
        return self._push("merge", {"into": into, "merged": merged, "rows": int(moved.sum())}, labels, names)

    def rename(self, c: int, name: str) -> Step:
        """Name cluster ``c`` (the name made plain text, :func:`explorer.explain.names.clean_name`; empty:
        the name is taken away)."""
        c = self._check(c)
        names = self.names
        text = clean_name(name)
        if text:
            names[c] = text
        else:
            names.pop(c, None)
        return self._push("rename", {"cluster": c, "name": text}, self.labels, names)

    def split(self, c: int, *, method: str = RECLUSTER_METHOD, k: int | None = None) -> Step:
        """Cluster ``c`` along its sub-clusters: :meth:`recluster` of its rows, recorded as a split."""
        return self._recluster(self._check(c), method, k, "split")

    def recluster(
        self, target: int | Sequence[int] | np.ndarray, *, method: str = RECLUSTER_METHOD, k: int | None = None
    ) -> Step:
        """Cluster again the rows of cluster ``target`` (an int) or the rows ``target`` (indices (m,), or a
        (n,) bool mask) with ``method`` (a registered one) and ``k`` sub-clusters (None: k by stability,
        from ``RECLUSTER_K_RANGE``). Each sub-cluster gets a new id; a whole cluster's largest keeps its id."""
        if isinstance(target, (int, np.integer)):
            return self._recluster(self._check(int(target)), method, k, "recluster")
        rows = np.asarray(target)
        if rows.dtype == bool:
            if rows.shape != self.original.shape:
                raise InputError(f"a row mask has {len(self.original)} entries; got {rows.shape}.")
            rows = np.flatnonzero(rows)
        rows = np.unique(rows.astype(np.int64))
        if len(rows) and (rows[0] < 0 or rows[-1] >= len(self.original)):
            raise InputError(f"rows must be between 0 and {len(self.original) - 1}.")
        return self._recluster_rows(rows, None, method, k, "recluster")

    def _recluster(self, c: int, method: str, k: int | None, kind: str) -> Step:
        return self._recluster_rows(np.flatnonzero(self._current() == c), c, method, k, kind)

    def _recluster_rows(self, rows: np.ndarray, c: int | None, method: str, k: int | None, kind: str) -> Step:
        if self.Z is None:
            raise InputError("reclustering needs the run's latent space: make the curation with Curation.of(run).")
        if method not in recluster_methods():
            raise InputError(
                f"a recluster or a split uses one of the methods {', '.join(recluster_methods())}; got {method!r}."
            )
        if len(rows) < MIN_RECLUSTER_ROWS:
            raise InputError(f"{len(rows)} rows are too few to cluster again; at least {MIN_RECLUSTER_ROWS}.")
        high = min(RECLUSTER_K_RANGE[1], len(rows) - 1)
        cfg = ClusterConfig(
            method=method,
            k=k,
            k_criterion="stability" if k is None else None,
            k_range=(RECLUSTER_K_RANGE[0], max(RECLUSTER_K_RANGE[0], high)),
            random_state=self.seed,
        )
        result = cluster(self.Z[rows], cfg)
        sub = np.asarray(result.labels, np.int64)
        parts = [int(p) for p in np.unique(sub) if p >= 0]
        sizes = {p: int((sub == p).sum()) for p in parts}
        parts.sort(key=lambda p: (-sizes[p], p))  # the largest first: it keeps a split cluster's id
        labels = self.labels
        used = set(np.unique(np.concatenate([self.original, *(s.labels for s in self.steps)])).tolist())
        next_id = max([-1, *used]) + 1  # an id never used before in this history, so none is confused
        new: list[int] = []
        for j, p in enumerate(parts):
            cid = c if (c is not None and j == 0) else next_id
            next_id += cid == next_id
            labels[rows[sub == p]] = cid
            new.append(cid)
        if (sub < 0).any():
            labels[rows[sub < 0]] = -1
        detail = {
            "cluster": c,
            "rows": len(rows),
            "method": method,
            "k": int(result.k),
            "k_chosen": k is None,
            "new": new,
            "sizes": [sizes[p] for p in parts],
        }
        return self._push(kind, detail, labels, self.names)

    def undo(self) -> Step:
        """Take back the last edit: the labels and names are again exactly those before it. Returns it."""
        if not self.steps:
            raise InputError("nothing to undo.")
        return self.steps.pop()

    def history(self) -> list[str]:
        """Each step in words, oldest first."""
        return [s.sentence() for s in self.steps]
