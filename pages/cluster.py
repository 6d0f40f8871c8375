"""Cluster: group the latent space (k-means, GMM, HDBSCAN, agglomerative, N2D, DEC, IDEC), see the k sweep
and the cluster sizes. In a shared (read-only) run it only shows what was run."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from explorer import plots
from explorer.cluster import METHODS, cluster_sizes
from explorer.device import resolve_device
from explorer.limits import Limits
from explorer.pipeline import ProjectionConfig, default_config, run_with_representation
from explorer.project import PROJECTION_METHODS, TSNE_SLOW_ROWS
from explorer.reducers import AE_KINDS
from explorer.views import describe_run
from pages import ui

METHOD_LABELS = {
    "kmeans": "k-means", "gmm": "Gaussian mixture (GMM)", "hdbscan": "HDBSCAN (finds k itself, marks noise)",
    "agglomerative": "agglomerative", "n2d": "N2D: UMAP then GMM (default)",
    "dec": "DEC (refines the autoencoder)", "idec": "IDEC (DEC that keeps reconstructing)",
}
PROJECTION_LABELS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}

st.title("🧩 Cluster")
ws, manager = ui.workspace(), ui.job_manager()
ui.show_messages()


def show_run(result) -> None:
    """What a run found: its scores, the k sweep and the cluster sizes."""
    st.caption(describe_run(result))
    m = result.metrics
    cols = st.columns(5)
    cols[0].metric("clusters", result.clusters.k)
    cols[1].metric("silhouette", ui.metric_value(m.get("silhouette")))
    if m.get("acc") is not None:
        cols[2].metric("accuracy (matched)", ui.metric_value(m.get("acc")))
        cols[3].metric("NMI", ui.metric_value(m.get("nmi")))
    if m.get("n_noise"):
        cols[4].metric("noise points", f"{m['n_noise']:,}")
    sweep = result.clusters.sweep
    left, right = st.columns(2)
    with left:
        if sweep is not None:
            st.plotly_chart(plots.k_sweep(sweep.ks, sweep.silhouette, sweep.bic, sweep.suggested), width="stretch")
            st.caption(f"The sweep suggests **k = {sweep.suggested}** (by {sweep.criterion}).")
        else:
            st.caption("k was given, so no k sweep ran; tick “choose k by a sweep” to see one.")
    with right:
        sizes = cluster_sizes(result.clusters.labels)
        st.plotly_chart(plots.cluster_sizes(sizes["cluster"].tolist(), sizes["size"].tolist()), width="stretch")
        st.dataframe(sizes.assign(fraction=sizes["fraction"].round(4)), hide_index=True, width="stretch", height=200)


def read_only_summary(result) -> None:
    cfg = result.config
    st.info("A saved run, read-only.")
    st.markdown(f"**Data** {result.dataset.name} ({result.dataset.kind}, {result.dataset.n:,} rows) · "
                f"**model** {cfg.model.kind} (latent {result.Z.shape[1]}) on {result.device_description or result.device} · "
                f"**clustering** {result.clusters.method} · **projection** {cfg.projection.method} · **seed** {cfg.seed}")
    if result.history:
        st.plotly_chart(plots.loss_curve(result.history), width="stretch")
    show_run(result)


def cluster_settings(base, n: int):
    """The clustering and projection the widgets describe."""
    d = base.cluster
    c1, c2, c3 = st.columns(3)
    with c1:
        method = ui.selectbox("Clustering", list(METHODS), key=ui.pkey("method"), default=d.method,
                              format_func=METHOD_LABELS.get)
    changes = {"method": method}
    with c2:
        if method == "hdbscan":
            size = ui.number("Min cluster size (0 = automatic)", ui.pkey("min_cluster_size"), 0, min_value=0,
                             max_value=max(n, 2), step=1)
            changes.update(k=None, min_cluster_size=int(size) or None)
        elif ui.checkbox("Choose k by a sweep (silhouette, BIC)", ui.pkey("auto_k"), d.k is None):
            top = ui.slider("Largest k to try", ui.pkey("k_max"), min(15, max(2, n - 1)), 2, max(2, min(30, n - 1)))
            changes.update(k=None, k_range=(2, int(top)))
        else:
            k = ui.number("k (clusters)", ui.pkey("k"), min(d.k or 3, max(n - 1, 2)), min_value=2, max_value=max(n - 1, 2), step=1)
            changes.update(k=int(k))
    with c3:
        if method == "agglomerative":
            changes["linkage"] = ui.selectbox("Linkage", ["ward", "average", "complete", "single"], key=ui.pkey("linkage"))
        elif method == "n2d":
            changes["umap_neighbors"] = int(ui.number("UMAP neighbours", ui.pkey("umap_neighbors"), d.umap_neighbors,
                                                      min_value=2, max_value=200, step=1))
        elif method in ("dec", "idec"):
            changes["dec_max_iter"] = int(ui.number("DEC/IDEC iterations (batches)", ui.pkey("dec_iter"), d.dec_max_iter,
                                                    min_value=1, max_value=100_000, step=100))
            if method == "idec":
                changes["idec_gamma"] = float(ui.number("IDEC clustering weight γ", ui.pkey("idec_gamma"), d.idec_gamma,
                                                        min_value=0.0, max_value=10.0, step=0.05))
    projection = ui.selectbox("Projection for the scatter", list(PROJECTION_METHODS), key=ui.pkey("projection"),
                              default=base.projection.method, format_func=PROJECTION_LABELS.get)
    if projection == "tsne" and n > TSNE_SLOW_ROWS:
        st.warning(f"t-SNE on {n:,} rows takes minutes; UMAP is faster.")
    return replace(base, cluster=replace(d, **changes), projection=ProjectionConfig(method=projection))


def start_run(cfg) -> None:
    ds, reducer = ws.dataset, ws.model(cfg)
    refine = cfg.cluster.method in ("dec", "idec")
    train_here = reducer is None and cfg.model.kind != "none"
    run_cfg = cfg
    if train_here or refine:  # training, and DEC / IDEC refining, count against the session's budget
        run_cfg = replace(cfg, model=replace(cfg.model, max_seconds=ws.training_allowance(Limits.from_env())))

    def run(job):
        result = run_with_representation(ds, run_cfg, reducer, on_event=job.emit, should_stop=job.should_stop)
        return replace(result, config=cfg)  # recorded with the settings chosen (the time cap only says when to stop)

    ws.start(manager, "run", run, name=f"{'Training and c' if train_here else 'C'}lustering ({cfg.cluster.method})",
             device=resolve_device(cfg.device).name,
             meta={"run_key": ws.run_key(ws.fingerprint, cfg), "model_key": ws.model_key(cfg),
                   "cache_model": train_here and not refine, "trains": train_here or refine})
    ws.collect(manager)  # a job that already ended (synchronous mode) is taken in at once


if ui.read_only():
    read_only_summary(ui.viewed_run())
    st.stop()

ds = ui.need_dataset()
cfg = None
with ui.guard("Settings"):
    cfg = cluster_settings(ws.config or default_config(ds), ds.n)
    ws.config = cfg
if cfg is None:
    st.stop()
if cfg.cluster.method in ("dec", "idec") and cfg.model.kind not in AE_KINDS:
    st.warning(f"{cfg.cluster.method.upper()} refines an autoencoder: choose one on the Train page (now: {cfg.model.kind}).")
elif not ws.has_model(cfg):
    st.info(f"The representation ({cfg.model.kind}, set on the Train page) is not trained yet; running trains it first.")

running = ui.job_progress("run", show_loss=True)
if not running:
    cached = ws.find_run(cfg)
    if cached is not None and ws.result is not cached:
        ws.current = ws.run_key(ws.fingerprint, cfg)  # the same settings again: the run comes back at once
    if cached is None:
        training = ws.job(manager, "train") is not None  # one model at a time: wait for the Train page's
        st.button("Run clustering", type="primary", icon="▶️", on_click=ui.safely, args=(start_run, cfg),
                  disabled=training, help="Training is still running on the Train page" if training else None)
    result = ws.result
    if result is not None:
        if cached is None:
            st.caption("Below: the last run, made with other settings. Press **Run clustering** for these.")
        show_run(result)
        st.page_link("pages/explore.py", label="Next: explore the clusters", icon="🔭")
