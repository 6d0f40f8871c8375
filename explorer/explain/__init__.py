"""Explain every cluster of a run: what it is, what sets it apart, its rule, its name, its typical and
borderline members, and whether it would come back on another run. All label-free.

    from explorer.explain import explain
    ex = explain(result)               # result: a RunResult from run_pipeline or load_run
    ex.clusters[0].name, ex.clusters[0].distinctions[:3], ex.rules.fidelity, ex.stability.jaccard

Modules: :mod:`.profiles` (profiles in the data's units and the separation of every column),
:mod:`.rules` (a surrogate decision tree read as one rule per cluster), :mod:`.names` (short names from
the top distinctions), :mod:`.members` (margins, runner-ups, typical and borderline members),
:mod:`.resample` (per-cluster stability, Hennig's clusterboot), :mod:`.images` (mean images).
What is explained: for tables, the columns as read (before scaling and one-hot); for embeddings, the
extra columns of the file if it has some; for images, the pictures (mean images, typical and borderline
members). Latent codes and a pretrained encoder's features have no meaning a person can read: an explanation
on them (``on`` "latent" or "features") keeps its surrogate tree (``rules``, its fidelity) and its profiles, but no
cluster carries a rule or "what sets it apart" there (:func:`explorer.explain.rules.has_meaning`).
Saved in a run folder as ``explain.json`` + ``explain_points.parquet`` (:mod:`explorer.runs.files`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.cluster.registry import spec
from explorer.data.encoder_dates import DAY_NS, SpanColumn, parse_dates
from explorer.errors import InputError
from explorer.events import StopCheck
from explorer.explain import profiles as _profiles
from explorer.explain.members import Membership, membership, typical_and_borderline
from explorer.explain.names import auto_names
from explorer.explain.profiles import ClusterProfile, Distinction
from explorer.explain.resample import (
    DOUBTFUL,
    FRACTION,
    RESAMPLES,
    UNSTABLE,
    ClusterStability,
    cluster_stability,
    refitter,
    stability_level,
)
from explorer.explain.rules import RuleSet, has_meaning, meaning_sentence, surrogate_rules
from explorer.reducers.config import PRETRAINED
from explorer.validation import Optional, Whole, check_params

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult

EXPLAIN_FORMAT = 1
EXPLAIN_CONSTRAINTS = {
    "members": Whole(1, 100),
    "resamples": Whole(0, 500),
    "rule_depth": Optional(Whole(1, 12), "by k"),
    "random_state": Whole(0),
}

__all__ = ["ExplainConfig", "Explanation", "ClusterExplanation", "explain", "explained_columns", "UNSTABLE", "DOUBTFUL"]


@dataclass
class ExplainConfig:
    """How much to compute. ``members``: typical and borderline rows listed per cluster;
    ``resamples``: subsamples for the stability (0: no stability); ``rule_depth``: None = by k."""

    members: int = 8
    resamples: int = RESAMPLES
    fraction: float = FRACTION
    rule_depth: int | None = None
    random_state: int = 0

    def validate(self) -> None:
        check_params(self, EXPLAIN_CONSTRAINTS)
        if not 0.1 <= self.fraction < 1.0:
            raise InputError("fraction must be in [0.1, 1): the share of rows drawn per resample.")


@dataclass
class ClusterExplanation:
    """One cluster, explained: ``name`` (as edited; ``auto_name`` as made), size and share, the
    columns that set it apart (most first), its rule, its stability (Jaccard; None when not computed)
    and the row indices of its typical and borderline members."""

    cluster: int
    name: str
    auto_name: str
    size: int
    share: float
    distinctions: list[Distinction] = field(default_factory=list)
    rule: str | None = None
    rule_precision: float | None = None
    rule_coverage: float | None = None
    jaccard: float | None = None
    typical: list[int] = field(default_factory=list)
    borderline: list[int] = field(default_factory=list)

    @property
    def stability(self) -> str | None:
        """ "stable", "doubtful" (a pattern whose members would change) or "unstable"; None if not measured."""
        return stability_level(self.jaccard)

    @property
    def flagged(self) -> bool:
        return self.stability in ("doubtful", "unstable")


@dataclass
class Explanation:
    clusters: list[ClusterExplanation]
    profiles: list[ClusterProfile]
    rules: RuleSet | None
    stability: ClusterStability | None
    points: Membership  # per row: runner_up, margin, distance
    columns: list[str]  # the columns explained ([] for images without extra columns)
    on: str  # "columns" | "latent" | "features": what the rules and profiles are written in (rules.SPACES)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def meaning(self) -> str:
        """'' when the clusters are explained in the data's columns; else the sentence that says their space has
        no meaning a person can read and that the typical and borderline members carry it."""
        return meaning_sentence(self.on)

    @property
    def names(self) -> dict[int, str]:
        return {c.cluster: c.name for c in self.clusters}

    def cluster(self, c: int) -> ClusterExplanation:
        for x in self.clusters:
            if x.cluster == c:
                return x
        raise KeyError(f"no cluster {c}")

    def rename(self, names: dict[int, str]) -> None:
        """Set names given by a person (empty: back to the automatic name); names stay unique."""
        from explorer.explain.names import clean_name

        for x in self.clusters:
            if x.cluster in names:
                x.name = clean_name(names[x.cluster]) or x.auto_name

    def points_frame(self) -> pd.DataFrame:
        """Per row: runner-up cluster, margin, and co-assignment (the stability of its membership)."""
        import pandas as pd

        co = (
            self.stability.co_assignment
            if self.stability is not None
            else np.full(len(self.points.margin), np.nan, np.float32)
        )
        return pd.DataFrame(
            {"runner_up": self.points.runner_up, "margin": self.points.margin, "co_assignment": co.astype(np.float32)}
        )

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "format": EXPLAIN_FORMAT,
            "on": self.on,
            "columns": list(self.columns),
            "seconds": self.seconds,
            "clusters": [asdict(c) for c in self.clusters],
            "profiles": [_profiles.to_dict(p) for p in self.profiles],
            "rules": self.rules.to_dict() if self.rules is not None else None,
            "stability": self.stability.to_dict() if self.stability is not None else None,
            "membership_source": self.points.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], points: pd.DataFrame, labels: np.ndarray) -> Explanation:
        """Back from ``to_dict`` and ``points_frame`` (as saved in a run folder)."""
        clusters = []
        for c in d["clusters"]:
            c = dict(c)
            c["distinctions"] = [Distinction(**x) for x in c.get("distinctions", [])]
            clusters.append(_readable(ClusterExplanation(**c), d.get("on", "columns")))
        st = d.get("stability")
        stability = None
        if st is not None:
            stability = ClusterStability(
                {int(c): (float("nan") if j is None else float(j)) for c, j in st["jaccard"].items()},
                points["co_assignment"].to_numpy(np.float32),
                int(st["resamples"]),
                float(st["fraction"]),
                st["method"],
            )
        m = Membership(
            points["runner_up"].to_numpy(np.int64),
            points["margin"].to_numpy(np.float32),
            np.full(len(labels), np.nan, np.float32),
            d.get("membership_source", "distances"),
        )
        return cls(
            clusters,
            [_profiles.from_dict(p) for p in d.get("profiles", [])],
            RuleSet.from_dict(d["rules"]) if d.get("rules") else None,
            stability,
            m,
            list(d.get("columns", [])),
            d.get("on", "columns"),
            dict(d.get("seconds", {})),
        )


def explained_columns(result: RunResult) -> tuple[pd.DataFrame | None, list[str]]:
    """(the rows as read, restricted to the columns that are explained; the categorical ones among
    them), or (None, []) when the data has no such columns (images, bare embeddings). For tables: the
    columns the features were made from; for embeddings: the file's extra columns, less any that hold
    the labels or the ids (labels are for evaluation only)."""
    ds = result.dataset
    table = ds.table
    if table is None:
        return None, []
    if ds.kind == "table":
        features = set(ds.feature_names)
        made = ds.report.transformed
        dates = [c for c in table.columns if made.get(c, "").startswith(("dates", "times of day"))]
        cols = [
            c
            for c in table.columns
            if c in features or c in ds.report.encoded or c in dates or made.get(c, "").startswith("free text")
        ]
        frame = table[cols]
        if dates:
            frame = frame.assign(**{c: _as_time(table[c]) for c in dates})
        # a span between two dates is explained in days, as a number
        spans = [c for c in getattr(ds.table_encoder, "columns_", []) if isinstance(c, SpanColumn)]
        frame = frame.assign(**{s.feature_names()[0]: s.days_between(table) for s in spans}) if spans else frame
        return frame, [c for c in cols if c in ds.report.encoded]
    cols = []
    for c in table.columns:
        values = table[c].astype(str).to_numpy()
        if (
            ds.labels is not None
            and len(values) == len(ds.labels)
            and (values == np.asarray(ds.labels).astype(str)).all()
        ):
            continue
        if len(values) == len(ds.ids) and (values == np.asarray(ds.ids).astype(str)).all():
            continue
        cols.append(c)
    return (table[cols], []) if cols else (None, [])


def _as_time(series: pd.Series) -> pd.Series:
    """A date column as datetime64 (explained in dates), a time-of-day column as hours since midnight."""
    import pandas as pd

    values, time_of_day = parse_dates(series)
    if time_of_day:
        return pd.Series(values, index=series.index)
    return pd.Series(pd.to_datetime(values * DAY_NS, unit="ns"), index=series.index)  # NaN -> NaT


def _readable(c: ClusterExplanation, on: str) -> ClusterExplanation:
    """``c`` without its rule and its distinctions where ``on`` has no meaning a person can read (latent codes, an
    encoder's features: :func:`explorer.explain.rules.has_meaning`); as it is otherwise."""
    if has_meaning(on):
        return c
    return replace(c, distinctions=[], rule=None, rule_precision=None, rule_coverage=None)


def _latent_frame(Z: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(np.asarray(Z, np.float32), columns=[f"z{i + 1}" for i in range(Z.shape[1])])


def explain(
    result: RunResult,
    cfg: ExplainConfig | None = None,
    *,
    names: dict[int, str] | None = None,
    should_stop: StopCheck | None = None,
) -> Explanation:
    """Explain the clusters of ``result`` (see the module docstring); ``names``: names a person gave
    (cluster -> name) to keep. Stability re-clusters ``cfg.resamples`` subsamples of the space the run
    clustered (:mod:`.resample`); ``should_stop`` ends that early."""
    cfg = cfg or ExplainConfig()
    cfg.validate()
    seconds: dict[str, float] = {}
    labels = np.asarray(result.labels)
    c = result.clusters
    clusters = [int(x) for x in np.unique(labels) if x >= 0]

    t = time.perf_counter()
    frame, categorical = explained_columns(result)
    on = "columns" if frame is not None else "features" if result.config.model.kind == PRETRAINED else "latent"
    if frame is None:
        frame = _latent_frame(result.Z)
    transformed = result.dataset.report.transformed if on == "columns" else {}
    text = [c for c in frame.columns if transformed.get(c, "").startswith("free text")]  # explained by their words
    profiles = _profiles.profile_clusters(
        frame, labels, categorical=categorical, text=text, random_state=cfg.random_state
    )
    seconds["profiles"] = time.perf_counter() - t

    t = time.perf_counter()
    # the rules split numbers and levels, not words
    rules = surrogate_rules(
        frame.drop(columns=text),
        labels,
        categorical=categorical,
        depth=cfg.rule_depth,
        on=on,
        random_state=cfg.random_state,
    )
    seconds["rules"] = time.perf_counter() - t

    t = time.perf_counter()
    space = c.embedding if (spec(c.method).embeds and c.embedding is not None) else result.Z
    centers = None if space is not result.Z else c.centers
    m = membership(space, labels, centers, c.proba, clusters)
    seconds["members"] = time.perf_counter() - t

    stability = None
    if cfg.resamples and len(clusters) >= 2:
        t = time.perf_counter()
        groups = result.dataset.categorical_groups() if result.reducer is None else ()  # Z is then the features
        fit, what = refitter(replace(result.config.cluster, method=c.method), len(clusters), groups)
        stability = cluster_stability(
            space,
            labels,
            fit,
            method=what,
            resamples=cfg.resamples,
            fraction=cfg.fraction,
            random_state=cfg.random_state,
            should_stop=should_stop,
        )
        seconds["stability"] = time.perf_counter() - t

    by_profile = {p.cluster: p for p in profiles}
    made = auto_names(
        {k: by_profile[k].distinctions for k in clusters if k in by_profile},
        {k: by_profile[k].size for k in clusters if k in by_profile},
        on=on,
    )
    out = []
    for k in clusters:
        p = by_profile.get(k)
        rule = rules.by_cluster.get(k) if rules is not None else None
        typical, borderline = typical_and_borderline(labels, m, k, cfg.members)
        out.append(
            _readable(
                ClusterExplanation(
                    cluster=k,
                    name=made[k],
                    auto_name=made[k],
                    size=p.size if p else int((labels == k).sum()),
                    share=p.share if p else float((labels == k).mean()),
                    distinctions=p.distinctions if p else [],
                    rule=rule.text if rule else None,
                    rule_precision=rule.precision if rule else None,
                    rule_coverage=rule.coverage if rule else None,
                    jaccard=None if stability is None else stability.jaccard.get(k),
                    typical=typical,
                    borderline=borderline,
                ),
                on,
            )
        )
    ex = Explanation(out, profiles, rules, stability, m, list(frame.columns) if on == "columns" else [], on, seconds)
    if names:
        ex.rename(names)
    return ex
