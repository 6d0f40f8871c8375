"""Explore: the 2-D map of the latent space. Colour it, hover it, select with a box or lasso (or click a
point) to see the rows or images behind the points and which clusters they come from; search the rows (words
or a similar row) and filter them (the rest greyed), read the clusters' names on the map, find near-duplicates,
and curate the clusters (merge, split, recluster, rename, undo, save). The logic: explorer.dashboard.explore
and explorer.dashboard.curate over explorer.curate."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import streamlit as st

from explorer.curate import (
    DuplicateConfig,
    Filter,
    TextQuery,
    find_duplicates,
    mask,
    search_text,
    similar_rows,
    to_expression,
)
from explorer.curate.curation import RECLUSTER_METHOD, recluster_methods
from explorer.curate.duplicates import duplicates_of
from explorer.dashboard import curate, explore, run_view
from explorer.dashboard.cache import short_tag
from explorer.dashboard.workspace import JobKind
from explorer.display import density, linked, maps
from explorer.display.usertext import SPREADSHEET_NOTE, file_stem, markdown_text, plain_text
from explorer.limits import Limits
from explorer.project import PROJECTION_LABELS, PROJECTION_METHODS
from pages.ui import curation as curation_ui, display, downloads, feedback, progress, session, widgets as w

LIMITS = Limits.from_env()
DISPLAY_CAP = explore.display_cap(os.environ.get("EXPLORER_DISPLAY_CAP", maps.DISPLAY_CAP), LIMITS)[0]

st.title("🔭 Explore")
ws, manager = session.workspace(), session.job_manager()
feedback.show_messages()
if progress.job_progress(JobKind.PROJECT):
    st.stop()
result = session.need_result()
run_tag = short_tag(ws.current if not session.read_only() else result.run_id)  # names this run's widgets


def view_settings() -> tuple[str, int]:
    c1, c2, c3 = st.columns(3)
    with c1:
        method = result.config.projection.method
        if session.read_only():
            st.markdown(f"**Projection:** {PROJECTION_LABELS[method]}")
        else:  # always shows this run's map; picking another shows the run on that map (a job, or at once)
            key = f"projection-{run_tag}"
            st.session_state[key] = method
            st.selectbox(
                "Projection",
                list(PROJECTION_METHODS),
                key=key,
                format_func=lambda m: PROJECTION_LABELS[m],
                on_change=lambda: feedback.safely(
                    explore.change_projection, ws, manager, result, st.session_state[key], LIMITS
                ),
            )
    with c2:
        color_by = w.selectbox(
            "Colour by",
            explore.color_options(result),
            key=w.pkey("color_by"),
            default="cluster",
            format_func=plain_text,
        )
    with c3:
        asked = w.number(
            "Points drawn at most",
            w.pkey("cap"),
            DISPLAY_CAP,
            min_value=1000,
            max_value=int(LIMITS.max_display_points),
            step=10_000,
            help="Above this, every point is drawn as a density image and a uniform sample of this many as "
            "markers on top (hover, click). A box or lasso selects every point inside it, "
            "drawn or not; clustering always uses every point.",
        )
    cap, note = explore.display_cap(asked, LIMITS)  # checked here too, not only by the widget
    if note:
        st.caption(note)
    return color_by, cap


def hover_fields(cap: int, rows: np.ndarray) -> maps.HoverTable:
    """What the hover label says of each drawn row (:func:`explore.point_fields`): the map's sample's built
    once per run, cap and names and kept in this session (the colouring and the focus do not change it, so a
    re-colour reuses it, and one user's values stay away from everyone else); a search's hits drawn beyond
    the sample get theirs then (:func:`explore.hover_rows`)."""
    token = (edits(), tuple(sorted(run_view.cluster_names(result).items())))
    key = (run_tag, id(result), cap, token)
    cached = st.session_state.get("hover_cache")
    if cached is None or cached[0] != key:
        sample = maps.sample_indices(result.dataset.n, cap)
        cached = (key, (sample, maps.hover_table(explore.point_fields(view, sample))))
        st.session_state["hover_cache"] = cached
    return explore.hover_rows(view, rows, cached[1])


def scatter_figure(color_by: str, cap: int, highlight: np.ndarray | None, names_on_map: bool, contours: bool):
    """The scatter (above the cap: a density image of every point under a sample of markers) of the run as
    curated, ``highlight`` (rows in focus: a filter, a search) bright and the rest greyed, the clusters' names
    drawn on it or not, the density's contour lines or not; built once per run, curation, colouring, focus and
    cap, and kept in this session (the session cache keeps one user's hover text away from everyone else)."""
    token = (edits(), tuple(sorted(names.items())))
    focus_key = None if highlight is None else (len(highlight), hash(highlight.tobytes()))
    key = (run_tag, id(result), color_by, cap, token, focus_key, names_on_map, contours)
    kept = st.session_state.get("scatter_cache")
    if kept is not None and kept[0] == key:
        return kept[1]
    values: Any
    if color_by == "cluster":  # the curated clusters, named as curated, worked out once for every focus
        values = cached(
            "colour_codes",
            (run_tag, id(result), token),
            lambda: maps.Categories.of(curate.label_texts(view.clusters.labels, names)),
        )
        kind = "category"
    else:
        values, kind = explore.color_values(view, color_by)
    fig = maps.scatter(
        view.embedding,
        color=values,
        color_kind=kind,
        color_name=color_by,
        hover_fields=lambda rows: hover_fields(cap, rows),
        grid=None  # the density image's pixels of every point: the same map whatever the colouring or focus
        if result.dataset.n <= cap
        else cached("map_grid", (run_tag, id(result)), lambda: density.Grid.of(view.embedding[:, :2])),
        max_points=cap,
        selected=highlight,
        title=PROJECTION_LABELS.get(result.config.projection.method, ""),
    )
    if contours:
        linked.add_density_contours(fig, view.embedding)
    if names_on_map:
        placed = cached(  # a million points: a sort and medians, the same whatever the colouring and the focus
            "name_positions",
            (run_tag, id(result), token),
            lambda: maps.name_positions(view.embedding, view.clusters.labels, names),
        )
        maps.add_cluster_names(fig, view.embedding, view.clusters.labels, names, placed)
    st.session_state["scatter_cache"] = (key, fig)
    return fig


def selection_panel(rows: np.ndarray, note: str | None = None) -> None:
    """The selected points: their (curated) cluster make-up, then the images or rows, and a CSV download;
    ``note``: what the count means when the map draws a sample (:func:`explore.selection_note`)."""
    ds = result.dataset
    st.markdown(f"**{len(rows):,} points selected**")
    if note:
        st.caption(note)
    makeup = explore.cluster_makeup(view, rows)
    st.dataframe(
        makeup.assign(share=makeup["share"].round(3), of_cluster=makeup["of_cluster"].round(3)),
        hide_index=True,
        width="stretch",
        height=min(35 * len(makeup) + 40, 220),
    )
    if len(rows) == 1 and view.explanation is not None:
        from explorer.dashboard.understand import point_summary

        p = point_summary(result, result.explanation, int(rows[0]))
        runner = "none" if p["runner_up"] < 0 else f"{p['runner_up']}: {p['runner_up_name']}"
        st.caption(
            markdown_text(
                f"In cluster {p['cluster']}: {p['name']} · runner-up {runner} · margin "
                f"{p['margin']:.2f} (0: on the boundary, 1: deep inside)"
            )
        )
    if ds.images is not None:
        if len(rows) == 1:
            st.image(display.upscale(run_view.thumbnails(result, rows)[0], 200), width=200)
            st.markdown(explore.point_details(view, int(rows[0])))
        else:
            shown = rows[:60]
            captions = [f"{ds.ids[i]} · c{run_view.cluster_name(view.clusters.labels[i])}" for i in shown]
            display.image_grid(run_view.thumbnails(result, shown), captions, columns=5, width=64)
            if len(rows) > len(shown):
                st.caption(f"The first {len(shown)} of {len(rows):,} images.")
    else:
        st.dataframe(run_view.selection_table(view, rows[:2000]), hide_index=True, width="stretch", height=320)
    downloads.download(
        "Download the selection (CSV)",
        lambda: explore.selection_csv(view, rows),
        rows=len(rows),
        owner=(view, rows),
        key="selection",
        file_name=f"{file_stem(ds.name)}-selection.csv",
        mime="text/csv",
        help=SPREADSHEET_NOTE,
    )


def cached(name: str, key: tuple, make):
    """``make()``, kept in the session under ``name`` while ``key`` stays the same (one value per name)."""
    hold = st.session_state.get(name)
    if hold is None or hold[0] != key:
        hold = (key, make())
        st.session_state[name] = hold
    return hold[1]


def search_box() -> np.ndarray | None:
    """Search by words (or a regular expression) or by a similar row: the rows found (None: no search), listed
    (a similar row's neighbours with their distances, and side by side when they are images)."""
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
        hits = cached(
            "search_cache", (run_tag, id(result), text, regex), lambda: search_text(view, TextQuery(text, regex=regex))
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
    similar = cached("similar_cache", (run_tag, id(result), row, int(k)), lambda: similar_rows(view, row, int(k)))
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


def filter_box() -> tuple[np.ndarray | None, str | None, list]:
    """Pick columns and narrow each: (the filter's mask (n,) or None, its expression or None, the columns
    picked)."""
    columns = cached(
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


def linked_histograms(columns: list, inside: np.ndarray, what: str) -> None:
    """Beside the map: each filtered column's histogram, every row in grey and the rows ``inside`` (the
    selection, else the rows in focus) over it."""
    shown = [(col, got) for col in columns if (got := curate.column_values(view, col, curation.labels)) is not None]
    if not shown:
        return
    st.caption(f"The filtered columns: every row in grey, {what} in blue.")
    for at, (col, (values, categorical)) in zip(st.columns(min(3, len(shown))) * 4, shown[:12], strict=False):
        fig = linked.linked_histogram(values, inside, col.label, categorical=categorical, focus_name=what)
        at.plotly_chart(fig, key=f"linked-{run_tag}-{col.label}", width="stretch", config={"displayModeBar": False})


def duplicates_box() -> None:
    """The near-duplicate groups of the whole run, under a threshold the user moves."""
    if not st.checkbox(
        "Find near-duplicates",
        key=f"dups-{run_tag}",
        help="Pairs of rows closer than the threshold in the space the run clustered, grouped.",
    ):
        return
    first = cached(
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
        else cached(
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


def edits() -> tuple:
    """What names the curation's state for the caches (:func:`pages.ui.curation.edits`)."""
    return curation_ui.edits(curation)


def edit(fn, *args) -> None:
    """A curation edit (a button's callback): done, or its error shown; the page redraws the map. The
    widgets that name clusters start again: a merge or a split changes which clusters there are."""
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


def save_curation_now() -> None:
    session.workspace().messages.append(
        ("success", curate.save(curation, result, session.runs_root(), read_only=session.read_only()))
    )


def curation_box(rows: np.ndarray) -> None:
    """Merge, split, recluster the selection, rename, undo; the history; save."""
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
            args=(lambda: curation.merge(*merging),),
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
            args=(lambda: curation.split(int(splitting), method=how, k=int(k) or None),),
        )
        st.button(
            f"Recluster the {len(rows):,} selected rows",
            key=f"recluster-{run_tag}",
            disabled=len(rows) < 4,
            on_click=edit,
            args=(lambda: curation.recluster(rows, method=how, k=int(k) or None),),
        )
    with c2:
        renaming = st.selectbox("Rename a cluster", clusters, key=f"rename-{run_tag}", format_func=label)
        new_name = st.text_input("New name", key=f"rename-to-{run_tag}")
        st.button(
            "Rename",
            key=f"rename-go-{run_tag}",
            disabled=renaming is None,
            on_click=edit,
            args=(lambda: curation.rename(int(renaming), new_name),),
        )
        st.button(
            "Undo", key=f"undo-{run_tag}", icon="↩️", disabled=not curation.steps, on_click=edit, args=(curation.undo,)
        )
        st.button(
            "Save curation",
            key=f"save-curation-{run_tag}",
            icon="💾",
            disabled=not curation.steps,
            on_click=edit,
            args=(save_curation_now,),
            help="Writes the history and the curated labels beside the saved run (its own labels stay).",
        )
    if curation.steps:
        st.markdown(
            "**History**  \n"
            + "  \n".join(f"{i}. {markdown_text(line)}" for i, line in enumerate(curation.history(), 1))
        )
    else:
        st.caption("No edit yet: the map shows the run's own clusters.")


with feedback.guard("Explore"):
    curation = curation_ui.of(result)
    # the run with the curated clusters (the run itself until an edit), one object per edit: files prepared
    # for download stay while it does
    view = cached("curated_view", (run_tag, id(result), edits()), lambda: curate.curated_view(result, curation))
    names = curation.names
    color_by, cap = view_settings()
    s1, s2 = st.columns(2)
    hits = keep = expression = None  # a search or a filter that fails shows why, and the map stays
    filtered: list = []
    with s1, st.expander("🔎 Search", expanded=True), feedback.guard("Search"):
        hits = search_box()
    with s2, st.expander("🧮 Filter", expanded=True), feedback.guard("Filter"):
        keep, expression, filtered = filter_box()
    in_focus = curate.focus(result.dataset.n, keep, hits)
    o1, o2, _ = st.columns(3)
    with o1:
        names_on_map = w.checkbox("Names on the map", w.pkey("names_on_map"), True)
    with o2:
        contours = w.checkbox("Density contours", w.pkey("contours"), False, help="Where the points are dense.")
    fig = scatter_figure(color_by, cap, in_focus, names_on_map, contours)
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(
            fig, key=f"scatter-{run_tag}", on_select="rerun", selection_mode=("box", "lasso", "points"), width="stretch"
        )
        meta = fig.layout.meta or {}
        if meta.get("density"):
            st.caption(
                f"All {meta['total']:,} points are drawn as a density image; {meta['shown']:,} of them, a "
                "uniform sample, as markers on top (hover, click). A box or lasso selects every point inside it."
            )
        elif meta.get("shown", 0) < meta.get("total", 0):
            st.caption(
                f"Showing {meta['shown']:,} of {meta['total']:,} points: a uniform sample. "
                "Clustering and scores use every point."
            )
    inside = (
        explore.rows_in_selection(result.embedding, event.selection) if event else None
    )  # every point in a box / lasso
    rows = inside if inside is not None else maps.rows_from_selection(event.selection.points if event else [])
    with right:
        clusters = explore.cluster_ids(view)
        picked = w.multiselect(
            "Or pick clusters to inspect",
            clusters,
            key=w.pkey("pick", run_tag),
            format_func=lambda c: plain_text(curate.label_texts(np.array([c]), names)[0]),
        )
        if len(rows) == 0 and picked:
            rows = np.flatnonzero(np.isin(view.clusters.labels, picked))
        chose = len(rows) > 0  # a box, a lasso, a click or picked clusters
        rows = curate.combine(rows, in_focus)  # a selection within the filter and the search (AND)
        if len(rows):
            if len(rows) == 1 or inside is None:
                st.button(
                    "Rows like the first selected one",
                    key=f"like-{run_tag}",
                    on_click=lambda r=str(view.dataset.ids[rows[0]]): st.session_state.update(
                        {w.pkey("search_mode", run_tag): "a similar row", f"similar-{run_tag}": r}
                    ),
                )
            drawn = maps.sample_indices(result.dataset.n, cap)
            note = explore.selection_note(rows, drawn, result.dataset.n) if inside is not None else None
            if expression:
                note = (note + " " if note else "") + "Only the rows that pass the filter above."
            selection_panel(rows, note)
        else:
            st.caption(
                "Drag a box or a lasso over the map, or click a point, to see what is there. "
                "Unselected points stay visible, greyed. Double-click the map to clear the selection."
            )
    if filtered:
        with left, feedback.guard("The filtered columns"):
            linked_histograms(filtered, rows, "the selected rows" if chose else "the rows in focus")
    with st.expander("👯 Near-duplicates"):
        duplicates_box()
    with st.expander("✂️ Curate the clusters: merge, split, recluster, rename", expanded=bool(curation.steps)):
        curation_box(rows)
