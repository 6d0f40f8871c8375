"""A readable rule per cluster: a shallow decision tree trained to predict the clusters from the
original columns, read back as one rule per cluster in the data's units.

The tree is a surrogate: it explains the clustering, not the data, and its **fidelity** (the share of
rows where the tree's prediction is the row's cluster) says how far to trust its rules. Clusters found
in a learned or projected space are often not boxes in the original columns; a low fidelity says so
plainly rather than presenting the rules as the truth. Numbers keep their missing values (scikit-learn's
trees send them down a branch of their own choosing, and the rule says "or missing"); categories
become one indicator per level ("channel = branch").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.explain.profiles import MISSING, column_kinds, column_values, number
from explorer.sampling import sample_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

RULE_SAMPLE = 50_000  # the tree is fitted on at most this many rows (seeded)
SPACES = {  # what an explanation's rules and profiles are written in (``RuleSet.on``, ``Explanation.on``)
    "columns": "the table's columns",
    "latent": "the model's latent codes (z1, z2, ...)",
    "features": "the pretrained image encoder's features (z1, z2, ...)",
}
LOW_FIDELITY = 0.8  # below this the rules are called rough guides
MAX_LEVEL_INDICATORS = 30  # categorical columns with more levels than this: the most frequent ones


@dataclass
class Rule:
    """The tree's largest leaf for one cluster: its conditions, how pure it is (``precision``: the
    share of rows matching the rule that are in the cluster) and how much of the cluster it holds
    (``coverage``)."""

    cluster: int
    conditions: list[str]
    precision: float
    coverage: float
    support: int  # rows matching the rule

    @property
    def text(self) -> str:
        return " and ".join(self.conditions) if self.conditions else "every row"


@dataclass
class RuleSet:
    rules: list[Rule]
    fidelity: float  # share of rows where the tree's prediction is the row's cluster
    depth: int
    on: str  # what the rules are written in: a key of SPACES (the table's columns, a model's codes, an encoder's)
    note: str = ""
    by_cluster: dict[int, Rule] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_cluster = {r.cluster: r for r in self.rules}

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [asdict(r) for r in self.rules],
            "fidelity": self.fidelity,
            "depth": self.depth,
            "on": self.on,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleSet:
        return cls([Rule(**r) for r in d["rules"]], float(d["fidelity"]), int(d["depth"]), d["on"], d.get("note", ""))


def has_meaning(on: str) -> bool:
    """The one rule for features without meaning: only the data's own columns carry a meaning a person can read.
    A model's latent codes and a pretrained encoder's features do not: a rule such as ``z258 <= 0.03`` on them is
    true but says nothing, so an explanation on them shows no rules and no "what sets it apart" (the typical and
    borderline members carry the meaning: :func:`meaning_sentence`)."""
    return on == "columns"


def space_words(on: str) -> str:
    """What ``on`` (an explanation's space) is, in words."""
    return SPACES.get(on, SPACES["latent"])


def meaning_sentence(on: str) -> str:
    """'' for an explanation in the data's columns; else the sentence that says, plainly, that the space the
    clusters were found in has no meaning a person can read and where the meaning is instead."""
    if has_meaning(on):
        return ""
    members = "photos" if on == "features" else "members"
    return (
        f"These clusters were found in {space_words(on)}, which have no meaning a person can read: a rule or a "
        "difference on them (such as 'z7 <= 0.03') would be true but say nothing, so none is shown. "
        f"The typical {members} (nearest each cluster's centre) and the borderline ones (nearest another "
        "cluster) carry the meaning: look at them."
    )


def rule_depth(k: int) -> int:
    """Deep enough to give every cluster a leaf of its own, shallow enough to read."""
    return int(min(6, max(3, math.ceil(math.log2(max(k, 2))) + 1)))


def _design(frame: pd.DataFrame, categorical: Sequence[str]) -> tuple[np.ndarray, list[tuple[str, str, str | None]]]:
    """(X float64 with NaN, one (column, kind, level) per X column)."""
    numeric, categories = column_kinds(frame, categorical)
    parts: list[np.ndarray] = []
    names: list[tuple[str, str, str | None]] = []
    for col in numeric:
        parts.append(column_values(frame[col]))  # dates as days since 1970-01-01
        names.append((col, "numeric", None))
    for col in categories:
        raw = frame[col]
        text = raw.astype(str).where(~raw.isna(), MISSING)
        for level in text.value_counts().index[:MAX_LEVEL_INDICATORS]:
            parts.append((text == level).to_numpy(dtype=np.float64))
            names.append((col, "level", str(level)))
    X = np.column_stack(parts) if parts else np.zeros((len(frame), 0))
    # the tree works in float32 and takes missing values, not infinite ones: a value that is infinite (or
    # beyond float32's range, 1e308) reads as missing
    X[np.abs(X) >= np.finfo(np.float32).max] = np.nan
    return X, names


def _path_conditions(
    tree: Any, leaf: int, names: list[tuple[str, str, str | None]], has_missing: np.ndarray
) -> list[str]:
    """The conditions from the root to ``leaf``, merged per column (one range per number)."""
    t = tree.tree_
    parent = {}
    for node in range(t.node_count):
        for child, side in ((t.children_left[node], "left"), (t.children_right[node], "right")):
            if child >= 0:
                parent[child] = (node, side)
    steps = []
    node = leaf
    while node in parent:
        up, side = parent[node]
        steps.append((up, side))
        node = up
    steps.reverse()
    lower: dict[str, tuple[float, bool]] = {}
    upper: dict[str, tuple[float, bool]] = {}
    equal: dict[str, str] = {}
    unequal: dict[str, list[str]] = {}
    order: list[str] = []
    missing_go_left = getattr(t, "missing_go_to_left", None)
    for node, side in steps:
        j = int(t.feature[node])
        col, kind, level = names[j]
        thr = float(t.threshold[node])
        if col not in order:
            order.append(col)
        if kind == "level":
            if side == "right":
                equal[col] = str(level)
            else:
                unequal.setdefault(col, []).append(str(level))
            continue
        with_missing = (
            bool(has_missing[j]) and missing_go_left is not None and bool(missing_go_left[node]) == (side == "left")
        )
        if side == "left":  # value <= thr
            if col not in upper or thr < upper[col][0]:
                upper[col] = (thr, with_missing)
        elif col not in lower or thr > lower[col][0]:
            lower[col] = (thr, with_missing)
    out = []
    for col in order:
        if col in equal:
            out.append(f"{col} missing" if equal[col] == MISSING else f"{col} = {equal[col]}")
        elif col in unequal:
            levels = ", ".join(unequal[col])
            out.append(f"{col} not {levels}" if len(unequal[col]) == 1 else f"{col} not in {{{levels}}}")
        else:
            lo, hi = lower.get(col), upper.get(col)
            missing = bool((lo is None or lo[1]) and (hi is None or hi[1]))
            if lo and hi:
                text = f"{number(lo[0])} < {col} <= {number(hi[0])}"
            elif lo:
                text = f"{col} > {number(lo[0])}"
            else:
                assert hi is not None  # every column in `order` has a bound
                text = f"{col} <= {number(hi[0])}"
            out.append(text + (" (or missing)" if missing else ""))
    return out


def surrogate_rules(
    frame: pd.DataFrame,
    labels: np.ndarray,
    *,
    categorical: Sequence[str] = (),
    depth: int | None = None,
    on: str = "columns",
    random_state: int = 0,
) -> RuleSet:
    """Fit a decision tree of ``depth`` (default :func:`rule_depth`) predicting ``labels`` (n,) from the
    columns of ``frame`` and read one rule per cluster from it (the leaf holding most of the cluster's
    rows among the leaves that predict it; a cluster no leaf predicts gets no rule)."""
    from sklearn.tree import DecisionTreeClassifier

    labels = np.asarray(labels)
    n = len(labels)
    if n > RULE_SAMPLE:
        keep = sample_rows(n, RULE_SAMPLE, random_state)
        frame, labels, n = frame.iloc[keep], labels[keep], RULE_SAMPLE
    clusters = np.unique(labels)
    depth = depth or rule_depth(len(clusters))
    X, names = _design(frame, categorical)
    if X.shape[1] == 0 or len(clusters) < 2:
        return RuleSet([], 1.0 if len(clusters) < 2 else 0.0, depth, on, "Nothing to split on.")
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=max(5, n // 200), random_state=random_state)
    tree.fit(X, labels)
    predicted = tree.predict(X)
    fidelity = float((predicted == labels).mean())
    leaves = tree.apply(X)
    has_missing = np.isnan(X).any(axis=0)
    rules = []
    for c in clusters:
        member = labels == c
        best, best_count = None, 0
        for leaf in np.unique(leaves[member]):
            in_leaf = leaves == leaf
            if predicted[in_leaf][0] != c:
                continue
            count = int((in_leaf & member).sum())
            if count > best_count:
                best, best_count = leaf, count
        if best is None:
            continue
        in_leaf = leaves == best
        rules.append(
            Rule(
                int(c),
                _path_conditions(tree, int(best), names, has_missing),
                float(best_count / in_leaf.sum()),
                float(best_count / member.sum()),
                int(in_leaf.sum()),
            )
        )
    note = ""
    if fidelity < LOW_FIDELITY:
        where = space_words(on)
        note = (
            f"The rules agree with the clusters on only {fidelity:.0%} of rows: the clusters are not boxes in "
            f"{where} (they combine many columns at once), so read the rules as rough guides."
        )
    missing_rules = len(clusters) - len(rules)
    if missing_rules:
        note += (" " if note else "") + (
            f"{missing_rules} cluster(s) have no rule: a tree of depth {depth} gives them no leaf of their own."
        )
    return RuleSet(rules, fidelity, depth, on, note)
