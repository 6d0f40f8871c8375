"""Understand the clusters: what each one is in the data's own units, what sets it apart, its rule, its
name, its typical and borderline members, and whether it would come back on another run."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.dashboard import reconstruct, run_view, understand
from explorer.display import charts
from explorer.display.usertext import markdown_text, plain_text
from pages.ui import curation, display, feedback, session, widgets as w

st.title("🔎 Understand the clusters")
feedback.show_messages()
result = curation.shown(session.need_result())  # the curated clusters when the Explore page edited them
curated = "curated" in result.clusters.info
ds = result.dataset
is_images = ds.images is not None
key = result.run_id or str(id(result))

if result.explanation is None:
    st.info(
        "The curated clusters are not explained yet (profiles, rules, stability)."
        if curated
        else "This run was made without an explanation of its clusters (profiles, rules, stability)."
    )
    if not st.button(f"Explain the {'curated ' * curated}clusters now", icon="🔎", key="explain_now"):
        st.stop()
    with feedback.guard("Explaining the clusters"), st.spinner("Profiles, rules and stability…"):
        understand.explanation_of(result)
ex = result.explanation


def overview() -> None:
    st.subheader("Every cluster at a glance")
    table = understand.overview(ex)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"share": st.column_config.ProgressColumn("share", format="percent", min_value=0, max_value=1)},
    )
    st.caption(markdown_text(understand.stability_sentence(ex)))  # names flagged clusters: user text
    if ex.meaning:  # latent codes, an encoder's features: no rules; the members carry the meaning
        st.info(markdown_text(ex.meaning))
    elif ex.rules is not None:
        (st.warning if ex.rules.note else st.caption)(markdown_text(understand.fidelity_sentence(ex)))


def rename() -> None:
    names = ex.names
    with st.expander("Rename the clusters", icon="✏️"):
        if session.read_only():
            st.caption("A shared run is read-only: its names are the ones its owner gave.")
            return
        if curated:
            st.caption("Curated clusters are renamed on the Explore page, where the curation's history keeps them.")
            return
        with st.form(f"names:{key}"):
            given = {
                c: st.text_input(f"Cluster {c}", value=names[c], max_chars=60, key=f"name:{key}:{c}") for c in names
            }
            st.caption(
                "Names are saved with the run and used in the map's legend, the tables and the exports. "
                "Leave one empty to go back to its automatic name."
            )
            if st.form_submit_button("Save the names", icon="💾"):
                ex.rename(given)
                if result.run_id:
                    from explorer.errors import InputError, RunNotFound
                    from explorer.runs.files import name_saved_run

                    try:  # a folder or an object store (EXPLORER_RUNS_DIR may be a URL)
                        name_saved_run(result.run_id, ex.names, session.runs_root())
                    except (RunNotFound, InputError):
                        # not saved under this root, or saved without an explanation: the names stay with the session
                        pass
                st.rerun()


def one_cluster() -> None:
    st.subheader("One cluster in detail")
    names = ex.names
    chosen = w.selectbox(
        "Cluster",
        list(names),
        key=w.pkey("understand_cluster", key),
        format_func=lambda c: f"{c}: {plain_text(names[c])}",
    )
    c = ex.cluster(chosen)
    mark = understand.STABILITY_MARK[c.stability]
    st.markdown(
        f"**{markdown_text(c.name)}**: {c.size:,} rows ({c.share:.0%}) · stability: {mark}"
        + (f" (Jaccard {c.jaccard:.2f})" if c.stability else "")
    )
    if c.flagged:
        st.warning(
            "This cluster does not come back reliably on subsamples of the data: its members (and perhaps the "
            "cluster itself) would change on another run. Read it as a tendency, not a group."
        )
    if c.rule:
        st.markdown(
            f"**Rule:** {markdown_text(c.rule)}  \n"
            f"({c.rule_precision:.0%} of the rows it matches are in the cluster; "
            f"it covers {c.rule_coverage:.0%} of the cluster)"
        )
    left, right = st.columns([3, 2])
    with left:
        cols, signed, sentences = understand.separations(ex, chosen)
        if cols:
            st.plotly_chart(
                charts.separations(cols, signed, sentences, "What sets it apart"),
                width="stretch",
                key=f"sep:{key}:{chosen}",
            )
    with right:
        for d in c.distinctions[:5]:
            st.markdown(f"- {markdown_text(d.sentence)} · separation {d.separation:.2f}")
    if is_images:
        inside, rest, diff = understand.mean_images(result, chosen)
        shape = ds.image_shape
        means = [run_view.as_images(m.reshape(1, -1), shape)[0] for m in (inside, rest)]
        pictures, captions = (
            [*means, understand.difference_image(diff)],
            ["cluster's mean", "rest's mean", "difference"],
        )
        if reconstruct.has_decoder(result):
            ids, centres = reconstruct.decoded_centres(result)
            at = [i for i, c in enumerate(ids) if int(c) == chosen]
            if at:
                pictures.append(run_view.as_images(centres[at[:1]], ds.image_shape)[0])
                captions.append("decoded centre")
        elif result.reducer is not None:
            st.caption(reconstruct.NO_DECODER)
        st.markdown(
            "**The cluster's mean image · the rest's · where they differ** (red: brighter in the cluster, "
            "blue: darker)" + (" · **its centre, decoded by the model**" if len(pictures) > 3 else "")
        )
        display.image_grid(pictures, captions, columns=6, width=112)
    profile = understand.profile_of(ex, chosen)
    if profile is not None and ex.on == "columns":
        with st.expander("Profile in the data's own units", expanded=True, icon="📋"):
            if profile.numeric:
                st.dataframe(understand.numeric_table(profile), hide_index=True, width="stretch")
            if profile.categorical:
                st.dataframe(
                    understand.categorical_table(profile),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "in cluster": st.column_config.NumberColumn(format="percent"),
                        "overall": st.column_config.NumberColumn(format="percent"),
                    },
                )
            if profile.text:
                st.dataframe(
                    understand.text_table(profile),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "in cluster": st.column_config.NumberColumn(format="percent"),
                        "rest": st.column_config.NumberColumn(format="percent"),
                    },
                )
    members(c)


def members(c) -> None:
    for title, rows, what in (
        ("Typical members", c.typical, "nearest the cluster's centre"),
        ("Borderline members", c.borderline, "smallest margin to another cluster"),
    ):
        st.markdown(f"**{title}** ({what})")
        if not rows:
            st.caption("none")
            continue
        idx = np.asarray(rows, dtype=np.int64)
        if is_images:
            caps = [f"{str(ds.ids[i])[-12:]} · {ex.points.margin[i]:.2f}" for i in idx]
            display.image_grid(run_view.thumbnails(result, idx), caps, columns=8, width=64)
        else:
            table = run_view.selection_table(result, idx)
            table.insert(2, "margin", ex.points.margin[idx])
            table.insert(3, "runner-up", [ex.names.get(int(r), "-") for r in ex.points.runner_up[idx]])
            st.dataframe(table, hide_index=True, width="stretch")


def one_point() -> None:
    st.subheader("One row")
    ids = [str(i) for i in ds.ids]
    picked = st.text_input("Row id", value=ids[0], key=f"point:{key}", max_chars=200)
    where = np.flatnonzero(np.asarray(ids) == picked.strip())
    if not len(where):
        st.caption("No row has that id.")
        return
    p = understand.point_summary(result, ex, int(where[0]))
    a, b, c, d = st.columns(4)
    a.metric("Cluster", f"{p['cluster']}", help=markdown_text(p["name"]))
    b.metric("Runner-up", "-" if p["runner_up"] < 0 else f"{p['runner_up']}", help=markdown_text(p["runner_up_name"]))
    c.metric(
        "Margin", f"{p['margin']:.2f}", help="0: on the boundary with the runner-up; 1: as deep inside as the centre"
    )
    d.metric(
        "Stays with its cluster",
        "-" if p["co_assignment"] != p["co_assignment"] else f"{p['co_assignment']:.0%}",
        help="Share of the subsamples (that held this row) in which it stayed with its cluster",
    )
    st.caption(f"{markdown_text(p['name'])} · runner-up: {markdown_text(p['runner_up_name'])}")


with feedback.guard("The overview"):
    overview()
with feedback.guard("Names"):
    rename()
with feedback.guard("The cluster"):
    one_cluster()
with feedback.guard("The row"):
    one_point()
