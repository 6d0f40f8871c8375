"""Generation and denoising (explorer.reducers.generate, explorer.reducers.denoise) on data with planted
structure: a tiny VAE's prior samples look like the data, a cluster's samples look like that cluster,
interpolation ends on its endpoints' decodings, a DAE removes most of the noise it was trained on, tables
come back in their own units, and models that can't do a thing say so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError, LimitError
from explorer.pipeline import default_config, replace_nested, run_pipeline
from explorer.reducers import denoise, generate

pytestmark = pytest.mark.usefixtures("single_thread")


def bars(n: int = 90, seed: int = 0) -> Dataset:
    """n 10x10 gray images in three classes: a bright horizontal band at rows 0-3, 3-6 or 6-9."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    images = rng.integers(0, 30, (n, 10, 10, 1)).astype(np.uint8)
    for i in range(n):
        images[i, 3 * y[i] : 3 * y[i] + 4, :, 0] = 230
    X = images.reshape(n, -1).astype(np.float32) / 255
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(100)],
        ids=np.array([f"img{i}.png" for i in range(n)]),
        report=LoadReport(source="bars.zip", kind="images"),
        kind="images",
        name="bars",
        labels=y.astype(str),
        images=images,
    )


def blobs_table(n: int = 150, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    X = (rng.normal(scale=0.3, size=(n, 6)) + 2.0 * np.eye(3, 6)[y]).astype(np.float32)
    names = list("abcdef")
    return Dataset(
        X=X,
        feature_names=names,
        ids=np.array([f"r{i}" for i in range(n)]),
        report=LoadReport(source="t.csv", kind="table", scaling="standard"),
        kind="table",
        name="t",
        labels=y.astype(str),
        table=pd.DataFrame(X, columns=names),
    )


def fit_run(ds: Dataset, kind: str, **model):
    settings = {
        "model": kind,
        "latent_dim": 2,
        "hidden": (64,),
        "epochs": 150,
        "batch_size": 32,
        "lr": 3e-3,
        "val_fraction": 0.0,
        "mixed_precision": False,
        "device": "cpu",
        "method": "kmeans",
        "k": 3,
        "projection_method": "pca",
        "explain": None,
        **model,
    }
    if kind == "pca":
        settings = {
            k: v
            for k, v in settings.items()
            if k not in ("hidden", "epochs", "batch_size", "lr", "val_fraction", "mixed_precision")
        }
    return run_pipeline(ds, replace_nested(default_config(ds), **settings))


@pytest.fixture(scope="module")
def vae_run():
    return fit_run(bars(), "vae", kl_weight=0.5)


@pytest.fixture(scope="module")
def pca_run():
    return fit_run(bars(), "pca")


def test_prior_samples_have_the_datas_shape_and_range(vae_run):
    X = vae_run.dataset.X
    samples = generate.sample_prior(vae_run.reducer, 60, seed=1)
    assert samples.shape == (60, X.shape[1]) and samples.dtype == np.float32 and np.isfinite(samples).all()
    assert np.mean((samples > -0.2) & (samples < 1.2)) > 0.98  # pixels in [0, 1], give or take the decoder's overshoot
    assert abs(float(samples.mean()) - float(X.mean())) < 0.1
    # each sample carries a band: some row of the image is much brighter than the image's darkest rows
    rows = samples.reshape(60, 10, 10).mean(axis=2)
    assert np.median(rows.max(axis=1) - rows.min(axis=1)) > 0.3
    assert np.array_equal(samples, generate.sample_prior(vae_run.reducer, 60, seed=1))  # seeded: reruns agree
    assert not np.array_equal(samples, generate.sample_prior(vae_run.reducer, 60, seed=2))


def test_cluster_samples_look_like_their_own_cluster(vae_run):
    labels, X = vae_run.clusters.labels, vae_run.dataset.X
    ids = sorted(set(labels.tolist()))
    means = np.stack([X[labels == c].mean(axis=0) for c in ids])
    for c in ids:
        samples = generate.sample_cluster(vae_run, c, 30, seed=0)
        distance = ((samples[:, None, :] - means[None]) ** 2).sum(axis=2).mean(axis=0)  # to each cluster's mean
        assert int(np.argmin(distance)) == ids.index(c), (c, distance)


def test_each_cluster_gets_its_own_samples(vae_run):
    of, X = generate.sample_each_cluster(vae_run, 5, seed=0)
    assert of.tolist() == [0] * 5 + [1] * 5 + [2] * 5 and X.shape == (15, 100)
    np.testing.assert_array_equal(X[of == 1], generate.sample_cluster(vae_run, 1, 5, seed=1))
    with pytest.raises(LimitError, match="at most 66 per cluster"):
        generate.sample_each_cluster(vae_run, 100)


def test_cluster_gaussian_is_full_rank_even_for_a_small_cluster(vae_run):
    mean, cov = generate.cluster_gaussian(vae_run, 0)
    assert mean.shape == (2,) and cov.shape == (2, 2) and np.all(np.linalg.eigvalsh(cov) > 0)


def test_interpolation_ends_on_its_endpoints_decodings(vae_run):
    z_a, z_b = generate.cluster_centre(vae_run, 0), generate.cluster_centre(vae_run, 2)
    for method in ("linear", "spherical"):
        strip = generate.interpolate(vae_run.reducer, z_a, z_b, 7, method)
        assert strip.shape == (7, 100)
        np.testing.assert_allclose(strip[0], vae_run.reducer.inverse_transform(z_a[None])[0], atol=1e-5)
        np.testing.assert_allclose(strip[-1], vae_run.reducer.inverse_transform(z_b[None])[0], atol=1e-5)
    a, b = generate.row_code(vae_run, "img0.png"), generate.row_code(vae_run, "img89.png")
    np.testing.assert_allclose(a, vae_run.Z[0]) and np.testing.assert_allclose(b, vae_run.Z[89])
    # the band moves from the top of the image to the bottom along the way
    strip = generate.interpolate(vae_run.reducer, a, b, 5).reshape(5, 10, 10).mean(axis=2)
    assert strip[0, :3].mean() > strip[0, 7:].mean() and strip[-1, 7:].mean() > strip[-1, :3].mean()


def test_latent_paths():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    line = generate.latent_path(a, b, 5, "linear")
    np.testing.assert_allclose(line[2], [1.5, 1.5], atol=1e-6)
    arc = generate.latent_path(a, b, 5, "spherical")
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 3.0, atol=1e-5)  # slerp stays on the sphere
    np.testing.assert_allclose(arc[[0, -1]], [a, b], atol=1e-6)
    np.testing.assert_allclose(
        generate.latent_path(a, 2 * a, 3, "spherical"), [a, 1.5 * a, 2 * a], atol=1e-6
    )  # parallel: the segment


def test_pca_interpolates_linearly_in_the_data_space(pca_run):
    z_a, z_b = pca_run.Z[0], pca_run.Z[-1]
    strip = generate.interpolate(pca_run.reducer, z_a, z_b, 3)
    np.testing.assert_allclose(
        strip[1], (strip[0] + strip[2]) / 2, atol=1e-5
    )  # a linear decoder: the midpoint's decoding


def test_models_that_cannot_generate_say_so(pca_run):
    with pytest.raises(InputError, match="variational autoencoder"):
        generate.sample_prior(pca_run.reducer, 5)
    with pytest.raises(InputError, match="spherical interpolation"):
        generate.interpolate(pca_run.reducer, pca_run.Z[0], pca_run.Z[1], 5, "spherical")
    with pytest.raises(InputError, match="decodes"):
        generate.interpolate(None, pca_run.Z[0], pca_run.Z[1], 5)
    with pytest.raises(InputError, match="denoising autoencoder"):
        denoise.training_noise(pca_run.reducer)
    support = generate.support(pca_run)
    assert support.interpolate and not support.sample and not support.denoise
    assert "vae" in support.why_not_sample and "dae" in support.why_not_denoise
    ds = bars()
    none_run = run_pipeline(
        ds,
        replace_nested(default_config(ds), model="none", method="kmeans", k=3, projection_method="pca", explain=None),
    )
    assert not generate.support(none_run).interpolate and "no model" in generate.support(none_run).why_not_interpolate
    with pytest.raises(InputError, match="no model"):
        denoise.denoise(none_run)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda r: generate.sample_prior(r.reducer, 0), InputError, "at least 1"),
        (lambda r: generate.sample_prior(r.reducer, 10_000), LimitError, "cap"),
        (lambda r: generate.sample_prior(r.reducer, 2.5), InputError, "whole number"),
        (lambda r: generate.sample_cluster(r, 7, 5), InputError, "no cluster 7"),
        (lambda r: generate.interpolate(r.reducer, r.Z[0], r.Z[1], 1), InputError, "at least 2"),
        (lambda r: generate.interpolate(r.reducer, r.Z[0], r.Z[1], 500), LimitError, "cap"),
        (lambda r: generate.interpolate(r.reducer, r.Z[0], r.Z[1], 5, "cubic"), InputError, "linear, spherical"),
        (lambda r: generate.interpolate(r.reducer, r.Z[0], np.zeros(3), 5), InputError, "different sizes"),
        (lambda r: generate.row_code(r, "<b>nope</b>"), InputError, "no row has the id"),
        (lambda r: denoise.denoise(r, noise=-1.0), InputError, ">= 0"),
        (lambda r: denoise.denoise(r, noise=float("nan")), InputError, ">= 0"),
        (lambda r: denoise.denoise(r, noise=1e6), LimitError, "cap"),
        (lambda r: denoise.denoise(r), InputError, "noise level"),  # not a DAE: the noise must be given
        (lambda r: denoise.denoise(r, rows=np.array([10_000]), noise=0.1), InputError, "row indices"),
    ],
)
def test_bad_requests_get_clear_messages(vae_run, call, error, words):
    with pytest.raises(error, match=words):
        call(vae_run)


def test_a_dae_removes_most_of_its_training_noise_from_images():
    run = fit_run(bars(), "dae", noise=0.3, latent_dim=4)
    assert denoise.training_noise(run.reducer) == pytest.approx(0.3)
    result = denoise.denoise(run, seed=0)  # the training noise
    errors = result.errors()
    assert errors["noisy"] == pytest.approx(0.09, rel=0.05)  # the noise itself: std 0.3
    assert errors["denoised"] < 0.25 * errors["noisy"]
    assert errors["reconstruction"] <= errors["denoised"]  # the noise costs the model something
    np.testing.assert_array_equal(result.noisy, denoise.denoise(run, seed=0).noisy)  # seeded
    quiet = denoise.denoise(run, noise=0.05, seed=0).errors()
    assert quiet["noisy"] < errors["noisy"]


def test_a_dae_lowers_every_columns_error_on_a_table():
    ds = blobs_table()
    run = fit_run(ds, "dae", noise=0.5, latent_dim=2, hidden=(32,))
    frame = denoise.column_errors(denoise.denoise(run, seed=3), ds.feature_names)
    assert list(frame.columns) == ["feature", "noisy", "denoised", "removed", "reconstruction"]
    assert set(frame["feature"]) == set("abcdef")
    assert (frame["denoised"] < frame["noisy"]).all(), frame
    assert frame["removed"].median() > 0.5


def test_the_noise_is_the_dae_training_noise():
    X = np.zeros((4000, 5), np.float32)
    noisy = denoise.add_noise(X, 0.2, seed=0)
    assert noisy.dtype == np.float32 and abs(float(noisy.std()) - 0.2) < 0.005 and abs(float(noisy.mean())) < 0.005
    assert np.array_equal(denoise.add_noise(X, 0.0), X)


MIXED_CSV = """id,income,age,visits,plan
{rows}"""


def mixed_table(tmp_path):
    """A table with a right-skewed amount (logged by the loader), whole numbers, a category and gaps."""
    from explorer.data import load_table

    rng = np.random.default_rng(0)
    lines = ["id,income,age,visits,plan"]
    for i in range(120):
        income = "" if i == 5 else f"{float(np.exp(rng.normal(10, 1.2))):.2f}"
        plan = "" if i == 9 else ["basic", "premium", "family"][i % 3]
        lines.append(f"u{i},{income},{20 + i % 50},{float(rng.normal(5, 2)):.3f},{plan}")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    from explorer.data.tables import TableOptions

    return load_table(str(path), options=TableOptions(id_column="id"))


def test_table_rows_come_back_in_the_datas_own_units(tmp_path):
    ds = mixed_table(tmp_path)
    assert ds.report.transformed.get("income") == "log(1 + x)"  # the loader logged the skewed column
    units = generate.to_data_units(ds, ds.X)
    assert units.exact and list(units.frame.columns) == ["income", "age", "visits", "plan"]
    raw = ds.table
    seen = raw["income"].notna()
    np.testing.assert_allclose(units.frame["income"][seen], raw["income"][seen], rtol=1e-4)
    assert units.frame["age"].dtype.kind == "i" and (units.frame["age"] == raw["age"]).all()  # whole numbers stay whole
    np.testing.assert_allclose(units.frame["visits"], raw["visits"], atol=1e-3)
    kept = raw["plan"].notna()
    assert (units.frame["plan"][kept] == raw["plan"][kept]).all()
    assert "own units" in units.notes[0]


def test_rows_that_cannot_be_inverted_say_so(tmp_path):
    ds = mixed_table(tmp_path)
    ds.table["visits"] = "n/a"  # the raw column no longer explains the feature
    units = generate.to_data_units(ds, ds.X[:3])
    assert not units.exact and "visits (scaled)" in units.frame.columns and "'visits'" in units.notes[-1]
    emb = Dataset(
        X=np.zeros((4, 2), np.float32),
        feature_names=["e0", "e1"],
        ids=np.array(list("abcd")),
        report=LoadReport(source="v.npy", kind="embeddings", scaling="standard"),
        kind="embeddings",
        name="v",
    )
    units = generate.to_data_units(emb, emb.X)
    assert not units.exact and "shown scaled" in units.notes[0]
    with pytest.raises(InputError, match="expected rows of 2 features"):
        generate.to_data_units(emb, np.zeros((2, 3)))


def test_a_gmm_clusters_region_is_its_own_component(make_blobs):
    X, _ = make_blobs(n=600, k=3, d=4, std=1.0, seed=2)
    X[:, 0] *= 3.0  # elongated clusters: the component's covariance is not round
    ds = Dataset(
        X=X,
        feature_names=list("abcd"),
        ids=np.array([f"r{i}" for i in range(len(X))]),
        report=LoadReport(source="b.npy", kind="embeddings"),
        kind="embeddings",
        name="b",
    )
    run = run_pipeline(
        ds, replace_nested(default_config(ds), model="none", method="gmm", k=3, projection_method="pca", explain=None)
    )
    for c in range(3):
        mean, cov = generate.cluster_gaussian(run, c)
        np.testing.assert_allclose(mean, run.clusters.centers[c], atol=1e-3)  # the mixture's own mean
        members = X[run.clusters.labels == c]
        np.testing.assert_allclose(cov, np.cov(members, rowvar=False), rtol=0.1, atol=0.1)
        assert cov[0, 0] > 4 * cov[1, 1]  # the stretch along the first axis is kept
        samples = generate.sample_cluster(run, c, 200, seed=0)  # no model: the latent space is the data's
        assert np.linalg.norm(samples.mean(axis=0) - mean) < 0.6


def test_the_denoise_summary_says_when_the_model_blurs_more_than_the_noise():
    from explorer.dashboard.reconstruct import denoise_summary

    good = denoise_summary({"noisy": 0.04, "denoised": 0.01, "reconstruction": 0.008})
    assert "75% of it removed" in good and "outweighs" not in good
    bad = denoise_summary({"noisy": 0.04, "denoised": 0.056, "reconstruction": 0.05})
    assert "removed" not in bad and "outweighs the noise" in bad and "0.05" in bad


def test_a_saved_run_generates_the_same_as_the_run_it_was(vae_run, tmp_path):
    from explorer.runs.files import load_run, save_run

    again = load_run(save_run(vae_run, tmp_path / "runs"))
    np.testing.assert_allclose(
        generate.sample_prior(again.reducer, 8, seed=3), generate.sample_prior(vae_run.reducer, 8, seed=3), atol=1e-5
    )
    np.testing.assert_allclose(
        generate.sample_cluster(again, 1, 8, seed=3), generate.sample_cluster(vae_run, 1, 8, seed=3), atol=1e-4
    )


def test_a_saved_table_run_still_comes_back_in_its_units(tmp_path):
    from explorer.runs.files import load_run, save_run

    ds = mixed_table(tmp_path)
    run = fit_run(ds, "pca", latent_dim=3)
    again = load_run(save_run(run, tmp_path / "runs"))
    rows = generate.interpolate(again.reducer, again.Z[0], again.Z[1], 4)
    before, after = generate.to_data_units(ds, rows), generate.to_data_units(again.dataset, rows)
    assert after.exact and list(after.frame.columns) == list(before.frame.columns)
    pd.testing.assert_frame_equal(after.frame, before.frame, check_dtype=False, atol=1e-3)


# -- downloads of generated output -------------------------------------------------------------------------
def _read_png(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(data)))


def test_a_png_strip_holds_every_image_in_order_at_its_own_size():
    images = np.stack([np.full((10, 12), 20 * (i + 1), np.uint8) for i in range(5)])  # each its own grey
    strip = _read_png(generate.png_strip(images))
    assert strip.shape == (10, 5 * 12 + 4 * generate.STRIP_GAP)
    for i in range(5):
        x = i * (12 + generate.STRIP_GAP)
        assert (strip[:, x : x + 12] == 20 * (i + 1)).all()  # the i-th image, exactly
    assert (strip[:, 12 : 12 + generate.STRIP_GAP] == 255).all()  # the white gap between two
    grid = _read_png(generate.png_strip(images, columns=2, gap=0))  # 3 rows of 2, the last half empty
    assert grid.shape == (30, 24) and (grid[20:, :12] == 100).all() and (grid[20:, 12:] == 255).all()
    colour = _read_png(generate.png_strip(np.zeros((3, 4, 4, 3), np.uint8)))
    assert colour.shape == (4, 3 * 4 + 2 * generate.STRIP_GAP, 3)
    with pytest.raises(InputError, match="no images"):
        generate.png_strip([])
    with pytest.raises(InputError, match="one shape"):
        generate.png_strip([np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)])


def test_a_zip_of_pngs_has_one_safe_numbered_file_per_image():
    import io
    import zipfile

    images = [np.full((6, 6), v, np.uint8) for v in (10, 200, 90)]
    names = ["../../etc/passwd", "=cmd|' /C calc'!A0", "../../etc/passwd"]  # hostile and repeated
    with zipfile.ZipFile(io.BytesIO(generate.png_zip(images, names))) as zf:
        files = zf.namelist()
        assert len(files) == 3 and len(set(files)) == 3  # equal names never collide
        assert all("/" not in f and "\\" not in f and not f.startswith(".") and f.endswith(".png") for f in files)
        assert files[0].startswith("001-") and files[2].startswith("003-")
        for f, img in zip(files, images, strict=True):
            np.testing.assert_array_equal(_read_png(zf.read(f)), img)  # lossless, in order
    with pytest.raises(InputError, match="2 names for 3 images"):
        generate.png_zip(images, names[:2])


def test_generated_rows_download_in_the_datas_units_and_formula_safe(tmp_path):
    import io

    ds = mixed_table(tmp_path)
    ds.table["plan"] = ds.table["plan"].replace("premium", '=HYPERLINK("http://evil")')  # a hostile level
    ds.feature_names = [f.replace("plan=premium", 'plan==HYPERLINK("http://evil")') for f in ds.feature_names]
    ds.report.encoded["plan"] = ["basic", '=HYPERLINK("http://evil")', "family"]
    data = generate.rows_csv(ds, ds.X[:6], ["=1+1", "b", "c", "d", "e", "f"], "sample")
    back = pd.read_csv(io.BytesIO(data))
    assert list(back.columns) == ["sample", "income", "age", "visits", "plan"]
    assert back["sample"][0] == "'=1+1"  # a label that would run as a formula is quoted
    assert (
        not back["plan"].astype(str).str.startswith("=").any() and back["plan"].astype(str).str.startswith("'=").any()
    )
    seen = ds.table["income"][:6].notna().to_numpy()
    np.testing.assert_allclose(back["income"][seen], ds.table["income"][:6][seen], rtol=1e-4)  # own units, not scaled
    assert (back["age"] == ds.table["age"][:6]).all()
    with pytest.raises(InputError, match="2 labels for 6 rows"):
        generate.rows_csv(ds, ds.X[:6], ["a", "b"])
