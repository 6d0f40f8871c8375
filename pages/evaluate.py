"""Evaluate: how good the clustering is. With labels, agreement with them (accuracy after the Hungarian
matching, NMI, ARI) and the class-by-cluster table; always the internal scores; and this session's runs
side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import plots
from explorer.metrics import contingency
from explorer.views import run_summary
from pages import ui

st.title("📏 Evaluate")
ui.show_messages()
result = ui.need_result()
m = result.metrics


def tiles(items: list[tuple[str, str, str]]) -> None:
    cols = st.columns(len(items))
    for col, (label, key, help_text) in zip(cols, items):
        col.metric(label, ui.metric_value(m.get(key)), help=help_text)


with ui.guard("Scores"):
    if result.dataset.labels is not None:
        st.subheader("Agreement with the labels")
        tiles([
            ("accuracy", "acc", "share of rows right after matching clusters to classes one-to-one (Hungarian)"),
            ("NMI", "nmi", "normalized mutual information, 0 to 1"),
            ("ARI", "ari", "adjusted Rand index; 0 is chance, 1 is perfect"),
            ("AMI", "ami", "adjusted mutual information"),
        ])
        table = contingency(result.dataset.labels, result.clusters.labels)
        st.plotly_chart(plots.contingency_heatmap(table.to_numpy(), list(table.index), list(table.columns)), width="stretch")
    else:
        st.info("The data have no labels, so only the internal scores apply (choose a label column on the Data page to compare).")
    st.subheader("Internal scores (no labels needed)")
    tiles([
        ("silhouette", "silhouette", "-1 to 1, higher is better: points closer to their own cluster than to others"),
        ("Davies-Bouldin", "davies_bouldin", "lower is better: cluster spread relative to their separation"),
        ("Calinski-Harabasz", "calinski_harabasz", "higher is better: between- vs within-cluster dispersion"),
        ("trustworthiness", "trustworthiness", "0 to 1: how well the 2-D map keeps each point's neighbours"),
    ])

with ui.guard("Runs"):
    st.subheader("Runs compared")
    if ui.read_only():
        runs = [result]
    else:
        runs = list(ui.workspace().runs.values())
    frame = pd.DataFrame([run_summary(r) | {"on show": r is result} for r in runs])
    st.dataframe(frame, hide_index=True, width="stretch")
    st.caption("This session's runs (kept while the tab is open; save one on the Share page to keep it).")
