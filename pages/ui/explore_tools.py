"""The Explore page's tools beside the map: search (words, a similar row), filters with their linked histograms,
near-duplicates, and the curation's controls (merge, split, recluster, rename, undo, save). Each takes the
page's :class:`Scope` (the run, the run as curated, its curation, the widgets' tag). The logic:
explorer.dashboard.curate over explorer.curate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from explorer.curate import (
    DuplicateConfig,
    Filter,
    TextIndex,
    TextQuery,
    find_duplicates,
    mask,
    search_text,
    similar_rows,
    to_expression,
)
from explorer.curate.curation import RECLUSTER_METHOD, recluster_methods
from explorer.curate.duplicates import duplicates_of
from explorer.dashboard import curate, run_view
from explorer.display import linked
from explorer.display.usertext import file_stem, markdown_text, plain_text

from . import curation as curation_ui, display, downloads, feedback, session, widgets as w


@dataclass(frozen=True)
class Scope:
    """What the tools act on: ``result`` (the run shown), ``view`` (the run with the curated clusters: the run
    itself until an edit), its ``curation`` and cluster ``names``, and ``run_tag`` (names this run's widgets)."""

    result: Any
    view: Any
    curation: Any
    names: dict[int, str]
    run_tag: str


def search_box(s: Scope) -> np.ndarray | None:
    """Search by words (or a regular expression) or by a similar row: the rows found (None: no search), listed
    (a similar row's neighbours with their distances, and side by side when they are images)."""
    result, view, curation, names, run_tag = s.result, s.view, s.curation, s.names, s.run_tag
    mode = w.radio("Search by", ["words", "a similar row"], key=w.pkey("search_mode", run_tag), horizontal=True)
    if mode == "words":
        c1, c2 = st.columns([4, 1])
        text = c1.text_input(
            "Search the rows' values and ids",
            key=f"search-{run_tag}",
            placeholder="words, a name, an image's file name",
        )
        regex = c2.checkbox("regex", key=f"regex-{run_tag}", help="Read the text as a Python regular expression.")
        if not text:
            return None
        hits = session.cached(
            "search_cache",
            (run_tag, id(result), text, regex),
            lambda: search_text(
                view,
                TextQuery(text, regex=regex),
                # the cells as text, made once per run: reading a million as text is most of a search
                index=session.cached("search_index", (run_tag, id(result)), lambda: TextIndex(view)),
            ),
        )
        st.markdown(f"**{len(hits.rows):,} rows match**")
        if len(hits.rows):
            st.dataframe(
                curate.hits_table(view, hits, curation.labels, names),
                hide_index=True,
                width="stretch",
                height=min(35 * len(hits.rows) + 40, 240),
            )
        return hits.rows
    c1, c2 = st.columns([3, 1])
    asked = c1.text_input("Row (its id, or its number)", key=f"similar-{run_tag}")
    k = c2.number_input(
        "Neighbours",
        min_value=1,
        max_value=max(1, min(100, result.dataset.n - 1)),
        value=min(10, max(1, result.dataset.n - 1)),
        key=f"similar-k-{run_tag}",
    )
    if not asked:
        st.caption("Name a row, or select a point on the map and use the button under the selection.")
        return None
    row = curate.find_row(view, asked)
    similar = session.cached(
        "similar_cache", (run_tag, id(result), row, int(k)), lambda: similar_rows(view, row, int(k))
    )
    st.markdown(
        f"**The {len(similar.rows)} rows nearest to {markdown_text(view.dataset.ids[row])}** "
        "(distance in the space the run clustered)"
    )
    table = curate.neighbours_table(view, similar, curation.labels, names)
    if view.dataset.images is not None:
        shown = similar.rows[:30]
        display.image_grid(
            run_view.thumbnails(view, shown),
            [f"{view.dataset.ids[i]} · {d:.3g}" for i, d in zip(shown, similar.distances, strict=False)],
            columns=6,
            width=64,
        )
    st.dataframe(table, hide_index=True, width="stretch", height=min(35 * len(table) + 40, 240))
    return np.concatenate([[row], similar.rows])


def filter_box(s: Scope) -> tuple[np.ndarray | None, str | None, list]:
    """Pick columns and narrow each: (the filter's mask (n,) or None, its expression or None, the columns
    picked)."""
    result, view, curation, names, run_tag = s.result, s.view, s.curation, s.names, s.run_tag
    columns = session.cached(
        "filter_columns",
        (
            run_tag,
            id(result),
        ),
        lambda: curate.filter_columns(view),
    )
    chosen = st.multiselect(
        "Filter by",
        list(range(len(columns))),
        key=f"filter-by-{run_tag}",
        format_func=lambda i: plain_text(columns[i].label),
    )
    conditions = []
    for i in chosen:
        col = columns[i]
        key = f"filter-{run_tag}-{i}"
        value: Any  # a range, levels or words, as the widget gives
        if col.kind == "clusters":
            value = st.multiselect(
                "Clusters",
                curation.clusters,
                key=key,
                format_func=lambda c: plain_text(curate.label_texts(np.array([c]), names)[0]),
            )
        elif col.kind in ("number", "anomaly"):
            if not col.high > col.low:
                st.caption(f"{markdown_text(col.label)}: one value only, nothing to narrow.")
                continue
            value = st.slider(plain_text(col.label), col.low, col.high, (col.low, col.high), key=key)
        elif col.kind == "category":
            value = st.multiselect(plain_text(col.label), list(col.levels), key=key, format_func=plain_text)
        else:
            value = st.text_input(f"{plain_text(col.label)} contains (words, separated by commas)", key=key)
        cond = curate.condition(col, value)
        if cond is not None:
            conditions.append(cond)
    picked = [columns[i] for i in chosen]
    if not conditions:
        return None, None, picked
    flt = Filter(conditions)
    keep = mask(view, flt, labels=curation.labels)
    expression = to_expression(flt)
    st.code(expression, language=None, wrap_lines=True)
    downloads.download(
        "Download the filter (text)",
        lambda: expression.encode() + b"\n",
        rows=1,
        owner=(expression,),
        key="filter",
        file_name=f"{file_stem(result.dataset.name)}-filter.txt",
        mime="text/plain",
        help="The filter as one line; explorer.curate.parse_expression reads it back.",
    )
    st.caption(f"{int(keep.sum()):,} of {len(keep):,} rows pass the filter; the map greys the rest.")
    return keep, expression, picked


def linked_histograms(s: Scope, columns: list, inside: np.ndarray, what: str) -> None:
    """Beside the map: each filtered column's histogram, every row in grey and the rows ``inside`` (the
    selection, else the rows in focus) over it."""
    view, curation, run_tag = s.view, s.curation, s.run_tag
    shown = [(col, got) for col in columns if (got := curate.column_values(view, col, curation.labels)) is not None]
    if not shown:
        return
    st.caption(f"The filtered columns: every row in grey, {what} in blue.")
    for at, (col, (values, categorical)) in zip(st.columns(min(3, len(shown))) * 4, shown[:12], strict=False):
        fig = linked.linked_histogram(values, inside, col.label, categorical=categorical, focus_name=what)
        at.plotly_chart(fig, key=f"linked-{run_tag}-{col.label}", width="stretch", config={"displayModeBar": False})


def duplicates_box(s: Scope) -> None:
    """The near-duplicate groups of the whole run, under a threshold the user moves."""
    result, view, run_tag = s.result, s.view, s.run_tag
    if not st.checkbox(
        "Find near-duplicates",
        key=f"dups-{run_tag}",
        help="Pairs of rows closer than the threshold in the space the run clustered, grouped.",
    ):
        return
    first = session.cached(
        "dups_default",
        (
            run_tag,
            id(result),
        ),
        lambda: find_duplicates(view),
    )
    high = max(float(first.scale), float(first.threshold), 1e-6)
    threshold = st.slider(
        "Threshold (distance)",
        0.0,
        high,
        float(first.threshold),
        key=f"dups-t-{run_tag}",
        format="%.4g",
        help=f"Default: {first.rule}.",
    )
    dups = (
        first
        if threshold == first.threshold
        else session.cached(
            "dups_cache", (id(result), threshold), lambda: duplicates_of(np.asarray(view.Z), DuplicateConfig(threshold))
        )
    )
    st.markdown(f"**{len(dups.pairs):,} pairs in {len(dups.groups):,} groups**")
    if dups.groups:
        st.dataframe(
            curate.groups_table(view, dups),
            hide_index=True,
            width="stretch",
            height=min(35 * len(dups.groups) + 40, 240),
        )


def edit(s: Scope, fn, *args) -> None:
    """A curation edit (a button's callback): done, or its error shown; the page redraws the map. The
    widgets that name clusters start again: a merge or a split changes which clusters there are."""
    run_tag = s.run_tag
    feedback.safely(fn, *args)
    curation_ui.edited()
    for key in (
        f"merge-{run_tag}",
        f"split-{run_tag}",
        f"rename-{run_tag}",
        f"rename-to-{run_tag}",
        f"filter-{run_tag}-0",
    ):
        st.session_state.pop(key, None)


def save_curation_now(s: Scope) -> None:
    result, curation = s.result, s.curation
    session.workspace().messages.append(
        ("success", curate.save(curation, result, session.runs_root(), read_only=session.read_only()))
    )


def curation_box(s: Scope, rows: np.ndarray) -> None:
    """Merge, split, recluster the selection, rename, undo; the history; save."""
    curation, names, run_tag = s.curation, s.names, s.run_tag
    clusters = curation.clusters
    label = lambda c: plain_text(curate.label_texts(np.array([c]), names)[0])
    c1, c2 = st.columns(2)
    with c1:
        merging = st.multiselect(
            "Merge clusters (into the first chosen)", clusters, key=f"merge-{run_tag}", format_func=label
        )
        st.button(
            "Merge",
            key=f"merge-go-{run_tag}",
            disabled=len(merging) < 2,
            on_click=edit,
            args=(s, lambda: curation.merge(*merging)),
        )
        splitting = st.selectbox("Split a cluster", clusters, key=f"split-{run_tag}", format_func=label)
        methods = recluster_methods()
        how = w.selectbox(
            "With",
            list(methods),
            key=w.pkey("split_method"),
            default=RECLUSTER_METHOD,
            format_func=methods.get,
            help="The clustering method that splits a cluster or reclusters the selection, in the space the run "
            "clustered.",
        )
        k = st.number_input(
            "Into (0: as many as is stable)", min_value=0, max_value=20, value=0, key=f"split-k-{run_tag}"
        )
        st.button(
            "Split",
            key=f"split-go-{run_tag}",
            disabled=splitting is None,
            on_click=edit,
            args=(s, lambda: curation.split(int(splitting), method=how, k=int(k) or None)),
        )
        st.button(
            f"Recluster the {len(rows):,} selected rows",
            key=f"recluster-{run_tag}",
            disabled=len(rows) < 4,
            on_click=edit,
            args=(s, lambda: curation.recluster(rows, method=how, k=int(k) or None)),
        )
    with c2:
        renaming = st.selectbox("Rename a cluster", clusters, key=f"rename-{run_tag}", format_func=label)
        new_name = st.text_input("New name", key=f"rename-to-{run_tag}")
        st.button(
            "Rename",
            key=f"rename-go-{run_tag}",
            disabled=renaming is None,
            on_click=edit,
            args=(s, lambda: curation.rename(int(renaming), new_name)),
        )
        st.button(
            "Undo", key=f"undo-{run_tag}", icon="↩️", disabled=not curation.steps, on_click=edit, args=(s, curation.undo)
        )
        st.button(
            "Save curation",
            key=f"save-curation-{run_tag}",
            icon="💾",
            disabled=not curation.steps,
            on_click=edit,
            args=(s, save_curation_now, s),
            help="Writes the history and the curated labels beside the saved run (its own labels stay).",
        )
    if curation.steps:
        st.markdown(
            "**History**  \n"
            + "  \n".join(f"{i}. {markdown_text(line)}" for i, line in enumerate(curation.history(), 1))
        )
    else:
        st.caption("No edit yet: the map shows the run's own clusters.")
