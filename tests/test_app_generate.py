"""The Reconstructions page's Generate and Denoise sections, driven by AppTest: a VAE on images draws from
its prior and a cluster and walks between clusters; a DAE on a table shows per-column errors that follow
the noise slider; models that can't do a thing get a sentence, a bad row id a message."""

from __future__ import annotations

import pytest
from test_app import (  # noqa: F401 - fixtures among them, used as test parameters
    LABEL,
    app,
    blobs_csv,
    by_label,
    cluster_kmeans,
    ok,
    runs_dir,
    shapes_zip,
    texts,
    train,
    upload,
)

pytestmark = pytest.mark.usefixtures("navigation_only", "runs_dir")  # runs_dir: tests/test_app.py


def test_a_vae_on_images_generates_and_interpolates():
    at = upload(app(), "shapes.zip", shapes_zip(), "application/zip")
    train(at, "vae", **{"Epochs": 3, "Latent size": 3, "Batch size": 16, "Hidden layers": "32"})
    assert "Training vae: done." in texts(at.success)
    cluster_kmeans(at, 3)
    at.switch_page("pages/reconstruct.py").run()
    ok(at)
    assert {"Generate", "Denoise"} <= {s.value for s in at.subheader}
    assert "denoising autoencoder (dae)" in texts(at.info)  # a VAE does not denoise: said so
    before = len(at.image)
    by_label(at.slider, "Samples").set_value(4).run()
    ok(at)
    assert len(at.image) == before - 6  # 10 prior samples became 4
    by_label(at.selectbox, "Draw from").set_value("each").run()  # a row of samples for every cluster
    ok(at)
    assert len(at.image) == before - 6 + 3 * 4 - 4 and "4 from each cluster's region" in texts(at.caption)
    by_label(at.selectbox, "Draw from").set_value(1).run()  # one cluster's region
    ok(at)
    by_label(at.slider, "Steps").set_value(5).run()
    by_label(at.radio, "Path").set_value("spherical").run()
    ok(at)
    assert len(at.image) == before - 6 - 3  # the strip: 8 steps became 5
    assert "Spherical path through the latent space" in texts(at.caption)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert (
        downloads.count("Download as one PNG strip") == 2 and downloads.count("Download as PNGs (zip)") == 2
    )  # samples, strip
    assert not at.error


def test_a_dae_on_a_table_denoises_per_column_and_interpolates_rows():
    at = upload(app(), "blobs.csv", blobs_csv(), "text/csv")
    by_label(at.selectbox, LABEL).set_value("kind").run()
    by_label(at.selectbox, "ID column (optional)").set_value("sample_id").run()
    train(at, "dae", **{"Epochs": 3, "Latent size": 3, "Batch size": 32, "Hidden layers": "16"})
    cluster_kmeans(at, 3)
    at.switch_page("pages/reconstruct.py").run()
    ok(at)
    assert "variational autoencoder (vae)" in texts(at.info)  # no sampling without a prior: said so
    frames = [d.value for d in at.dataframe]
    errors = next(f for f in frames if "error after denoising" in f.columns)
    assert len(errors) == 7 and {"a", "shape=round"} <= set(errors["feature"])  # every feature, one-hot ones too
    summary = next(m.value for m in at.markdown if m.value.startswith("Mean squared error"))
    slider = by_label(at.slider, "Noise (std of the Gaussian noise added to each value)")
    assert slider.value == pytest.approx(0.2)  # the DAE's training noise
    slider.set_value(0.6).run()
    ok(at)
    assert next(m.value for m in at.markdown if m.value.startswith("Mean squared error")) != summary
    noisy = next(d.value for d in at.dataframe if "error with noise" in d.value.columns)["error with noise"]
    assert noisy.mean() == pytest.approx(0.36, rel=0.2)  # the noise itself, std 0.6

    by_label(at.radio, "Between").set_value("rows").run()
    by_label(at.text_input, "From row id").set_value("s0")
    by_label(at.text_input, "To row id").set_value("s149").run()
    ok(at)
    strip = next(d.value for d in at.dataframe if "step" in d.value.columns)
    assert strip["step"].iloc[0] == "s0" and strip["step"].iloc[-1] == "s149" and len(strip) == 8
    assert {"a", "b", "c", "d", "shape"} <= set(strip.columns)  # rows in the table's own columns
    assert [d for d in at.get("download_button") if d.proto.label == "Download these rows (CSV)"]
    by_label(at.text_input, "To row id").set_value("<b>nobody</b>").run()
    ok(at)
    assert "no row has the id" in texts(at.error)  # a message, not a traceback
