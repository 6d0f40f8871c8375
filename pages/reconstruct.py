"""Reconstructions and anomalies: what each cluster looks like (its decoded centre), originals beside
the model's reconstructions, the per-feature error of tables, and the rows the model reconstructs worst;
then Generate (a VAE's new examples, interpolation for any model that decodes) and Denoise (a DAE)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.dashboard import reconstruct, run_view
from explorer.dashboard.messages import visitor_text
from explorer.display import charts
from explorer.display.usertext import SPREADSHEET_NOTE, markdown_text
from explorer.reducers import denoise, generate
from pages.ui import display, downloads, feedback, session, widgets as w

st.title("🪞 Reconstructions & anomalies")
feedback.show_messages()
result = session.need_result()
ds = result.dataset
has_model = reconstruct.has_decoder(result)
is_images = ds.images is not None


def cluster_pictures() -> None:
    ids, centres = reconstruct.decoded_centres(result)
    sizes = {int(c): int((result.clusters.labels == c).sum()) for c in ids}
    st.subheader("What each cluster looks like")
    no_model = "The mean image of each cluster (no model: the features are the latent space)."
    st.caption(
        "Each cluster's centre in the latent space, decoded back to an image."
        if has_model
        else no_model
        if result.reducer is None
        else "The mean image of each cluster. " + reconstruct.NO_DECODER
    )
    display.image_grid(
        list(run_view.as_images(centres, ds.image_shape)),
        [f"cluster {c} ({sizes[int(c)]:,})" for c in ids],
        columns=10,
        width=80,
    )
    if not has_model:
        return
    st.subheader("Originals and reconstructions, per cluster")
    c1, c2 = st.columns([2, 1])
    with c1:
        chosen = w.selectbox(
            "Cluster",
            [int(c) for c in ids],
            key=w.pkey("recon_cluster"),
            format_func=lambda c: f"cluster {c} ({sizes[c]:,} rows)",
        )
    with c2:
        count = w.slider("Examples", w.pkey("recon_count"), 10, 2, 30)
    rows = reconstruct.cluster_members(result, chosen, count)
    st.caption("Top: originals · bottom: reconstructions")
    display.image_grid(
        run_view.thumbnails(result, rows), [str(ds.ids[i])[-14:] for i in rows], columns=min(10, len(rows)), width=64
    )
    display.image_grid(
        list(run_view.as_images(reconstruct.reconstructions(result, rows), ds.image_shape)),
        None,
        columns=min(10, len(rows)),
        width=64,
    )


def table_errors() -> None:
    st.subheader("Reconstruction error per feature")
    if not has_model:
        st.info("No model was trained (the features were used as they are), so there are no reconstructions.")
        return
    clusters = ["all rows"] + [int(c) for c in np.unique(result.clusters.labels)]
    chosen = w.selectbox(
        "Rows",
        clusters,
        key=w.pkey("feature_error_rows"),
        format_func=lambda c: c if isinstance(c, str) else f"cluster {run_view.cluster_name(c)}",
    )
    index = None if isinstance(chosen, str) else np.flatnonzero(result.clusters.labels == chosen)
    errors = reconstruct.feature_errors(result, index)
    st.plotly_chart(charts.feature_errors(errors["feature"].tolist(), errors["error"].to_numpy()), width="stretch")
    st.caption(
        "Features the model reconstructs badly are the ones the latent space does not capture (in scaled units)."
    )
    ids, centres = reconstruct.decoded_centres(result)
    import pandas as pd

    st.markdown("**Cluster centres, decoded to the features** (scaled units)")
    st.dataframe(pd.DataFrame(centres, columns=ds.feature_names, index=[f"cluster {c}" for c in ids]), width="stretch")


def anomalies() -> None:
    st.subheader("Anomalies")
    what = "reconstruction error" if has_model else "squared distance to the cluster centre"
    n = w.slider("How many", w.pkey("anomaly_count"), 20, 5, 100)
    top = reconstruct.top_anomalies(result, n)
    cut = float(result.anomaly[top[-1]]) if len(top) else None
    st.plotly_chart(charts.histogram(result.anomaly, f"anomaly score ({what})", marker=cut), width="stretch")
    st.caption(f"The {len(top)} rows with the highest {what}, highest first.")
    if is_images:
        captions = [f"{ds.ids[i]} · {result.anomaly[i]:.3g}" for i in top]
        display.image_grid(run_view.thumbnails(result, top), captions, columns=10, width=64)
    else:
        st.dataframe(run_view.selection_table(result, top), hide_index=True, width="stretch")


def show_generated(
    X: np.ndarray, captions: list[str] | None = None, row_label: str = "sample", key: str = "samples"
) -> None:
    """Generated rows as a strip of thumbnails (images) or a table in the data's units, with downloads:
    the images as one PNG strip and as a zip of PNGs, the rows as CSV (formula-safe)."""
    thumbs, frame, notes = reconstruct.generated_view(result, X)
    labels = captions or [str(i + 1) for i in range(len(X))]
    if thumbs is not None:
        display.image_grid(thumbs, captions, columns=min(10, len(thumbs)), width=64)
        c1, c2, _ = st.columns(3)
        downloads.download(
            "Download as one PNG strip",
            lambda: generate.png_strip(thumbs),
            rows=len(X),
            owner=(result, X),
            key=f"strip_{key}",
            file_name=f"{key}.png",
            mime="image/png",
            where=c1,
            help="the images side by side at their own size, in the order shown",
        )
        downloads.download(
            "Download as PNGs (zip)",
            lambda: generate.png_zip(thumbs, labels, row_label),
            rows=len(X),
            owner=(result, X),
            key=f"zip_{key}",
            file_name=f"{key}.zip",
            mime="application/zip",
            where=c2,
            help="one PNG per image, numbered in the order shown",
        )
        return
    assert frame is not None  # rows that are not images come back as a table
    frame.insert(0, row_label, labels)
    st.dataframe(frame, hide_index=True, width="stretch")
    for note in notes:
        st.caption(visitor_text(note))
    downloads.download(
        "Download these rows (CSV)",
        lambda: generate.rows_csv(ds, X, labels, row_label),
        rows=len(X),
        owner=(result, X),
        key=f"csv_{key}",
        file_name=f"{key}.csv",
        mime="text/csv",
        help="in the data's own units. " + SPREADSHEET_NOTE,
    )


def generate_section() -> None:
    st.subheader("Generate")
    can = generate.support(result)
    if not can.interpolate:
        st.info(can.why_not_interpolate)
        return
    clusters = [int(c) for c in reconstruct.cluster_centres(result)[0]]
    names = run_view.cluster_names(result)

    def cluster_label(c: int) -> str:
        return names.get(c) or f"cluster {run_view.cluster_name(c)}"

    if can.sample:
        st.caption("New examples decoded from the VAE's latent space (seeded: the same draw on every rerun).")
        c1, c2 = st.columns([2, 1])
        with c1:
            source = w.selectbox(
                "Draw from",
                ["prior", "each", *clusters],
                key=w.pkey("gen_source"),
                format_func=lambda c: {"prior": "the prior, N(0, I)", "each": "every cluster's region"}.get(
                    c, f"the region of {cluster_label(c)}" if isinstance(c, int) else str(c)
                ),
            )
        with c2:
            count = w.slider("Samples", w.pkey("gen_count"), 10, 2, 40)
        seed = reconstruct.GENERATE_SEED
        if source == "each":
            per = max(1, min(count, generate.MAX_SAMPLES // max(len(clusters), 1)))
            of, X = generate.sample_each_cluster(result, per, seed)
            st.caption(f"{per} from each cluster's region, one cluster a row.")
            if is_images:
                for c in dict.fromkeys(of.tolist()):
                    st.markdown(f"**{markdown_text(cluster_label(c))}**")
                    show_generated(X[of == c], key=f"samples-cluster{c}")
            else:
                show_generated(X, [cluster_label(c) for c in of], row_label="cluster")
        else:
            X = (
                generate.sample_prior(result.reducer, count, seed)
                if source == "prior"
                else generate.sample_cluster(result, int(source), count, seed)
            )
            show_generated(X)
    else:
        st.info(can.why_not_sample)
    st.markdown("**Interpolation**")
    between = w.radio(
        "Between",
        ["clusters", "rows"],
        key=w.pkey("interp_between"),
        horizontal=True,
        format_func=lambda v: {"clusters": "two cluster centres", "rows": "two rows (by id)"}[v],
    )
    c1, c2, c3 = st.columns(3)
    if between == "clusters":
        if len(clusters) < 2:
            st.info("Interpolation between clusters needs two clusters; this run has fewer.")
            return
        with c1:
            a = w.selectbox("From", clusters, key=w.pkey("interp_a"), default=clusters[0], format_func=cluster_label)
        with c2:
            b = w.selectbox("To", clusters, key=w.pkey("interp_b"), default=clusters[1], format_func=cluster_label)
    else:
        ids = result.dataset.ids
        with c1:
            a = w.text("From row id", w.pkey("interp_row_a"), str(ids[0]))
        with c2:
            b = w.text("To row id", w.pkey("interp_row_b"), str(ids[-1]))
    with c3:
        steps = w.slider("Steps", w.pkey("interp_steps"), 8, 3, min(20, generate.MAX_STEPS))
    method: generate.Path = "linear"
    if can.sample:
        method = w.radio(
            "Path",
            ["linear", "spherical"],
            key=w.pkey("interp_path"),
            horizontal=True,
            help="Spherical follows the VAE's Gaussian prior, whose mass lies near a sphere, "
            "instead of cutting through its centre.",
        )
    z_a, z_b = reconstruct.interpolation_codes(result, between, a, b)
    strip = generate.interpolate(result.reducer, z_a, z_b, steps, method)
    ends = (cluster_label(a), cluster_label(b)) if between == "clusters" else (str(a), str(b))
    captions = [ends[0][:14]] + [f"{i / (steps - 1):.2f}" for i in range(1, steps - 1)] + [ends[1][:14]]
    st.caption(
        f"{method.capitalize()} path through the latent space, decoded: the first and last are the two ends' decodings."
    )
    show_generated(strip, captions, row_label="step", key="interpolation")


def denoise_section() -> None:
    st.subheader("Denoise")
    can = generate.support(result)
    if not can.denoise:
        st.info(can.why_not_denoise)
        return
    trained = denoise.training_noise(result.reducer)
    top = float(max(1.0, round(3 * trained, 2)))
    key = w.pkey("denoise_noise")
    if not isinstance(st.session_state.get(key), float) or not 0.0 <= st.session_state[key] <= top:
        st.session_state[key] = float(trained)
    level = st.slider(
        "Noise (std of the Gaussian noise added to each value)",
        min_value=0.0,
        max_value=top,
        step=0.01,
        key=key,
        persist_state="session",
        help=f"The model was trained with noise {trained:g}; higher shows how far its cleaning carries.",
    )
    if is_images:
        count = w.slider("Examples", w.pkey("denoise_count"), 10, 2, 30)
        rows = np.sort(np.random.default_rng(reconstruct.GENERATE_SEED).choice(ds.n, min(count, ds.n), replace=False))
        out = denoise.denoise(result, rows, level, reconstruct.GENERATE_SEED)
        st.caption("Top: originals · middle: with the noise · bottom: the model's reconstruction of the noisy ones")
        columns = min(10, len(rows))
        display.image_grid(
            run_view.thumbnails(result, rows), [str(ds.ids[i])[-14:] for i in rows], columns=columns, width=64
        )
        display.image_grid(list(run_view.as_images(out.noisy, ds.image_shape)), None, columns=columns, width=64)
        display.image_grid(list(run_view.as_images(out.denoised, ds.image_shape)), None, columns=columns, width=64)
    else:
        out = denoise.denoise(result, None, level, reconstruct.GENERATE_SEED)
        frame = denoise.column_errors(out, list(ds.feature_names))
        st.dataframe(
            frame.rename(
                columns={
                    "noisy": "error with noise",
                    "denoised": "error after denoising",
                    "removed": "share removed",
                    "reconstruction": "error on clean rows",
                }
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            f"Per feature, mean squared error against the clean values (scaled units), over {len(out.rows):,} rows."
        )
    st.markdown(reconstruct.denoise_summary(out.errors()))


with feedback.guard("Reconstructions"):
    if is_images:
        cluster_pictures()
    else:
        table_errors()
with feedback.guard("Anomalies"):
    anomalies()
with feedback.guard("Generate"):
    generate_section()
with feedback.guard("Denoise"):
    denoise_section()
