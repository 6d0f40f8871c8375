"""Evaluate: how good the clustering is. With labels, agreement with them (accuracy after the Hungarian
matching, NMI, ARI) and the class-by-cluster table; always the internal scores; and this session's runs
side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import plots
from explorer.dashboard.views import run_summary
from explorer.metrics import EXTERNAL_METRICS, INTERNAL_METRICS, METRICS, contingency
from pages.ui import display, feedback, session

st.title("📏 Evaluate")
feedback.show_messages()
result = session.need_result()
m = result.metrics
SHORT_LABELS = {"acc": "accuracy", "trustworthiness": "trustworthiness"}  # the tiles are narrow


def tiles(keys: tuple[str, ...]) -> None:
    cols = st.columns(len(keys))
    for col, key in zip(cols, keys):
        col.metric(SHORT_LABELS.get(key, METRICS[key].label), display.metric_value(m.get(key)), help=METRICS[key].help)


with feedback.guard("Scores"):
    if result.dataset.labels is not None:
        st.subheader("Agreement with the labels")
        tiles(EXTERNAL_METRICS)
        table = contingency(result.dataset.labels, result.clusters.labels)
        st.plotly_chart(plots.contingency_heatmap(table.to_numpy(), list(table.index), list(table.columns)), width="stretch")
    else:
        st.info("The data have no labels, so only the internal scores apply (choose a label column on the Data page to compare).")
    st.subheader("Internal scores (no labels needed)")
    tiles(INTERNAL_METRICS)

with feedback.guard("Runs"):
    st.subheader("Runs compared")
    if session.read_only():
        runs = [result]
    else:
        runs = list(session.workspace().runs.values())
    frame = pd.DataFrame([run_summary(r) | {"on show": r is result} for r in runs])
    st.dataframe(frame, hide_index=True, width="stretch")
    st.caption("This session's runs (kept while the tab is open; save one on the Share page to keep it).")
