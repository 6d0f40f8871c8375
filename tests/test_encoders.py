"""Bring your own encoder: a timm or open_clip model from the user's Hugging Face cache, or a local safetensors
file, as the frozen image encoder; offline unless asked; the weights' hash recorded and checked at apply.

timm and open_clip are not dependencies: small fake modules stand in for them (the same calls the adapters make
on the real libraries), building a tiny torch model whose weights are a safetensors file in a Hugging Face cache
laid out in the test. The local-file path runs for real on our EfficientNet-Lite0."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from explorer.dataset import Dataset, LoadReport
from explorer.errors import InputError

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("huggingface_hub")

TIMM_NAME = "tinynet_test.fake_in1k"
CLIP_ARCH, CLIP_TAG, CLIP_REPO = "TinyCLIP-T", "fake_s1", "fake-org/tiny-clip-test"


def _photos(n: int = 16, side: int = 12, seed: int = 0) -> Dataset:
    """Two kinds of colour images: reddish and bluish noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    imgs = rng.integers(0, 120, (n, side, side, 3)).astype(np.float32)
    imgs[y == 0, :, :, 0] += 130
    imgs[y == 1, :, :, 2] += 130
    images = imgs.astype(np.uint8)
    X = images.reshape(n, -1).astype(np.float32) / 255.0
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(X.shape[1])],
        ids=np.array([f"{i}.png" for i in range(n)]),
        report=LoadReport(source="photos", kind="images", n_rows=n, n_features=X.shape[1]),
        kind="images",
        name="photos",
        labels=np.array([str(v) for v in y]),
        images=images,
    )


class TinyNet(torch.nn.Module):
    """A 1x1 convolution, mean-pooled, then a classifier: features are a linear map of the channel means."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 1)
        self.head = torch.nn.Linear(width, 2)

    def pooled(self, x):
        return self.conv(x).mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.pooled(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head = torch.nn.Identity()

    def encode_image(self, x):
        return self.pooled(x)


def _weights(seed: int) -> dict:
    torch.manual_seed(seed)
    return {k: v.clone().contiguous() for k, v in TinyNet().state_dict().items()}


def _cache_file(cache, repo: str, filename: str, state: dict):
    """Lay out ``repo``'s ``filename`` as the Hugging Face hub cache keeps it; returns the file's path."""
    from safetensors.torch import save_file

    folder = cache / f"models--{repo.replace('/', '--')}"
    commit = "0" * 40
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    save_file(state, str(snap / filename))
    return snap / filename


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face hub cache of this test's own, and no network."""
    import socket

    from huggingface_hub import constants

    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))

    def refuse(*args, **kwargs):
        raise OSError("network is cut in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return cache


def _load_into(model, path) -> None:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)), strict=True)


@pytest.fixture
def fake_timm(monkeypatch):
    """timm's calls the adapter makes: is_model, get_pretrained_cfg, create_model(pretrained_cfg_overlay=file),
    reset_classifier, data.resolve_data_config."""
    calls: list[dict] = []
    timm = types.ModuleType("timm")
    timm.__version__ = "fake"

    def create_model(name, pretrained=False, pretrained_cfg_overlay=None, **kwargs):
        calls.append({"name": name, "pretrained": pretrained, **(pretrained_cfg_overlay or {}), **kwargs})
        model = TinyNet()
        if pretrained:
            _load_into(model, pretrained_cfg_overlay["file"])
        return model

    timm.is_model = lambda name: name.split(".")[0] == "tinynet_test"
    timm.get_pretrained_cfg = lambda name: types.SimpleNamespace(hf_hub_id=f"timm/{name}")
    timm.create_model = create_model
    data = types.ModuleType("timm.data")
    data.resolve_data_config = lambda args=None, pretrained_cfg=None, model=None: {
        "input_size": (3, 16, 16),
        "interpolation": "bicubic",
        "mean": (0.4, 0.4, 0.4),
        "std": (0.2, 0.2, 0.2),
        "crop_pct": 0.875,
    }
    timm.data = data
    monkeypatch.setitem(sys.modules, "timm", timm)
    monkeypatch.setitem(sys.modules, "timm.data", data)
    return calls


@pytest.fixture
def fake_open_clip(monkeypatch):
    """open_clip's calls: get_model_config, get_pretrained_cfg, create_model_and_transforms(pretrained=path),
    get_model_preprocess_cfg, encode_image."""
    calls: list[dict] = []
    oc = types.ModuleType("open_clip")

    def create_model_and_transforms(name, pretrained=None, **kwargs):
        calls.append({"name": name, "pretrained": pretrained, **kwargs})
        model = TinyNet()
        _load_into(model, pretrained)
        model.preprocess_cfg = {
            "size": 16,
            "mean": kwargs.get("image_mean") or (0.48, 0.46, 0.41),
            "std": kwargs.get("image_std") or (0.27, 0.26, 0.28),
            "interpolation": kwargs.get("image_interpolation") or "bicubic",
        }
        return model, None, None

    oc.get_model_config = lambda name: {"embed_dim": 4} if name == CLIP_ARCH else None
    tags = {CLIP_TAG: {"hf_hub": f"{CLIP_REPO}/", "quick_gelu": True, "mean": (0.5, 0.5, 0.5), "std": (0.5,) * 3}}
    oc.get_pretrained_cfg = lambda name, tag: tags.get(tag, {}) if name == CLIP_ARCH else {}
    oc.create_model_and_transforms = create_model_and_transforms
    oc.get_model_preprocess_cfg = lambda model: model.preprocess_cfg
    monkeypatch.setitem(sys.modules, "open_clip", oc)
    return calls


def _pipeline_cfg(**model):
    from explorer.cluster.types import ClusterConfig
    from explorer.pipeline import PipelineConfig
    from explorer.project import ProjectionConfig
    from explorer.reducers import ModelConfig

    return PipelineConfig(
        model=ModelConfig(kind="pretrained", **model),
        cluster=ClusterConfig(method="kmeans", k=2),
        projection=ProjectionConfig(method="pca"),
        device="cpu",
    )


def test_names_parse_and_bad_ones_say_what_is_allowed():
    from explorer.reducers.encoders import parse

    assert parse(None).label == "efficientnet-lite2"
    assert parse("timm:resnet18.a1_in1k").name == "resnet18.a1_in1k"
    clip = parse("open_clip:ViT-B/32/openai")  # open_clip's old spelling of the architecture
    assert (clip.backend, clip.name, clip.tag) == ("open_clip", "ViT-B-32", "openai")
    assert clip.label == "open_clip:ViT-B-32/openai"
    for bad in ("resnet18", "timm:", "open_clip:ViT-B-32", "keras:foo"):
        with pytest.raises(InputError, match="timm:<model>"):
            parse(bad)


def test_a_timm_model_from_the_cache_clusters_saves_and_applies_offline(tmp_path, hf_cache, fake_timm):
    from sklearn.metrics import adjusted_rand_score

    from explorer.apply import apply_run
    from explorer.pipeline import run_pipeline
    from explorer.reducers.efficientnet_lite import file_sha256
    from explorer.runs.files import load_run, save_run

    cached = _cache_file(hf_cache, f"timm/{TIMM_NAME}", "model.safetensors", _weights(0))
    ds = _photos()
    result = run_pipeline(ds, _pipeline_cfg(encoder=f"timm:{TIMM_NAME}"))
    assert result.Z.shape == (16, 4)
    np.testing.assert_allclose(np.linalg.norm(result.Z, axis=1), 1.0, atol=1e-5)
    assert adjusted_rand_score(ds.labels, result.clusters.labels) == 1.0  # red and blue apart
    assert fake_timm[-1] == {"name": TIMM_NAME, "pretrained": True, "file": str(cached)}
    _, meta = result.reducer.export_params(), result.reducer.export_state()[0]
    assert meta["encoder"] == f"timm:{TIMM_NAME}" and meta["weights_sha256"] == file_sha256(cached)
    assert meta["preprocessing"]["size"] == 16 and meta["preprocessing"]["mean"] == [0.4, 0.4, 0.4]
    assert meta["preprocessing"]["resize"].startswith("bicubic")

    run = load_run(save_run(result, tmp_path / "runs"))
    new = _photos(n=6, seed=1)
    applied = apply_run(run, new)
    assert list(applied.assignment.labels) == list(result.clusters.labels[:6])  # same kinds, same clusters

    _cache_file(hf_cache, f"timm/{TIMM_NAME}", "model.safetensors", _weights(1))  # the cache now holds others
    with pytest.raises(InputError, match=r"SHA-256.*refused"):
        apply_run(load_run(tmp_path / "runs" / result.run_id), new)


def test_nothing_is_downloaded_unless_asked(hf_cache, fake_timm, monkeypatch):
    import huggingface_hub

    from explorer.reducers import ModelConfig, make_reducer

    ds = _photos(n=4)
    enc = make_reducer(ModelConfig(kind="pretrained", encoder=f"timm:{TIMM_NAME}"), image_shape=ds.image_shape)
    with pytest.raises(InputError, match=r"not in this machine.s Hugging Face cache.*--allow-download"):
        enc.fit(ds.X)

    asked: list[dict] = []

    def fetch(repo, filename, revision=None, local_files_only=False):
        import os

        asked.append({"repo": repo, "local_files_only": local_files_only, "offline": os.environ.get("HF_HUB_OFFLINE")})
        return str(_cache_file(hf_cache, repo, filename, _weights(0)))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fetch)
    cfg = ModelConfig(kind="pretrained", encoder=f"timm:{TIMM_NAME}", allow_download=True)
    assert make_reducer(cfg, image_shape=ds.image_shape).fit_transform(ds.X).shape == (4, 4)
    assert asked == [{"repo": f"timm/{TIMM_NAME}", "local_files_only": False, "offline": None}]


def test_a_timm_architecture_with_a_local_file_needs_no_cache(tmp_path, hf_cache, fake_timm):
    from safetensors.torch import save_file

    from explorer.reducers import ModelConfig, make_reducer
    from explorer.reducers.efficientnet_lite import file_sha256

    path = tmp_path / "fine-tuned.safetensors"
    save_file(_weights(3), str(path))
    ds = _photos(n=4)
    cfg = ModelConfig(kind="pretrained", encoder=f"timm:{TIMM_NAME}", encoder_weights=str(path))
    enc = make_reducer(cfg, image_shape=ds.image_shape)
    assert enc.fit_transform(ds.X).shape == (4, 4)
    assert fake_timm[-1]["file"] == str(path) and enc.export_state()[0]["weights_sha256"] == file_sha256(path)
    assert not any(hf_cache.iterdir())  # the cache was not needed, nor filled


def test_a_missing_library_or_model_says_what_to_install(hf_cache, fake_timm, monkeypatch):
    from explorer.reducers import ModelConfig, make_reducer

    ds = _photos(n=4)
    with pytest.raises(InputError, match="no model 'vgg_nope'"):
        make_reducer(ModelConfig(kind="pretrained", encoder="timm:vgg_nope"), image_shape=ds.image_shape).fit(ds.X)
    monkeypatch.setitem(sys.modules, "timm", None)  # not installed
    with pytest.raises(InputError, match="pip install timm"):
        make_reducer(ModelConfig(kind="pretrained", encoder=f"timm:{TIMM_NAME}"), image_shape=ds.image_shape).fit(ds.X)
    monkeypatch.setitem(sys.modules, "open_clip", None)
    with pytest.raises(InputError, match="pip install open_clip_torch"):
        enc = make_reducer(ModelConfig(kind="pretrained", encoder="open_clip:ViT-B-32/openai"), image_shape=(12, 12, 3))
        enc.fit(ds.X)


def test_an_open_clip_model_uses_its_tags_weights_and_preprocessing(hf_cache, fake_open_clip):
    from explorer.reducers import ModelConfig, make_reducer
    from explorer.reducers.efficientnet_lite import file_sha256

    cached = _cache_file(hf_cache, CLIP_REPO, "open_clip_model.safetensors", _weights(2))
    ds = _photos(n=6)
    cfg = ModelConfig(kind="pretrained", encoder=f"open_clip:{CLIP_ARCH}/{CLIP_TAG}")
    enc = make_reducer(cfg, image_shape=ds.image_shape, device="cpu")
    Z = enc.fit_transform(ds.X)
    assert Z.shape == (6, 4)
    call = fake_open_clip[-1]
    assert call["pretrained"] == str(cached) and call["force_quick_gelu"] is True and call["load_weights_only"]
    meta = enc.export_state()[0]
    assert meta["preprocessing"]["mean"] == [0.5, 0.5, 0.5]  # the tag's, passed through
    assert meta["weights_sha256"] == file_sha256(cached)
    with pytest.raises(InputError, match="no pretrained tag 'nope'"):
        make_reducer(
            ModelConfig(kind="pretrained", encoder=f"open_clip:{CLIP_ARCH}/nope"), image_shape=ds.image_shape
        ).fit(ds.X)


def test_a_local_safetensors_file_gives_lite0_its_weights_and_is_checked_at_apply(tmp_path):
    from safetensors.torch import save_file

    from explorer.reducers import ModelConfig, make_reducer, restore_reducer
    from explorer.reducers.efficientnet_lite import build_lite, file_sha256

    torch.manual_seed(0)
    path = tmp_path / "my-lite0.safetensors"
    save_file({k: v.contiguous() for k, v in build_lite().state_dict().items()}, str(path))
    ds = _photos(n=4, side=16)
    enc = make_reducer(
        ModelConfig(kind="pretrained", encoder="efficientnet-lite0", encoder_weights=str(path)),
        image_shape=ds.image_shape,
    )
    Z = enc.fit_transform(ds.X)
    assert Z.shape == (4, 1280) and np.isfinite(Z).all()
    params, (meta, tensors) = enc.export_params(), enc.export_state()
    assert meta["encoder"] == "efficientnet-lite0" and meta["weights_sha256"] == file_sha256(path)
    assert params["weights"] == str(path) and not tensors
    again = restore_reducer("pretrained", params, meta, {})
    np.testing.assert_allclose(again.transform(ds.X), Z, atol=1e-5)  # the same file: the same features

    torch.manual_seed(1)
    save_file({k: v.contiguous() for k, v in build_lite().state_dict().items()}, str(path))  # other weights
    with pytest.raises(InputError, match=r"SHA-256.*refused"):
        restore_reducer("pretrained", params, meta, {}).transform(ds.X)

    save_file(_weights(0), str(path))  # weights of another architecture
    with pytest.raises(InputError, match="does not fit the architecture efficientnet-lite0"):
        make_reducer(
            ModelConfig(kind="pretrained", encoder="efficientnet-lite0", encoder_weights=str(path)),
            image_shape=ds.image_shape,
        ).fit(ds.X)
    pickled = tmp_path / "weights.pth"
    pickled.write_bytes(b"not read")
    with pytest.raises(InputError, match="only safetensors"):
        make_reducer(
            ModelConfig(kind="pretrained", encoder="efficientnet-lite0", encoder_weights=str(pickled)),
            image_shape=ds.image_shape,
        ).fit(ds.X)


def test_a_dashboard_offers_only_the_installed_and_the_operators_encoders():
    from explorer.reducers.efficientnet_lite import LITE_VARIANTS
    from explorer.reducers.encoders import ENV_ENCODERS, offered_encoders

    installed = [
        n for n in ("efficientnet-lite2", "efficientnet-lite0", "efficientnet-lite1") if LITE_VARIANTS[n].installed()
    ]
    assert installed[0] == "efficientnet-lite2"  # the default first, and only the variants whose wheel is here
    assert [s.label for s in offered_encoders({})] == installed
    env = {ENV_ENCODERS: f"timm:{TIMM_NAME}, open_clip:{CLIP_ARCH}/{CLIP_TAG}=/srv/w.safetensors,"}
    specs = offered_encoders(env)
    assert [s.label for s in specs] == [*installed, f"timm:{TIMM_NAME}", f"open_clip:{CLIP_ARCH}/{CLIP_TAG}"]
    assert specs[-1].weights == "/srv/w.safetensors"
    with pytest.raises(InputError, match=ENV_ENCODERS):
        offered_encoders({ENV_ENCODERS: "resnet50"})


def test_the_cli_encoder_flags_choose_the_pretrained_encoder(tmp_path, hf_cache, fake_timm, capsys):
    import io
    import json
    import zipfile

    from PIL import Image

    from explorer.cli import main

    _cache_file(hf_cache, f"timm/{TIMM_NAME}", "model.safetensors", _weights(0))
    data = tmp_path / "photos.zip"
    ds = _photos(n=12)
    with zipfile.ZipFile(data, "w") as zf:
        for i, (img, label) in enumerate(zip(ds.images, ds.labels, strict=True)):
            buf = io.BytesIO()
            Image.fromarray(img, "RGB").save(buf, format="PNG")
            zf.writestr(f"kind{label}/{i:03d}.png", buf.getvalue())
    argv = [
        "run", str(data), "--encoder", f"timm:{TIMM_NAME}", "--k", "2", "--cluster", "kmeans",
        "--projection", "pca", "--no-explain", "--quiet", "--device", "cpu", "--out", str(tmp_path / "runs"),
    ]  # fmt: skip
    assert main(argv) == 0
    (saved,) = (tmp_path / "runs").iterdir()
    model = json.loads((saved / "model.json").read_text())
    assert model["kind"] == "pretrained" and model["meta"]["encoder"] == f"timm:{TIMM_NAME}"
    assert main([*argv[:2], "--model", "pca", "--encoder", f"timm:{TIMM_NAME}", "--quiet"]) != 0
    assert "do not go with --model pca" in capsys.readouterr().err
