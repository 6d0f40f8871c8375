"""Projections have the right shape and type, are reproducible, and keep neighbourhoods."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.errors import InputError
from explorer.metrics import trustworthiness
from explorer.project import ProjectionConfig, project

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def small_blobs(make_blobs):
    return make_blobs(n=200, k=4, d=10, seed=2)


@pytest.mark.parametrize("method", ["pca", "umap", "tsne"])
@pytest.mark.parametrize("n_components", [2, 3])
def test_shape_dtype_and_determinism(method, n_components, small_blobs, request):
    if method == "umap":
        request.getfixturevalue("warm_umap")
    X, _ = small_blobs
    cfg = ProjectionConfig(method=method, n_components=n_components, random_state=1)
    Y = project(X, cfg)
    assert Y.shape == (200, n_components) and Y.dtype == np.float32
    assert np.isfinite(Y).all()
    np.testing.assert_allclose(project(X, cfg), Y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_projection_of_blobs_is_trustworthy(method, small_blobs, request):
    if method == "umap":
        request.getfixturevalue("warm_umap")
    X, _ = small_blobs
    assert trustworthiness(X, project(X, ProjectionConfig(method=method))) > 0.9


def test_tsne_caps_perplexity_on_small_data(make_blobs):
    X, _ = make_blobs(n=20, k=2, d=5)
    Y = project(X, ProjectionConfig(method="tsne", perplexity=30.0))
    assert Y.shape == (20, 2)


def test_pca_needs_as_many_latent_dims_as_components():
    Z = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(InputError, match="n_components"):
        project(Z, ProjectionConfig(method="pca", n_components=3))


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "mds"),
        ("n_components", 4),
        ("n_components", 1),
        ("n_neighbors", 1),
        ("min_dist", 2.0),
        ("perplexity", 0.0),
        ("random_state", "seed"),
    ],
)
def test_bad_options_name_the_field(field, value, small_blobs):
    cfg = ProjectionConfig()
    setattr(cfg, field, value)
    with pytest.raises(InputError, match=rf"\b{field}\b"):
        project(small_blobs[0], cfg)


def test_bad_data_raise_input_error():
    with pytest.raises(InputError):
        project(np.zeros((3, 4)), ProjectionConfig(method="pca"))  # too few rows
    with pytest.raises(InputError, match="NaN"):
        project(np.full((10, 4), np.nan), ProjectionConfig(method="pca"))
