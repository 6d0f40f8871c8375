"""Share: save the run (a folder of plain files), get a read-only link to it, download its parts."""

from __future__ import annotations

import streamlit as st

from explorer.dashboard import curate, explore, run_view
from explorer.display import maps
from explorer.display.usertext import SPREADSHEET_NOTE, file_stem
from explorer.runs import exports
from pages.ui import curation, downloads, feedback, links, session

st.title("🔗 Share")
feedback.show_messages()
result = session.need_result()
shown = curation.shown(result)  # the curated clusters when the Explore page edited them: what the files hold
ds = result.dataset
root = session.runs_root()
stem = f"{file_stem(ds.name)}-{result.run_id or 'run'}"  # a file name made from the user's name: safe characters only


def scatter_html() -> str:
    values, kind = explore.color_values(shown, "cluster")
    fig = maps.scatter(
        shown.embedding,
        color=values,
        color_kind=kind,
        color_name="cluster",
        hovertext=lambda rows: explore.hover_texts(shown, rows),
        title=run_view.describe_run(result) + (" · curated clusters" if shown is not result else ""),
    )
    if shown.explanation is None:
        return maps.standalone_html(fig)
    from explorer.explain.report import to_html, typical_pictures

    pictures = typical_pictures(ds.images, shown.explanation) if ds.images is not None else None  # image runs
    return maps.standalone_html(fig, after=to_html(shown.explanation, pictures=pictures))  # explained, below the map


def save(run, its_curation, where: str) -> None:
    said = curate.save_run_and_curation(run, its_curation, where)
    if its_curation.steps:  # the page says "Saved as run ..." itself; this says where the curation went
        session.workspace().messages.append(("success", said))


with feedback.guard("Saving"):
    if result.run_id is None and not session.read_only():
        st.markdown(
            "Save the run to keep it and to share it: a folder of plain files (JSON, Parquet, "
            "safetensors) in the runs folder."
        )
        st.button(
            "Save this run",
            type="primary",
            icon="💾",
            on_click=feedback.safely,
            args=(save, result, curation.of(result, say=False), root),
            help="With its curation, when its clusters were edited on the Explore page.",
        )
    if result.run_id is not None:
        link = links.share_link(result.run_id)
        st.success(f"Saved as run `{result.run_id}`." if not session.read_only() else f"Saved run `{result.run_id}`.")
        st.markdown("**Read-only link** (anyone who has it can open this run, also after the server restarts):")
        st.code(link, language=None)
        st.caption(
            f"The run is kept in the server's runs folder as `{result.run_id}/`; "
            f"`explorer show {result.run_id}` prints it there."
        )  # never the server's path

st.subheader("Downloads")  # large runs: each file made on a "Prepare" click (pages.ui.downloads)
with feedback.guard("Downloads"):
    c1, c2, c3 = st.columns(3)
    owner = (shown, result.run_id)
    downloads.download(
        "Points (CSV)",
        lambda: exports.points_csv(shown),
        rows=ds.n,
        owner=owner,
        key="points",
        file_name=f"{stem}-points.csv",
        mime="text/csv",
        where=c1,
        help="id, cluster, x, y, anomaly, label, confidence. " + SPREADSHEET_NOTE,
    )
    downloads.download(
        "Latent space (Parquet)",
        lambda: exports.latent_parquet(shown),
        rows=ds.n,
        owner=owner,
        key="latent",
        file_name=f"{stem}-latent.parquet",
        mime="application/octet-stream",
        where=c2,
        help="id, z0 … zk, cluster",
    )
    downloads.download(
        "Model (safetensors)",
        lambda: exports.model_safetensors(result),
        rows=0,
        owner=owner,
        key="model",
        file_name=f"{stem}-model.safetensors",
        mime="application/octet-stream",
        where=c3,
        disabled=result.reducer is None,
        help="the weights; the model's settings are in the file's metadata"
        if result.reducer is not None
        else "no model was trained for this run",
    )  # rows=0: the weights, whatever the rows
    c4, c5, _ = st.columns(3)
    downloads.download(
        "Map and clusters (HTML, works offline)",
        scatter_html,
        rows=ds.n,
        owner=owner,
        key="scatter",
        file_name=f"{stem}-scatter.html",
        mime="text/html",
        where=c4,
    )
    saved = result.run_id is not None
    downloads.download(
        "Whole run (zip)",
        lambda: exports.zip_saved_run(result.run_id, root),
        rows=ds.n,
        owner=owner,
        key="zip",
        file_name=f"{stem}.zip",
        mime="application/zip",
        where=c5,
        disabled=not saved,
        help="every file of the saved run" if saved else "save the run first",
    )
