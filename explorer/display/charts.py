"""Charts beside the map, arrays in, ``go.Figure`` out: training loss, the k sweep, cluster sizes, contingency and
comparison heatmaps, reconstruction errors per feature, a column's distribution, what sets a cluster apart.

Every string a builder is given is plain text and is escaped here (:func:`explorer.display.usertext.plotly_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explorer.display.maps import NOISE_COLOR, palette
from explorer.display.usertext import plotly_text


def loss_curve(history: Sequence[dict], *, epochs: int | None = None) -> go.Figure:
    """Training and validation loss per epoch (log scale); ``epochs`` fixes the x range while training."""
    ep = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ep, y=[h.get("loss") for h in history], mode="lines+markers", name="training loss"))
    if any(h.get("val_loss") is not None for h in history):
        fig.add_trace(
            go.Scatter(x=ep, y=[h.get("val_loss") for h in history], mode="lines+markers", name="validation loss")
        )
    fig.update_layout(
        xaxis=dict(title="epoch", range=[0.5, epochs + 0.5] if epochs else None),
        yaxis=dict(title="loss", type="log"),
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.12),
        title={"text": "Loss", "font": {"size": 13}},
    )
    return fig


def k_sweep(
    ks: Sequence[int],
    silhouette: Sequence[float | None],
    bic: Sequence[float | None],
    suggested: int | None = None,
    stability: Sequence[float | None] | None = None,
    modularity: Sequence[float | None] | None = None,
) -> go.Figure:
    """Silhouette (left axis, higher is better) and, on the right axis, BIC (lower is better) or, for a
    stability sweep, the stability of each k (higher is better; 1 = the same clusters from either half
    of the data), or, for the clustering head's sweep, the modularity of its clusters (higher is better),
    with the suggested k marked."""

    def clean(v):
        return [None if x is None or not np.isfinite(x) else float(x) for x in v]

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=list(ks), y=clean(silhouette), name="silhouette (higher is better)", mode="lines+markers")
    )
    second, name, axis = (
        (modularity, "modularity (higher is better)", "modularity")
        if modularity is not None
        else (stability, "stability (higher is better)", "stability")
        if stability is not None
        else (bic, "BIC (lower is better)", "BIC")
    )
    fig.add_trace(
        go.Scatter(x=list(ks), y=clean(second), name=name, mode="lines+markers", yaxis="y2", line=dict(dash="dot"))
    )
    if suggested is not None:
        fig.add_vline(
            x=suggested,
            line=dict(color="#d62728", width=2, dash="dash"),
            annotation_text=f"suggested k = {suggested}",
            annotation_position="top",
        )
    fig.update_layout(
        xaxis=dict(title="k (clusters)", dtick=1),
        yaxis=dict(title="silhouette"),
        yaxis2=dict(title=axis, overlaying="y", side="right", showgrid=False),
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=1.18),
    )
    return fig


def cluster_sizes(clusters: Sequence[Any], sizes: Sequence[int]) -> go.Figure:
    """Rows per cluster as bars (noise grey)."""
    names = [plotly_text(c) if str(c) != "-1" else "noise" for c in clusters]
    colors = palette()
    bar_colors, i = [], 0
    for name in names:
        if name == "noise":
            bar_colors.append(NOISE_COLOR)
        else:
            bar_colors.append(colors[i % len(colors)])
            i += 1
    fig = go.Figure(go.Bar(x=names, y=list(sizes), marker_color=bar_colors, text=list(sizes), textposition="outside"))
    fig.update_layout(
        xaxis=dict(title="cluster", type="category"),
        yaxis=dict(title="rows"),
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        title={"text": "Cluster sizes", "font": {"size": 13}},
    )
    return fig


def contingency_heatmap(counts: np.ndarray, classes: Sequence[Any], clusters: Sequence[Any]) -> go.Figure:
    """Rows per (class, cluster) after the Hungarian matching (matched pairs on the diagonal)."""
    counts = np.asarray(counts)
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"cluster {plotly_text(c)}" if str(c) != "-1" else "noise" for c in clusters],
            y=[plotly_text(c) for c in classes],
            colorscale="Blues",
            text=counts,
            texttemplate="%{text}",
            hovertemplate="class %{y}<br>%{x}<br>%{z} rows<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="cluster", type="category"),
        yaxis=dict(title="class", type="category", autorange="reversed"),
        height=max(300, 28 * len(classes) + 120),
        margin=dict(l=10, r=10, t=30, b=10),
        title={"text": "Classes vs clusters (matched pairs on the diagonal)", "font": {"size": 13}},
    )
    return fig


def comparison_heatmap(
    counts: np.ndarray,
    row_names: Sequence[str],
    column_names: Sequence[str],
    *,
    title: str = "Clusters of run A (rows) by clusters of run B (columns)",
) -> go.Figure:
    """Two clusterings of the same rows: ``counts`` (k_a, k_b) rows in both (as
    :class:`explorer.compare.RunComparison` holds it, matched pairs on the diagonal); each cell shows
    its count, its colour is the share of A's row (0 to 1). Names are shown as text, never as markup."""
    import html

    counts = np.asarray(counts, dtype=np.int64)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    rows = [html.escape(str(n)) for n in row_names]
    cols = [html.escape(str(n)) for n in column_names]
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=cols,
            y=rows,
            zmin=0.0,
            zmax=1.0,
            colorscale="Blues",
            text=counts,
            texttemplate="%{text}",
            colorbar={"title": {"text": "share of A's row"}, "thickness": 14},
            hovertemplate="A: %{y}<br>B: %{x}<br>%{text} rows (%{z:.0%} of A's row)<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="run B", type="category", side="top"),
        yaxis=dict(title="run A", type="category", autorange="reversed"),
        height=max(300, 28 * len(rows) + 140),
        margin=dict(l=10, r=10, t=60, b=10),
        title={"text": title, "font": {"size": 13}},
    )
    return fig


def feature_errors(features: Sequence[str], errors: Sequence[float], top: int = 30) -> go.Figure:
    """Reconstruction error per feature as horizontal bars, the ``top`` largest."""
    order = np.argsort(-np.asarray(errors, dtype=np.float64), kind="stable")[:top]
    fig = go.Figure(
        go.Bar(
            x=[float(errors[i]) for i in order][::-1],
            y=[plotly_text(features[i]) for i in order][::-1],
            orientation="h",
        )
    )
    fig.update_layout(
        xaxis=dict(title="mean squared reconstruction error"),
        height=max(260, 22 * len(order) + 80),
        margin=dict(l=10, r=10, t=30, b=10),
        title={"text": "Reconstruction error per feature", "font": {"size": 13}},
    )
    return fig


def histogram(values: np.ndarray, name: str, *, marker: float | None = None) -> go.Figure:
    """A histogram of ``values``, with an optional vertical line (e.g. the anomaly cut-off)."""
    name = plotly_text(name)
    fig = go.Figure(go.Histogram(x=np.asarray(values, dtype=np.float64), nbinsx=60, name=name))
    if marker is not None:
        fig.add_vline(x=float(marker), line=dict(color="#d62728", dash="dash"))
    fig.update_layout(
        xaxis=dict(title=name),
        yaxis=dict(title="rows"),
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        title={"text": f"Distribution of {name}", "font": {"size": 13}},
        showlegend=False,
    )
    return fig


def separations(
    columns: Sequence[str], signed: Sequence[float] | np.ndarray, sentences: Sequence[str], title: str
) -> go.Figure:
    """What sets a cluster apart: one horizontal bar per column, its separation in [0, 1] signed by
    direction (numbers: right = higher in the cluster, left = lower; categories: right), most first
    at the top; the hover says it in words. Column names and sentences are user text: escaped."""
    from explorer.display.usertext import plotly_text

    cols = [plotly_text(c) for c in columns][::-1]
    vals = [float(v) for v in signed][::-1]
    fig = go.Figure(
        go.Bar(
            x=vals,
            y=cols,
            orientation="h",
            hovertext=[plotly_text(s) for s in sentences][::-1],
            hoverinfo="text",
            marker_color=["#c0392b" if v >= 0 else "#2e86c1" for v in vals],
        )
    )
    fig.update_layout(
        xaxis=dict(
            title="separation (right: higher or over-represented in the cluster, left: lower)", range=[-1.05, 1.05]
        ),
        height=max(240, 24 * len(cols) + 90),
        margin=dict(l=10, r=10, t=34, b=10),
        title={"text": plotly_text(title), "font": {"size": 13}},
    )
    return fig
