"""Cluster: group the latent space (k-means, GMM, HDBSCAN, agglomerative, N2D, DEC, IDEC), see the k sweep
and the cluster sizes. In a shared (read-only) run it only shows what was run."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from explorer.cluster.registry import method_names, spec
from explorer.cluster.types import LINKAGES, MAX_DEC_BATCHES, cluster_sizes
from explorer.dashboard import cluster
from explorer.dashboard.run_view import describe_run
from explorer.dashboard.workspace import JobKind
from explorer.display import charts
from explorer.display.usertext import markdown_text
from explorer.limits import Limits
from explorer.pipeline import ProjectionConfig, default_config
from explorer.pipeline.defaults import REFINE_MIN_IMAGES, refine_skipped_for
from explorer.project import PROJECTION_LABELS, PROJECTION_METHODS, TSNE_SLOW_ROWS
from pages.ui import display, feedback, progress, session, widgets as w

st.title("🧩 Cluster")
ws, manager = session.workspace(), session.job_manager()
feedback.show_messages()


def show_run(result) -> None:
    """What a run found: its scores, the k sweep and the cluster sizes."""
    st.caption(markdown_text(describe_run(result)))
    m = result.metrics
    cols = st.columns(5)
    cols[0].metric("clusters", result.clusters.k)
    cols[1].metric("silhouette", display.metric_value(m.get("silhouette")))
    if m.get("acc") is not None:
        cols[2].metric("accuracy (matched)", display.metric_value(m.get("acc")))
        cols[3].metric("NMI", display.metric_value(m.get("nmi")))
    if m.get("n_noise"):
        cols[4].metric("noise points", f"{m['n_noise']:,}")
    sweep = result.clusters.sweep
    left, right = st.columns(2)
    with left:
        if sweep is not None:
            st.plotly_chart(
                charts.k_sweep(
                    sweep.ks, sweep.silhouette, sweep.bic, sweep.suggested, sweep.stability, sweep.modularity
                ),
                width="stretch",
            )
            st.caption(f"The sweep suggests **k = {sweep.suggested}** (by {sweep.criterion}).")
            if sweep.reason:
                st.caption(sweep.reason)
        else:
            st.caption("k was given, so no k sweep ran; tick “choose k by a sweep” to see one.")
    with right:
        sizes = cluster_sizes(result.clusters.labels)
        st.plotly_chart(charts.cluster_sizes(sizes["cluster"].tolist(), sizes["size"].tolist()), width="stretch")
        st.dataframe(sizes.assign(fraction=sizes["fraction"].round(4)), hide_index=True, width="stretch", height=200)


def read_only_summary(result) -> None:
    cfg = result.config
    st.info("A saved run, read-only.")
    st.markdown(
        f"**Data** {markdown_text(result.dataset.name)} ({result.dataset.kind}, {result.dataset.n:,} rows) · "
        f"**model** {cfg.model.kind} (latent {result.Z.shape[1]}) on {result.device_description or result.device} · "
        f"**clustering** {result.clusters.method} · **projection** {cfg.projection.method} · **seed** {cfg.seed}"
    )
    if result.history:
        st.plotly_chart(charts.loss_curve(result.history), width="stretch")
    show_run(result)


def cluster_settings(base, n: int, default_method: str, images: bool = False):
    """The clustering and projection the widgets describe."""
    d = base.cluster
    c1, c2, c3 = st.columns(3)
    with c1:
        method = w.selectbox(
            "Clustering",
            list(method_names()),
            key=w.pkey("method"),
            default=d.method,
            format_func=lambda name: spec(name).label,
            help=f"The default for these data: {spec(default_method).label}.",
        )
    changes = {"method": method}
    chosen = spec(method)
    uses = chosen.settings  # the config fields the method reads: their widgets are shown
    with c2:
        if "min_cluster_size" in uses:
            size = w.number(
                "Min cluster size (0 = automatic)",
                w.pkey("min_cluster_size"),
                0,
                min_value=0,
                max_value=max(n, 2),
                step=1,
            )
            changes["min_cluster_size"] = int(size) or None
        if not chosen.needs_k:
            changes["k"] = None
        elif w.checkbox(
            "Choose k by a sweep",
            w.pkey("auto_k"),
            d.k is None,
            help="A clustering for each k: the mixture keeps the most of its clusters that come back on halves "
            "of the data (stability); the clustering head the k whose clusters keep neighbouring rows together "
            "best (modularity); the other methods the best silhouette, ties broken by BIC.",
        ):
            top = w.slider("Largest k to try", w.pkey("k_max"), min(15, max(2, n - 1)), 2, max(2, min(30, n - 1)))
            changes.update(k=None, k_range=(2, int(top)))
        else:
            k = w.number(
                "k (clusters)", w.pkey("k"), min(d.k or 3, max(n - 1, 2)), min_value=2, max_value=max(n - 1, 2), step=1
            )
            changes.update(k=int(k))
    with c3:
        if "linkage" in uses:
            changes["linkage"] = w.selectbox("Linkage", list(LINKAGES), key=w.pkey("linkage"))
        if "umap_neighbors" in uses:
            changes["umap_neighbors"] = int(
                w.number(
                    "UMAP neighbours", w.pkey("umap_neighbors"), d.umap_neighbors, min_value=2, max_value=200, step=1
                )
            )
        if "dec_max_iter" in uses:
            changes["dec_max_iter"] = int(
                w.number(
                    "DEC/IDEC iterations (batches)",
                    w.pkey("dec_iter"),
                    d.dec_max_iter,
                    min_value=1,
                    max_value=MAX_DEC_BATCHES,
                    step=100,
                )
            )
            if "idec_gamma" in uses:
                changes["idec_gamma"] = float(
                    w.number(
                        "IDEC clustering weight γ",
                        w.pkey("idec_gamma"),
                        d.idec_gamma,
                        min_value=0.0,
                        max_value=10.0,
                        step=0.05,
                    )
                )
    if refine_skipped_for(images, replace(base, cluster=replace(d, method=method))):
        changes["refine"] = False
    else:
        changes["refine"] = w.checkbox(
            "Refine on shifted and rotated copies",
            w.pkey("refine"),
            bool(d.refine),
            help="After the clustering, the encoder trains further so that a slightly moved or turned image lands "
            "in its original's cluster (IDEC on augmented copies, as DEC-DA), then the clustering runs again "
            f"on the refined code. It raised the scores on MNIST; on by default from {REFINE_MIN_IMAGES:,} images "
            "(on smaller sets it lowered them). Needs an autoencoder; takes about as long as training again.",
        )
    projection = w.selectbox(
        "Projection for the scatter",
        list(PROJECTION_METHODS),
        key=w.pkey("projection"),
        default=base.projection.method,
        format_func=PROJECTION_LABELS.get,
    )
    if projection == "tsne" and n > TSNE_SLOW_ROWS:
        st.warning(f"t-SNE on {n:,} rows takes minutes; UMAP is faster.")
    return replace(base, cluster=replace(d, **changes), projection=ProjectionConfig(method=projection))


if session.read_only():
    read_only_summary(session.viewed_run())
    st.stop()

ds = session.need_dataset()
cfg = None
with feedback.guard("Settings"):
    defaults = default_config(ds)
    cfg = cluster_settings(ws.config or defaults, ds.n, defaults.cluster.method, images=ds.images is not None)
    ws.config = cfg
if cfg is None:
    st.stop()
notice = cluster.run_notice(ws, cfg)
if notice is not None:
    {"warning": st.warning, "info": st.info}[notice[0]](notice[1])

running = progress.job_progress(JobKind.RUN, show_loss=True)
if not running:
    cached = ws.show_run(cfg)  # the same settings again: the run comes back at once
    if not cached:
        training = ws.job(manager, JobKind.TRAIN) is not None  # one model at a time: wait for the Train page's
        st.button(
            "Run clustering",
            type="primary",
            icon="▶️",
            on_click=feedback.safely,
            args=(cluster.start_run, ws, manager, cfg, Limits.from_env()),
            disabled=training,
            help="Training is still running on the Train page" if training else None,
        )
    result = ws.result
    if result is not None:
        if not cached:
            st.caption("Below: the last run, made with other settings. Press **Run clustering** for these.")
        show_run(result)
        st.page_link("pages/explore.py", label="Next: explore the clusters", icon="🔭")
