"""Evaluate: how good the clustering is. With labels, agreement with them (accuracy after the Hungarian
matching, NMI, ARI) and the class-by-cluster table; always the internal scores; this session's runs
side by side; and two runs of the same data compared cluster by cluster."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from explorer.compare import compare_runs
from explorer.dashboard import evaluate
from explorer.dashboard.run_view import run_summary
from explorer.display import charts
from explorer.display.usertext import markdown_text
from explorer.errors import InputError
from explorer.metrics import EXTERNAL_METRICS, INTERNAL_METRICS, METRICS, contingency
from pages.ui import curation, display, feedback, links, session, widgets

st.title("📏 Evaluate")
feedback.show_messages()
result = session.need_result()
shown = curation.shown(result)  # its curated clusters, scored, when the Explore page edited them
m = shown.metrics
SHORT_LABELS = {"acc": "accuracy", "trustworthiness": "trustworthiness"}  # the tiles are narrow


def tiles(keys: tuple[str, ...]) -> None:
    cols = st.columns(len(keys))
    for col, key in zip(cols, keys, strict=True):
        col.metric(SHORT_LABELS.get(key, METRICS[key].label), display.metric_value(m.get(key)), help=METRICS[key].help)


with feedback.guard("Scores"):
    if result.dataset.labels is not None:
        st.subheader("Agreement with the labels")
        tiles(EXTERNAL_METRICS)
        table = contingency(result.dataset.labels, shown.clusters.labels)
        st.plotly_chart(
            charts.contingency_heatmap(table.to_numpy(), list(table.index), list(table.columns)), width="stretch"
        )
    else:
        st.info(
            "The data have no labels, so only the internal scores apply "
            "(choose a label column on the Data page to compare)."
        )
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


def pick_runs(ws) -> tuple:
    """The two runs to compare (A defaults to the run on show), or (None, None) with a hint."""
    saved = []
    if session.list_runs_enabled():
        from explorer.runs.files import list_runs

        saved = list_runs(session.runs_root())
    choices = evaluate.comparable_runs(ws.runs, session.viewed_run(), saved)
    by_key = {c.key: c for c in choices}
    shown = evaluate.choice_of(choices, result, ws.runs)
    if not any(evaluate.same_rows(choices, c) for c in choices):
        st.info("Make a second run of this data (another clustering on the **Cluster** page) to compare two runs here.")
        return None, None
    left, right = st.columns(2)
    with left:
        a = widgets.selectbox(
            "Run A",
            list(by_key),
            key=widgets.pkey("compare", "a"),
            default=shown.key if shown else None,
            format_func=lambda k: by_key[k].label,
        )
    others = evaluate.same_rows(choices, by_key[a])
    if not others:
        st.info("No other run has as many rows as run A; pick another run A, or make a second run of its data.")
        return None, None
    with right:
        b = widgets.selectbox(
            "Run B", [c.key for c in others], key=widgets.pkey("compare", "b"), format_func=lambda k: by_key[k].label
        )
    return load(by_key[a], ws), load(by_key[b], ws)


def load(choice, ws):
    if choice.source == "session":
        return ws.runs[choice.ref]
    if choice.source == "viewed":
        return session.viewed_run()
    return links.load_saved_run(choice.ref, session.runs_root())


with feedback.guard("Compare runs"):
    st.subheader("Compare runs")
    st.caption("Two runs of the same data: which clusters of A correspond to which of B, and which split or merge.")
    run_a, run_b = pick_runs(session.workspace())
    found = None
    if run_a is not None:
        try:
            found = compare_runs(run_a, run_b)
        except InputError as exc:  # the message may quote row ids: text, not markup
            st.error(markdown_text(exc))
    if found is not None:
        for note in found.notes:
            st.caption(markdown_text(note))
        c1, c2, c3 = st.columns(3)
        c1.metric(
            "ARI, A vs B",
            display.metric_value(found.ari),
            help="adjusted Rand index between the two clusterings; 1 is the same",
        )
        c2.metric(
            "NMI, A vs B", display.metric_value(found.nmi), help="normalized mutual information between them, 0 to 1"
        )
        c3.metric("matched pairs", len(found.pairs), help="clusters of A matched one-to-one with B's (Hungarian)")
        st.plotly_chart(charts.comparison_heatmap(found.counts, found.row_names, found.column_names), width="stretch")
        st.markdown("\n".join(f"- {markdown_text(s)}" for s in found.findings))
        st.dataframe(evaluate.pairs_table(found), hide_index=True, width="stretch")
        st.download_button(
            "Download the comparison (JSON)",
            data=json.dumps(found.to_dict(), indent=2),
            file_name="comparison.json",
            mime="application/json",
            icon="⬇️",
            key="download_comparison",
        )
