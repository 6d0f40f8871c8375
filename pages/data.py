"""Data: pick a bundled sample, upload files or (where the operator allows it) name a path or URL on
the server; preview them; choose the label, ID and feature columns."""

from __future__ import annotations

import streamlit as st

from explorer.dashboard import data as data_page
from explorer.data import SAMPLES, SCALINGS, SUPPORTED_EXTENSIONS, sniff_kind
from explorer.display.usertext import markdown_text, plain_text
from pages.ui import display, feedback, loading, session, widgets as w

SAMPLE_TITLES = {
    "penguins": "Palmer penguins (table, 344 rows)",
    "mnist_digits": "MNIST digits (3,000 images, 28x28)",
    "clipart": "Clip art in colour (150 pictures: birds, bugs, flowers, fruit, vehicles)",
}
SOURCES = ("A bundled sample", "My own files")
SERVER_SOURCE = "A path or URL on the server"  # offered only when the operator allows one (docs/SECURITY.md)

st.title("📂 Data")
ws = session.workspace()
feedback.show_messages()
server_policy = loading.server_policy()


def choose_source() -> tuple[str, str, object, str | None] | None:
    """(source key, file name, data, sample name) of what the user picked, or None (nothing uploaded)."""
    offered = SOURCES + ((SERVER_SOURCE,) if server_policy is not None else ())
    source = w.radio("Source", offered, key=w.pkey("data", "source"), horizontal=True)
    if source == SERVER_SOURCE:
        spec = w.text(
            "Path or URL on the server",
            w.pkey("data", "server_path"),
            "",
            placeholder="big/customers.parquet or s3://bucket/table.csv",
            help=server_policy.describe() + " Files above the upload cap can be read this way; "
            "the row, memory and time caps still apply.",
        )
        if not spec.strip():
            st.info("Type the path of a file in the server's data folder, or a URL, and press Enter.")
            return None
        typed = loading.server_source(spec)
        return None if typed is None else (*typed, None)
    if source == SOURCES[0]:
        sample = w.selectbox(
            "Sample",
            list(SAMPLES),
            key=w.pkey("data", "sample"),
            default=loading.DEFAULT_SAMPLE,
            format_func=lambda s: SAMPLE_TITLES.get(s, s),
        )
        return (*loading.sample_source(sample), sample)
    # No type= filter: Streamlit would refuse other files with an exception before the page runs; the
    # loader names what it can read instead, in an error box.
    files = st.file_uploader(
        "Tables (CSV, TSV, Parquet), images (PNG, JPEG, … or a zip of them) or arrays / embeddings (.npy, .npz)",
        accept_multiple_files=True,
        key="upload",
        help="Readable: " + ", ".join(SUPPORTED_EXTENSIONS),
    )
    picked = loading.take_upload(files)  # kept in the session (within its upload budget): Streamlit
    if picked is None:  # forgets the upload when the user visits another page
        if not files:
            st.info("Upload a file to start, or pick a bundled sample above.")
        return None
    key, data, name = picked
    return key, name, data, None


def table_options(key: str, name: str, data: object, sample: str | None) -> tuple:
    """Preview the table and return (label, id, feature columns or None for all, scaling, text embedding, text
    weight)."""
    rows, summary = loading.table_preview(key, data, name)
    st.markdown(
        f"**Preview** of {markdown_text(name)}: {len(rows):,} rows read for the preview, {len(rows.columns)} columns"
    )
    tab_cols, tab_rows = st.tabs(["Columns (type, missing values)", "First rows"])
    tab_cols.dataframe(summary, hide_index=True, width="stretch")
    tab_rows.dataframe(rows.head(200), width="stretch")
    columns = [str(c) for c in rows.columns]
    label_default, id_default, _, scaling_default, *_ = loading.default_table_options(sample)
    c1, c2, c3 = st.columns(3)
    with c1:
        label = w.selectbox(
            "Label column (optional; evaluation only, never used to fit)",
            [None, *columns],
            key=w.pkey("label", key),
            default=label_default,
            format_func=lambda c: "— none —" if c is None else plain_text(c),
        )
    with c2:
        id_col = w.selectbox(
            "ID column (optional)",
            [None, *columns],
            key=w.pkey("id", key),
            default=id_default,
            format_func=lambda c: "— row number —" if c is None else plain_text(c),
        )
    with c3:
        scaling = w.radio(
            "Scaling",
            list(SCALINGS),
            key=w.pkey("scaling", key),
            default=scaling_default,
            horizontal=True,
            help="auto: columns that share one range (pixels, coordinates, 1-5 answers) are scaled together to 0 to 1, "
            "others standardized; standard: mean 0, standard deviation 1; minmax: each column 0 to 1; "
            "none: as they are",
        )
    usable = [c for c in columns if c not in (label, id_col)]
    chosen = w.multiselect(
        "Columns to use as features",
        usable,
        key=w.pkey("features", key, label, id_col),
        default=usable,
        format_func=plain_text,
        help="Free text is embedded and dates become ages and cycles; IDs, names, codes, constant and empty "
        "columns are dropped automatically.",
    )
    embedding, weight = text_options(key, data_page.text_columns(rows, summary, chosen))
    return (label, id_col, None if chosen == usable else tuple(chosen), scaling, embedding, weight)


def text_options(key: str, texts: list[str]) -> tuple[str, float]:
    """The text embedding and the text block's weight (the CLI's --text-embedding and --text-weight), offered
    where the chosen columns hold free text; the defaults otherwise."""
    if not texts:
        return "auto", 1.0
    offered = data_page.offered_text_embeddings()
    c1, c2 = st.columns(2)
    with c1:
        embedding = w.selectbox(
            f"Text embedding (free text in {', '.join(plain_text(t) for t in texts)})",
            offered,
            key=w.pkey("text_embedding", key),
            default="auto",
            format_func=data_page.describe_text_embedding,
            help=" ".join(data_page.TEXT_EMBEDDING_HELP[e] for e in offered),
        )
    with c2:
        weight = w.number(
            "Text weight",
            w.pkey("text_weight", key),
            1.0,
            min_value=0.1,
            max_value=10.0,
            step=0.25,
            help=data_page.TEXT_WEIGHT_HELP,
        )
    st.caption(markdown_text(data_page.TEXT_EMBEDDING_HELP[embedding]))
    return embedding, float(weight)


def image_options(key: str) -> tuple:
    c1, c2 = st.columns(2)
    with c1:
        mode = w.radio(
            "Colour",
            ["auto", "L", "RGB"],
            key=w.pkey("img_mode", key),
            horizontal=True,
            format_func={"auto": "auto", "L": "grayscale", "RGB": "colour"}.get,
        )
    with c2:
        side = w.number(
            "Longest side (pixels; larger images are shrunk)",
            w.pkey("img_side", key),
            64,
            min_value=8,
            max_value=256,
            step=8,
        )
    return (mode, int(side))


def load_if_changed(
    key: str, name: str, data: object, table: tuple | None, images: tuple | None, sample: str | None
) -> None:
    if sample:
        loading.load_sample(ws, key, data, name, table, images, f"sample {sample}")
    elif isinstance(data, loading.ServerSpec):
        loading.load_server(key, data, table, images, f"server file {name}")
    else:
        loading.load_upload(key, data, name, table, images, f"upload {name}")


picked = None
with feedback.guard("Reading the data"):
    picked = choose_source()
if picked is not None:
    key, name, data, sample = picked
    with feedback.guard():  # the message names the file itself
        kind = (
            data.kind
            if isinstance(data, loading.ServerSpec)
            else "images"
            if isinstance(data, list)
            else sniff_kind(name)
        )
        table = image = None
        if kind == "table":
            table = table_options(key, name, data, sample)
        elif kind == "images":
            image = image_options(key)
        load_if_changed(key, name, data, table, image, sample)

ds = ws.dataset
if ds is None:
    st.stop()
st.divider()
st.subheader(f"In use: {markdown_text(ds.name)}", anchor=False)  # no anchor made from a user's name
st.markdown(
    f"**{ds.n:,} rows × {ds.X.shape[1]:,} features** ({ds.kind})"
    + (f", labels: {ds.n_classes} classes" if ds.labels is not None else ", no labels")
)
with st.expander("What the loader did", expanded=True):
    st.markdown("\n".join(f"- {markdown_text(note)}" for note in ds.report.notes) or "Nothing needed doing.")
if ds.images is not None:
    st.markdown("**Some of the images**")
    show = min(32, ds.n)
    captions = [str(ds.labels[i]) if ds.labels is not None else None for i in range(show)]
    display.image_grid(
        [ds.images[i, ..., 0] if ds.images.shape[-1] == 1 else ds.images[i] for i in range(show)],
        captions,
        columns=16,
        width=48,
    )
elif ds.kind == "embeddings":
    import pandas as pd

    st.dataframe(pd.DataFrame(ds.X[:100, :50], columns=ds.feature_names[:50], index=ds.ids[:100]), width="stretch")
st.page_link("pages/train.py", label="Next: train a representation", icon="🧠")
