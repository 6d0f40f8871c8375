"""One place checks settings and arrays: declared constraints name the setting, what it must be and
what it was; every config validates through them; the loaders enforce the one minimum row count that
clustering and the map need."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.cluster.methods import cluster
from explorer.cluster.types import ClusterConfig
from explorer.data import load
from explorer.errors import InputError
from explorer.project import ProjectionConfig, project
from explorer.reducers import ModelConfig
from explorer.validation import (
    MIN_ROWS,
    Flag,
    OneOf,
    Optional,
    Real,
    Sizes,
    Whole,
    check_array,
    check_params,
    is_real,
    is_whole,
)


@pytest.mark.parametrize(
    "rule,good,bad",
    [
        (Whole(1), [1, 5, np.int64(3)], [0, 1.5, True, "2", None]),
        (Whole(2, 3), [2, 3], [1, 4]),
        (Real(0, 1, open_high=True), [0, 0.5, 0.99], [1.0, -0.1, float("nan"), float("inf"), True]),
        (Real(0, open_low=True), [1e-9, 5], [0, -1]),
        (OneOf(("a", "b")), ["a", "b"], ["c", None, ["a"]]),
        (Flag(), [True, False], [0, 1, "yes"]),
        (Sizes(), [(1,), [500, 2000]], [(), (0,), (1.5,), "500"]),
        (Optional(Whole(1)), [None, 3], [0]),
    ],
)
def test_constraints_accept_and_refuse(rule, good, bad):
    assert all(rule.ok(v) for v in good)
    assert not any(rule.ok(v) for v in bad)


def test_messages_name_the_setting_the_rule_and_the_value():
    class Settings:
        epochs, method = 0, "spectral"

    with pytest.raises(InputError, match=r"epochs must be a whole number >= 1, got 0\."):
        check_params(Settings(), {"epochs": Whole(1)})
    with pytest.raises(InputError, match=r"method 'spectral' is not known; choose one of: a, b\."):
        check_params(Settings(), {"method": OneOf(("a", "b"))})


@pytest.mark.parametrize(
    "config,field",
    [
        (ModelConfig(kind="tsne"), "kind"),
        (ModelConfig(latent_dim=0), "latent_dim"),
        (ModelConfig(hidden=()), "hidden"),
        (ModelConfig(val_fraction=0.95), "val_fraction"),
        (ModelConfig(max_seconds=0), "max_seconds"),
        (ModelConfig(kind="dae", noise=0.0), "noise"),
        (ClusterConfig(method="spectral"), "method"),
        (ClusterConfig(k=1), "k"),
        (ClusterConfig(dec_tol=1.0), "dec_tol"),
        (ProjectionConfig(n_components=4), "n_components"),
        (ProjectionConfig(perplexity=0), "perplexity"),
    ],
)
def test_every_config_validates_through_the_declared_rules(config, field):
    with pytest.raises(InputError, match=rf"\b{field}\b"):
        config.validate()


def test_defaults_are_valid():
    ModelConfig().validate()
    ClusterConfig().validate()
    ProjectionConfig().validate()


def test_whole_and_real():
    assert is_whole(3) and is_whole(np.int32(3)) and not is_whole(True) and not is_whole(3.0)
    assert is_real(3) and is_real(0.5) and not is_real(float("nan")) and not is_real(False)


def test_check_array():
    X = check_array([[1, 2], [3, 4]])
    assert X.dtype == np.float32 and X.flags.c_contiguous
    with pytest.raises(InputError, match="at least 4 rows"):
        check_array(np.zeros((3, 2)), min_rows=4)
    with pytest.raises(InputError, match="NaN"):
        check_array([[np.nan, 1.0]])


def test_a_file_that_loads_can_be_clustered_and_projected(tmp_path):
    assert MIN_ROWS == 4
    rows = ["a,b", "1,2", "3,4", "5,7"]
    (tmp_path / "three.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=f"at least {MIN_ROWS}"):
        load(tmp_path / "three.csv")
    (tmp_path / "four.csv").write_text("\n".join([*rows, "2,9"]) + "\n")
    ds = load(tmp_path / "four.csv")
    assert ds.n == MIN_ROWS
    assert cluster(ds.X, ClusterConfig(method="kmeans", k=2)).k == 2
    assert project(ds.X, ProjectionConfig(method="pca")).shape == (MIN_ROWS, 2)
