"""Reconstructions and anomalies: what each cluster looks like (its decoded centre), originals beside
the model's reconstructions, the per-feature error of tables, and the rows the model reconstructs worst."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import plots
from explorer.dashboard import views
from pages.ui import display, feedback, session, widgets as w

st.title("🪞 Reconstructions & anomalies")
feedback.show_messages()
result = session.need_result()
ds = result.dataset
has_model = result.reducer is not None
is_images = ds.images is not None


def cluster_pictures() -> None:
    ids, centres = views.decoded_centres(result)
    sizes = {int(c): int((result.clusters.labels == c).sum()) for c in ids}
    st.subheader("What each cluster looks like")
    st.caption("Each cluster's centre in the latent space, decoded back to an image." if has_model
               else "The mean image of each cluster (no model: the features are the latent space).")
    display.image_grid(list(views.as_images(centres, ds.image_shape)), [f"cluster {c} ({sizes[int(c)]:,})" for c in ids],
                  columns=10, width=80)
    if not has_model:
        return
    st.subheader("Originals and reconstructions, per cluster")
    c1, c2 = st.columns([2, 1])
    with c1:
        chosen = w.selectbox("Cluster", [int(c) for c in ids], key=w.pkey("recon_cluster"), format_func=lambda c: f"cluster {c} ({sizes[c]:,} rows)")
    with c2:
        count = w.slider("Examples", w.pkey("recon_count"), 10, 2, 30)
    rows = views.cluster_members(result, chosen, count)
    st.caption("Top: originals · bottom: reconstructions")
    display.image_grid(views.thumbnails(result, rows), [str(ds.ids[i])[-14:] for i in rows], columns=min(10, len(rows)), width=64)
    display.image_grid(list(views.as_images(views.reconstructions(result, rows), ds.image_shape)), None, columns=min(10, len(rows)), width=64)


def table_errors() -> None:
    st.subheader("Reconstruction error per feature")
    if not has_model:
        st.info("No model was trained (the features were used as they are), so there are no reconstructions.")
        return
    clusters = ["all rows"] + [int(c) for c in np.unique(result.clusters.labels)]
    chosen = w.selectbox("Rows", clusters, key=w.pkey("feature_error_rows"),
                          format_func=lambda c: c if isinstance(c, str) else f"cluster {views.cluster_name(c)}")
    index = None if isinstance(chosen, str) else np.flatnonzero(result.clusters.labels == chosen)
    errors = views.feature_errors(result, index)
    st.plotly_chart(plots.feature_errors(errors["feature"].tolist(), errors["error"].to_numpy()), width="stretch")
    st.caption("Features the model reconstructs badly are the ones the latent space does not capture (in scaled units).")
    ids, centres = views.decoded_centres(result)
    import pandas as pd

    st.markdown("**Cluster centres, decoded to the features** (scaled units)")
    st.dataframe(pd.DataFrame(centres, columns=ds.feature_names, index=[f"cluster {c}" for c in ids]), width="stretch")


def anomalies() -> None:
    st.subheader("Anomalies")
    what = "reconstruction error" if has_model else "squared distance to the cluster centre"
    n = w.slider("How many", w.pkey("anomaly_count"), 20, 5, 100)
    top = views.top_anomalies(result, n)
    cut = float(result.anomaly[top[-1]]) if len(top) else None
    st.plotly_chart(plots.histogram(result.anomaly, f"anomaly score ({what})", marker=cut), width="stretch")
    st.caption(f"The {len(top)} rows with the highest {what}, highest first.")
    if is_images:
        captions = [f"{ds.ids[i]} · {result.anomaly[i]:.3g}" for i in top]
        display.image_grid(views.thumbnails(result, top), captions, columns=10, width=64)
    else:
        st.dataframe(views.selection_table(result, top), hide_index=True, width="stretch")


with feedback.guard("Reconstructions"):
    if is_images:
        cluster_pictures()
    else:
        table_errors()
with feedback.guard("Anomalies"):
    anomalies()
