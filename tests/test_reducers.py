"""Every reducer honours the shared contract; autoencoders learn; PCA agrees with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.errors import InputError, TrainingError
from explorer.reducers import MODEL_KINDS, PCA, Autoencoder, ModelConfig, make_reducer, restore_reducer


def low_rank_data(n=400, d=24, rank=3, seed=0):
    """Rows on a 3-D linear subspace plus a little noise: easy to reconstruct from a small code."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, d))
    return (rng.normal(size=(n, rank)) @ basis + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


def image_data(n=200, h=12, w=12, seed=0):
    """Small images of a bright square at random positions, flattened in HWC order, in [0, 1]."""
    rng = np.random.default_rng(seed)
    imgs = np.zeros((n, h, w, 1), np.float32)
    for i in range(n):
        r, c = rng.integers(0, h - 4), rng.integers(0, w - 4)
        imgs[i, r : r + 4, c : c + 4, 0] = 1.0
    return imgs.reshape(n, -1), (h, w, 1)


def model(kind, *, image_shape=None, device="cpu", **settings):
    """make_reducer on a ModelConfig of ``kind`` with the given settings, on the CPU."""
    return make_reducer(ModelConfig(kind=kind, **settings), image_shape=image_shape, device=device, random_state=0)


def small(kind, **kw):
    if kind == "pca":
        return PCA(n_components=3)
    return model(kind, **{**dict(latent_dim=3, epochs=40, batch_size=64, lr=3e-3, hidden=(32,)), **kw})


@pytest.mark.parametrize("kind", ["pca", "ae", "dae", "vae"])
def test_contract_shapes_and_fit_transform(kind):
    X = low_rank_data()
    r = small(kind)
    assert r.fit(X) is r
    Z = r.transform(X)
    assert Z.shape == (len(X), 3) and Z.dtype == np.float32
    assert r.inverse_transform(Z).shape == X.shape
    s = r.score_samples(X)
    assert s.shape == (len(X),) and np.all(s >= 0)
    Z2 = small(kind).fit_transform(X)
    np.testing.assert_allclose(Z, Z2, rtol=1e-5, atol=1e-5)  # same seed, same result on the CPU


@pytest.mark.parametrize("kind", ["ae", "dae", "vae"])
def test_autoencoder_loss_falls_and_beats_the_mean(kind):
    X = low_rank_data()
    r = small(kind).fit(X)
    losses = [h["loss"] for h in r.history_]
    assert losses[-1] < 0.5 * losses[0]
    mse = float(np.mean(r.score_samples(X)))
    mean_mse = float(np.mean((X - X.mean(0)) ** 2))
    assert mse < 0.5 * mean_mse


def test_conv_autoencoder_learns_images():
    X, shape = image_data()
    r = model("conv-ae", latent_dim=6, epochs=25, batch_size=32, lr=3e-3, image_shape=shape)
    r.fit(X)
    assert r.transform(X).shape == (len(X), 6)
    assert r.history_[-1]["loss"] < r.history_[0]["loss"]
    assert float(np.mean(r.score_samples(X))) < float(np.mean((X - X.mean(0)) ** 2))


def test_conv_autoencoder_needs_image_shape():
    with pytest.raises(InputError, match="image_shape"):
        model("conv-ae", epochs=1).fit(low_rank_data())


def test_pca_matches_sklearn_and_torch_up_to_sign():
    from sklearn.decomposition import PCA as SkPCA

    X = low_rank_data(d=12, rank=5)
    ours = PCA(n_components=4).fit(X)
    ref = SkPCA(n_components=4).fit(X)
    torch_pca = PCA(n_components=4, solver="torch").fit(X)
    for comp in (ours.components_, torch_pca.components_):
        for a, b in zip(comp, ref.components_, strict=True):
            assert min(np.abs(a - b).max(), np.abs(a + b).max()) < 1e-3
    np.testing.assert_allclose(ours.components_, torch_pca.components_, atol=1e-3)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-3)
    np.testing.assert_allclose(torch_pca.transform(X), ours.transform(X), atol=1e-2)


def test_pca_wide_data_uses_svd_path():
    X = low_rank_data(n=30, d=80)
    a = PCA(n_components=5, solver="torch").fit(X)
    b = PCA(n_components=5).fit(X)
    np.testing.assert_allclose(np.abs(a.transform(X)), np.abs(b.transform(X)), atol=1e-2)


@pytest.mark.parametrize("kind", ["pca", "ae", "vae"])
def test_export_and_restore_give_identical_outputs(kind):
    X = low_rank_data()
    r = small(kind, epochs=3).fit(X)
    meta, tensors = r.export_state()
    back = restore_reducer(kind, r.export_params(), meta, tensors)
    np.testing.assert_array_equal(back.transform(X), r.transform(X))
    np.testing.assert_array_equal(back.inverse_transform(r.transform(X)), r.inverse_transform(r.transform(X)))


def test_callbacks_and_stop_from_outside():
    X = low_rank_data()
    seen = []
    r = small("ae", epochs=50)
    r.fit(X, on_epoch_end=lambda e, logs: seen.append((e, logs["loss"])), should_stop=lambda: len(seen) >= 3)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert r.train_info_["stop_reason"] == "stopped"
    assert r.transform(X).shape == (len(X), 3)  # a stopped model is usable


def test_early_stopping_keeps_best_weights():
    X = low_rank_data()
    r = small("ae", epochs=300, patience=3, lr=3e-3).fit(X)
    info = r.train_info_
    assert info["stop_reason"] in ("early_stopping", "finished")
    best = min(h["val_loss"] for h in r.history_)
    assert r.history_[info["best_epoch"] - 1]["val_loss"] == best


def test_nan_in_first_epoch_is_a_clear_error():
    with pytest.raises(TrainingError, match="learning rate"):
        small("ae", epochs=5, lr=1e12, val_fraction=0.0).fit(low_rank_data() * 1e18)


def test_nan_later_keeps_best_weights_with_a_message():
    import torch

    from explorer.reducers.train import fit_module

    X = low_rank_data()
    module = torch.nn.Linear(X.shape[1], X.shape[1])
    calls = {"n": 0}

    def loss_fn(m, xb):  # a real loss for 3 epochs (7 batches each), then NaN
        calls["n"] += 1
        loss = torch.nn.functional.mse_loss(m(xb), xb)
        return loss * float("nan") if calls["n"] > 21 else loss

    with pytest.warns(RuntimeWarning, match="kept the weights of epoch"):
        result = fit_module(module, X, loss_fn, ModelConfig(epochs=10, batch_size=64, val_fraction=0.0), device="cpu")
    assert result.stop_reason == "nan" and len(result.history) == 3
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert "kept the weights" in result.notes[0]


@pytest.mark.parametrize(
    "kind,params,match",
    [
        ("ae", {"epochs": 0}, "epochs"),
        ("ae", {"lr": -1.0}, "lr"),
        ("ae", {"latent_dim": 0}, "latent_dim"),
        ("dae", {"noise": 0.0}, "noise"),
        ("ae", {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_parameters_name_the_parameter(kind, params, match):
    with pytest.raises(InputError, match=match):
        model(kind, **params).fit(low_rank_data(n=50))


def test_bad_inputs():
    with pytest.raises(InputError, match="NaN"):
        PCA(2).fit(np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]))
    with pytest.raises(InputError, match="2-D"):
        PCA(2).fit(np.zeros(10))
    with pytest.raises(InputError, match="not known"):
        make_reducer(ModelConfig(kind="tsne"))
    r = PCA(2).fit(low_rank_data())
    with pytest.raises(InputError, match="features"):
        r.transform(np.zeros((3, 5)))


def test_all_model_kinds_listed():
    assert set(MODEL_KINDS) == {"pca", "ae", "conv-ae", "dae", "vae", "pretrained"}
    assert isinstance(model("vae"), Autoencoder)


def test_mixed_precision_trains_as_well_and_says_which_it_used(monkeypatch):
    import torch

    import explorer.reducers.train as train

    X = low_rank_data()
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)  # as on a CPU with AVX512-BF16 or AMX
    bf16 = small("ae", epochs=60).fit(X)
    fp32 = small("ae", epochs=60, mixed_precision=False).fit(X)
    assert bf16.train_info_["precision"] == "bf16 autocast" and fp32.train_info_["precision"] == "float32"
    assert bf16.transform(X).dtype == np.float32  # codes and weights stay float32
    assert next(bf16.module_.parameters()).dtype == torch.float32
    mean_mse = float(np.mean((X - X.mean(0)) ** 2))
    mse16, mse32 = float(np.mean(bf16.score_samples(X))), float(np.mean(fp32.score_samples(X)))
    assert mse16 < 0.5 * mean_mse and mse16 < 2 * mse32 + 1e-3  # bf16 matmuls, about the same fit


def test_without_native_bf16_training_stays_float32(monkeypatch):
    import torch

    import explorer.reducers.train as train

    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: False)  # emulated bf16 would be slower
    assert not train.uses_bf16(torch.device("cpu"))
    r = small("ae", epochs=2).fit(low_rank_data())
    assert r.train_info_["precision"] == "float32"
    assert not train.uses_bf16(torch.device("cpu"), mixed_precision=False)


# ----------------------------------------------------------------------- autoencoders side by side
def test_an_ensemble_joins_its_members_codes_each_at_one_spread():
    """members=3: the code is 3 x latent_dim wide, each member's block at unit spread on the training rows,
    the members different models (their own starting weights), the reconstruction good, and a save and
    restore gives the same codes and reconstructions."""
    X = low_rank_data()
    r = small("ae", members=3).fit(X)
    Z = r.transform(X)
    assert Z.shape == (len(X), 9) and r.code_dim_ == 9
    blocks = [Z[:, 3 * i : 3 * i + 3] for i in range(3)]
    for b in blocks:
        assert np.sqrt(np.mean(b.var(axis=0))) == pytest.approx(1.0, rel=1e-3)
    assert not np.allclose(blocks[0], blocks[1], atol=0.1)  # not one model three times
    recon = r.inverse_transform(Z)
    assert recon.shape == X.shape
    assert np.mean((recon - X) ** 2) < 0.5 * np.mean((X - X.mean(0)) ** 2)
    meta, tensors = r.export_state()
    assert any(k.startswith("members.2.") for k in tensors) and "scale" in tensors
    back = restore_reducer("ae", r.export_params(), meta, tensors)
    np.testing.assert_array_equal(back.transform(X), Z)
    np.testing.assert_array_equal(back.inverse_transform(Z), recon)
    with pytest.raises(InputError, match=r"\(n, 9\)"):
        r.inverse_transform(Z[:, :3])


def test_each_member_learns_on_its_own_loss():
    """The members are trained as independent autoencoders: each one alone reconstructs the rows (a joint
    loss on the averaged reconstruction would let one member lean on the others)."""
    import torch

    X = low_rank_data()
    r = small("ae", members=2, epochs=60).fit(X)
    x = torch.from_numpy(X)
    base = float(np.mean((X - X.mean(0)) ** 2))
    with torch.no_grad():
        for m in r.module_.members:
            assert float(torch.mean((m.decode(m.encode(x)) - x) ** 2)) < 0.3 * base


def test_a_convolutional_ensemble_with_augmentation_trains():
    X, shape = image_data(n=120)
    r = model("conv-ae", image_shape=shape, latent_dim=4, epochs=2, batch_size=32, augment=True, members=2).fit(X)
    assert r.transform(X).shape == (120, 8) and r.inverse_transform(r.transform(X)).shape == X.shape


def test_a_variational_ensemble_is_refused_and_the_default_never_builds_one():
    from explorer.dataset import Dataset, LoadReport
    from explorer.pipeline import default_config, replace_nested
    from explorer.pipeline.defaults import SMALL_IMAGE_SET

    with pytest.raises(InputError, match="members = 1"):
        ModelConfig(kind="vae", members=2).validate()

    def images(n):
        imgs = np.zeros((n, 8, 8, 1), np.uint8)
        return Dataset(
            X=imgs.reshape(n, -1).astype(np.float32),
            feature_names=[f"px{i}" for i in range(64)],
            ids=np.array([f"{i}.png" for i in range(n)]),
            report=LoadReport(source="x", kind="images"),
            kind="images",
            name="x",
            images=imgs,
        )

    small_set = default_config(images(300))
    assert small_set.model.members == 3
    assert default_config(images(SMALL_IMAGE_SET + 1)).model.members == 1
    for kind in ("vae", "pca", "none"):  # choosing a model that is never joined drops the default's members
        assert replace_nested(small_set, model=kind).model.members == 1
    assert replace_nested(small_set, model="dae").model.members == 3
    assert replace_nested(small_set, model="ae", members=2).model.members == 2


# ----------------------------------------------------------------------- a time budget for training
def test_epochs_in_time_fit_the_budget_within_their_bounds():
    from explorer.reducers.train import MIN_EPOCHS_IN_BUDGET, epochs_in_time

    assert epochs_in_time(150, 2, 4.0, 180) == 90  # 2 s an epoch: 90 fit
    assert epochs_in_time(150, 2, 1.0, 180) == 150  # all fit: the plan stands
    assert epochs_in_time(150, 2, 100.0, 180) == MIN_EPOCHS_IN_BUDGET  # never fewer than the floor ...
    assert epochs_in_time(5, 2, 100.0, 10) == 5  # ... nor cut a plan already under it
    assert epochs_in_time(150, 0, 0.0, 180) == 150
    # re-planned from the speed of the last epochs: 2 slow epochs (50 s) then 1 s each: 2 + 130 of the rest fit
    assert epochs_in_time(150, 2, 100.0, 180, per_epoch=1.0) == 82
    assert epochs_in_time(150, 10, 100.0, 180, per_epoch=0.5) == 150


@pytest.mark.parametrize("budget,trained", [(1e-6, 10), (1e6, 30)])
def test_a_time_budget_plans_the_epochs_and_says_so(budget, trained):
    """A budget no machine meets trains the floor of 10 epochs and says why; one every machine meets changes nothing."""
    X = low_rank_data()
    r = small("ae", epochs=30, patience=100, time_budget=budget).fit(X)
    assert len(r.history_) == trained and r.train_info_["epochs"] == trained
    assert all(h["epochs"] == trained for h in r.history_[1:])  # the progress bar's total, from the plan on
    said = [n for n in r.train_info_["notes"] if "time_budget" in n]
    assert bool(said) == (trained < 30)
    if said:
        assert "10 of the 30 planned epochs" in said[0] and "--epochs 30" in said[0]
