"""What the "Understand" page shows of a run's explanation, as tables and arrays (no Streamlit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.explain import Explanation, explain
from explorer.explain.profiles import ClusterProfile
from explorer.explain.resample import DOUBTFUL, MAX_SAMPLE
from explorer.explain.rules import has_meaning, space_words
from explorer.runs.exports import curated_names

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult

STABILITY_MARK = {"stable": "stable", "doubtful": "⚠️ doubtful", "unstable": "⛔ unstable", None: "not measured"}


def explanation_of(result: RunResult) -> Explanation:
    """The run's saved explanation, or one computed now (runs saved without one, curated clusters: these keep
    the names given while curating)."""
    if result.explanation is None:
        ex = explain(result)
        ex.rename(curated_names(result))
        result.explanation = ex
    return result.explanation


def overview(ex: Explanation, top: int = 3) -> pd.DataFrame:
    """One row per cluster: number, name, rows, share, stability, what sets it apart, its rule (these two only
    where the clusters are explained in the data's columns: :func:`explorer.explain.rules.has_meaning`)."""
    import pandas as pd

    table = pd.DataFrame(
        [
            {
                "cluster": c.cluster,
                "name": c.name,
                "rows": c.size,
                "share": c.share,
                "stability": STABILITY_MARK[c.stability] + (f" ({c.jaccard:.2f})" if c.stability else ""),
                "what sets it apart": "; ".join(d.sentence for d in c.distinctions[:top]),
                "rule": (f"{c.rule} ({c.rule_precision:.0%} precise, covers {c.rule_coverage:.0%})" if c.rule else ""),
            }
            for c in ex.clusters
        ]
    )
    return table if has_meaning(ex.on) else table.drop(columns=["what sets it apart", "rule"])


def profile_of(ex: Explanation, cluster: int) -> ClusterProfile | None:
    return next((p for p in ex.profiles if p.cluster == cluster), None)


def numeric_table(profile: ClusterProfile) -> pd.DataFrame:
    """Per numeric column: the cluster's median (IQR), the rest's, missing in the cluster, the effect."""
    import pandas as pd

    rows = sorted(profile.numeric, key=lambda p: -p.separation)
    return pd.DataFrame(
        [
            {
                "column": p.column,
                "cluster: median (IQR)": p.cluster.text(),
                "rest: median (IQR)": p.rest.text(),
                "missing in cluster": p.cluster.missing,
                "direction": "higher" if p.effect > 0 else "lower",
                "separation": round(p.separation, 3),
            }
            for p in rows
        ]
    )


def categorical_table(profile: ClusterProfile) -> pd.DataFrame:
    """Per categorical column and over-represented level: share in the cluster, overall, lift."""
    import pandas as pd

    out = []
    for p in sorted(profile.categorical, key=lambda p: -p.separation):
        for lv in p.levels[:3]:
            out.append(
                {
                    "column": p.column,
                    "level": lv.level,
                    "in cluster": lv.share,
                    "overall": lv.overall,
                    "lift": round(lv.lift, 2),
                    "column separation": round(p.separation, 3),
                }
            )
    return pd.DataFrame(out)


def text_table(profile: ClusterProfile) -> pd.DataFrame:
    """Per text column: its distinctive words (share of the cluster's texts holding each, and the rest's), then
    its most typical texts (the members that use the most of those words)."""
    import pandas as pd

    out = []
    for p in sorted(profile.text, key=lambda p: -p.separation):
        out += [{"column": p.column, "words or text": t.term, "in cluster": t.share, "rest": t.rest} for t in p.terms]
        out += [{"column": p.column, "words or text": e, "in cluster": None, "rest": None} for e in p.examples]
    return pd.DataFrame(out)


def separations(ex: Explanation, cluster: int, top: int = 12) -> tuple[list[str], np.ndarray, list[str]]:
    """(columns, signed separation (numbers: + higher, - lower; categories: +), hover sentence) of
    the ``top`` most distinguishing columns of ``cluster``, for a bar chart."""
    c = ex.cluster(cluster)
    ds = c.distinctions[:top]
    signed = np.array([(-d.separation if d.direction == "lower" else d.separation) for d in ds], dtype=float)
    return [d.column for d in ds], signed, [d.sentence for d in ds]


def point_summary(result: RunResult, ex: Explanation, row: int) -> dict[str, Any]:
    """One row: its id, cluster (and name), runner-up (and name), margin, co-assignment."""
    names = ex.names
    c = int(result.labels[row])
    ru = int(ex.points.runner_up[row])
    co = float(ex.stability.co_assignment[row]) if ex.stability is not None else float("nan")
    return {
        "id": str(result.dataset.ids[row]),
        "cluster": c,
        "name": names.get(c, "noise" if c < 0 else f"cluster {c}"),
        "runner_up": ru,
        "runner_up_name": names.get(ru, "-") if ru >= 0 else "-",
        "margin": float(ex.points.margin[row]),
        "co_assignment": co,
    }


def mean_images(result: RunResult, cluster: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean image of the cluster, of the rest, cluster minus rest) as float arrays (h, w, c) in
    [0, 1] (the difference in [-1, 1])."""
    images = result.dataset.images
    if images is None:
        raise ValueError("mean images need image data")
    member = result.labels == cluster
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    inside = images[member].mean(axis=0) / scale if member.any() else np.zeros(images.shape[1:])
    rest = images[~member].mean(axis=0) / scale if (~member).any() else np.zeros(images.shape[1:])
    return inside, rest, inside - rest


def difference_image(diff: np.ndarray) -> np.ndarray:
    """A cluster-minus-rest difference as an RGB uint8 picture: red where the cluster is brighter,
    blue where it is darker, white where they agree."""
    d = diff.mean(axis=-1) if diff.ndim == 3 else diff
    scale = max(float(np.abs(d).max()), 1e-6)
    v = d / scale
    rgb = np.ones((*d.shape, 3))
    rgb[..., 1] -= np.abs(v)
    rgb[..., 0] -= np.clip(-v, 0, 1)
    rgb[..., 2] -= np.clip(v, 0, 1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def fidelity_sentence(ex: Explanation) -> str:
    """How far the rules agree with the clusters; where the clusters' space has no meaning a person can read, the
    sentence that says so and where the meaning is instead (:attr:`Explanation.meaning`)."""
    if not has_meaning(ex.on):
        return ex.meaning
    if ex.rules is None:
        return ""
    where = space_words(ex.rules.on)
    return (
        f"A decision tree of depth {ex.rules.depth} on {where} agrees with the clusters on "
        f"{ex.rules.fidelity:.0%} of rows." + (f" {ex.rules.note}" if ex.rules.note else "")
    )


def stability_sentence(ex: Explanation) -> str:
    if ex.stability is None:
        return "Stability was not measured for this run."
    st = ex.stability
    flagged = [c for c in ex.clusters if c.flagged]
    head = (
        f"Each cluster was looked for again in {st.resamples} random subsamples ({st.fraction:.0%} of the rows, "
        f"at most {MAX_SAMPLE:,}) by {st.method}; its stability is the mean overlap (Jaccard) with its best match."
    )
    if not flagged:
        return head + f" Every cluster came back (Jaccard >= {DOUBTFUL})."
    return (
        head
        + " "
        + "; ".join(f"{c.name} is {c.stability} ({c.jaccard:.2f})" for c in flagged)
        + ": their members would change on another run."
    )


__all__ = [
    "explanation_of",
    "overview",
    "numeric_table",
    "categorical_table",
    "separations",
    "point_summary",
    "mean_images",
    "difference_image",
    "fidelity_sentence",
    "stability_sentence",
]
