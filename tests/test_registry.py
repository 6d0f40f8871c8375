"""The clustering methods are registered once: every name the code offers comes from the registry, a
method registered in one place is offered everywhere, and each method assigns new rows from the state
it kept at fit time (plain arrays) -- the training rows come back with their fitted labels."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from explorer.cluster import registry
from explorer.cluster.methods import cluster
from explorer.cluster.predict import (
    fitted_gaussian_state,
    gaussian_m_step,
    gaussian_posterior,
    precision_cholesky,
)
from explorer.cluster.registry import Assigned, FitInputs, MethodSpec, method_names, spec
from explorer.cluster.types import COVARIANCE_TYPES, ClusterConfig, ClusterResult
from explorer.errors import InputError

pytestmark = pytest.mark.usefixtures("single_thread")

FIXTURES = Path(__file__).parent / "fixtures" / "runs_before_registry"


def test_every_method_has_one_spec_and_the_old_names_come_from_it():
    from explorer.cluster.types import DEEP_METHODS, METHOD_LABELS, METHODS

    assert (
        METHODS
        == method_names()
        == ("kmeans", "gmm", "mixture", "hdbscan", "agglomerative", "n2d", "dec", "idec", "genie", "head")
    )
    assert {name: spec(name).label for name in METHODS} == METHOD_LABELS
    assert DEEP_METHODS == ("dec", "idec")
    for name in METHODS:
        s = spec(name)
        assert s.name == name and s.label and s.short
        assert (s.fit is None) == s.refines_model  # DEC / IDEC are fitted by explorer.cluster.deep.refine
        assert s.needs_k != s.finds_k
        assert set(s.settings) <= set(ClusterConfig.__dataclass_fields__), name
        ClusterConfig(method=name).validate()
    with pytest.raises(InputError, match=r"spectral.*kmeans, gmm"):
        ClusterConfig(method="spectral").validate()
    with pytest.raises(InputError, match="not known"):
        spec("spectral")


def _by_first_column(Z: np.ndarray, k: int | None, cfg: ClusterConfig, inputs: FitInputs) -> ClusterResult:
    """A toy method: two clusters split at the median of the first column."""
    cut = float(np.median(Z[:, 0]))
    labels = (Z[:, 0] > cut).astype(np.int64)
    return ClusterResult(labels, 2, "halves", info={"cut": cut}, state={"cut": np.array([cut])})


def _halves() -> MethodSpec:
    def refit(cfg, groups):
        return (lambda X, seed: _by_first_column(X, 2, cfg, FitInputs()).labels), "halves again"

    return MethodSpec(
        "halves",
        "split at the median of the first column",
        "halves",
        _by_first_column,
        refit,
        assign_state=lambda result, Z, cfg, groups: dict(result.state),
        assign=lambda state, Z_new: Assigned((Z_new[:, 0] > state["cut"][0]).astype(np.int64), None, "the saved cut"),
        needs_k=False,
        settings=(),
    )


def test_a_method_registered_in_one_place_is_offered_everywhere(blobs):
    from explorer.cli import build_parser
    from explorer.cluster import types
    from explorer.explain.resample import refitter

    X, _ = blobs
    registry.register(_halves())
    try:
        assert "halves" in types.METHODS and "halves" in types.METHOD_LABELS  # read from the registry when asked
        assert build_parser().parse_args(["run", "data.csv", "--cluster", "halves"]).cluster == "halves"
        result = cluster(X, ClusterConfig(method="halves"))
        assert result.k == 2 and set(np.unique(result.labels)) == {0, 1} and result.sweep is None
        fit, what = refitter(ClusterConfig(method="halves"), 2)
        assert what == "halves again" and fit(X[:100], 0).shape == (100,)
        s = spec("halves")
        got = s.assign(s.assign_state(result, X, ClusterConfig(method="halves"), ()), X)
        np.testing.assert_array_equal(got.labels, result.labels)
        with pytest.raises(ValueError, match="registered already"):
            registry.register(_halves())
    finally:
        registry.unregister("halves")
    assert "halves" not in method_names()
    with pytest.raises(Exception, match="halves"):
        build_parser().parse_args(["run", "data.csv", "--cluster", "halves"])
    with pytest.raises(InputError, match="halves"):
        ClusterConfig(method="halves").validate()


def _mixed_table(n: int = 450, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """(Z (n, 5), its categorical groups, planted y): 3 segments in 2 numbers and a 3-level category."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    num = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])[y] + rng.normal(0, 1.0, (n, 2))
    level = np.where(rng.random(n) < 0.85, y, rng.integers(0, 3, n))
    return np.column_stack([num, np.eye(3)[level] / np.sqrt(2)]).astype(np.float32), [np.array([2, 3, 4])], y


def _saved_and_loaded(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:  # plain arrays: nothing pickled
        return {k: npz[k] for k in npz.files}


@pytest.mark.parametrize(
    "method, settings",
    [
        ("kmeans", {}),
        ("gmm", {}),
        ("gmm", {"covariance_type": "diag"}),
        ("gmm", {"covariance_type": "tied"}),
        ("gmm", {"covariance_type": "spherical"}),
        ("mixture", {}),
        ("n2d", {}),
        ("agglomerative", {}),
        ("hdbscan", {}),
        ("genie", {}),
        ("head", {}),
    ],
)
def test_assign_from_the_saved_state_gives_the_fitted_labels_back(method, settings, request):
    if method == "n2d":
        request.getfixturevalue("warm_umap")
    Z, groups, _ = _mixed_table()
    cfg = ClusterConfig(method=method, k=3, **settings)
    result = cluster(Z, cfg, groups=groups)
    s = spec(method)
    if s.assign is None:  # no rule for a new point: the neighbours' vote (explorer.neighbors), here each row's own
        from sklearn.neighbors import NearestNeighbors

        from explorer.neighbors import vote

        dist, idx = NearestNeighbors(n_neighbors=10).fit(Z).kneighbors(Z)
        labels, _ = vote(result.labels, idx, dist, k=result.k)
        np.testing.assert_array_equal(labels, result.labels)
        return
    if method == "mixture":
        assert result.info["kept"] == "mixture" and result.state is not None
    state = _saved_and_loaded(s.assign_state(result, Z, cfg, groups))
    space = result.embedding if s.embeds else Z
    got = s.assign(state, space)
    np.testing.assert_array_equal(got.labels, result.labels)
    if s.soft:
        np.testing.assert_allclose(got.proba, result.proba, atol=1e-5)
    else:
        assert got.proba is None


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_gaussian_maths_is_the_fitted_mixtures_own(covariance_type, blobs):
    from sklearn.mixture import GaussianMixture

    X = blobs[0].astype(np.float64)
    gm = GaussianMixture(5, covariance_type=covariance_type, tol=1e-8, max_iter=500, random_state=0).fit(X)
    np.testing.assert_allclose(gaussian_posterior(fitted_gaussian_state(gm), X), gm.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(precision_cholesky(gm.covariances_, covariance_type), gm.precisions_cholesky_, rtol=1e-8)
    weights, means, cov = gaussian_m_step(X, gm.predict_proba(X), covariance_type)  # converged: one step stays put
    np.testing.assert_allclose(weights, gm.weights_, atol=1e-6)
    np.testing.assert_allclose(means, gm.means_, atol=1e-4)
    np.testing.assert_allclose(cov, gm.covariances_, rtol=1e-3, atol=1e-5)


def test_a_result_whose_labels_are_not_the_fits_rebuilds_its_state(blobs):
    X, _ = blobs
    cfg = ClusterConfig(method="gmm", k=5)
    result = cluster(X, cfg)
    rebuilt = spec("gmm").assign_state(replace(result, state=None), X, cfg, ())  # as after self-labelling
    np.testing.assert_array_equal(spec("gmm").assign(rebuilt, X).labels, result.labels)


@pytest.mark.parametrize("name", ["gmm", "mixture", "n2d"])
def test_a_run_saved_before_the_registry_assigns_new_rows_as_it_did(name):
    """Run folders saved by explorer before the registry (assign.npz without ``assign_format``: a GMM
    kept as covariances), with the clusters that explorer gave 80 new rows (six with an unseen level)."""
    from explorer.apply.assign import assign, nearest_training_rows
    from explorer.runs.files import load_run

    run = load_run(FIXTURES / name)
    assert "assign_format" not in run.assignment
    expected = np.load(FIXTURES / "applied.npz")
    Z_new = expected[f"{name}_Z"]
    got = assign(run, run.assignment, Z_new, nearest_training_rows(run, Z_new))
    np.testing.assert_array_equal(got.labels, expected[f"{name}_labels"])
    np.testing.assert_allclose(got.proba, expected[f"{name}_proba"], atol=1e-5)


def test_stability_refits_the_method_as_the_run_configured_it(blobs):
    from explorer.explain.resample import refitter

    X, _ = blobs
    fit, what = refitter(ClusterConfig(method="gmm", covariance_type="diag", k=9), 5)
    assert "diag" in what and len(np.unique(fit(X, 1))) == 5
    assert refitter(ClusterConfig(method="agglomerative", linkage="average"), 5)[1] == "agglomerative (average)"
    assert "UMAP is not re-run" in refitter("n2d", 5)[1]
    assert refitter("kmeans", 4)[1] == "k-means (10 starts)"  # a name alone: the method's defaults
