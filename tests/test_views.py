"""What the dashboard shows of a run (explorer.dashboard: explore, run_view, reconstruct, messages), the cache
keys and actions it relies on, and the download formats (explorer.runs.exports)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from bad_inputs.markup import (
    FOLDERS,
    HOSTILE,
    HOSTILE_FILE,
    ID_COLUMN,
    ISSUE_FILE,
    LABEL_COLUMN,
    LABELS,
    LEVELS,
    TEXT_COLUMN,
    hostile_table,
    live_markup,
    table_csv,
    unmark,
)

from explorer.dashboard import explore, forms, messages, reconstruct, run_view
from explorer.dashboard.cache import dataset_fingerprint, model_key
from explorer.dashboard.cluster import run_with_representation
from explorer.dataset import Dataset, LoadReport
from explorer.display import maps, usertext
from explorer.errors import InputError
from explorer.pipeline import ProjectionConfig, default_config, replace_nested, reproject, run_pipeline
from explorer.runs import exports


def table_dataset(n=90, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    X = (rng.normal(size=(n, 4)) + 5 * np.eye(k, 4)[y]).astype(np.float32)
    table = pd.DataFrame(
        {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "colour": np.array(["red", "blue", "green"])[y]}
    )
    return Dataset(
        X=X,
        feature_names=["a", "b", "c", "d"],
        ids=np.array([f"r{i}" for i in range(n)]),
        report=LoadReport(source="t.csv", kind="table"),
        kind="table",
        name="t",
        labels=y.astype(str),
        table=table,
    )


def image_dataset(n=60, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 10, 10, 1), np.uint8)
    y = np.repeat(np.arange(3), n // 3)
    for i in range(n):
        images[i, 3 * y[i] : 3 * y[i] + 4, :, 0] = 255
        images[i] = np.clip(images[i] + rng.integers(0, 40, images[i].shape), 0, 255)
    X = images.reshape(n, -1).astype(np.float32) / 255
    return Dataset(
        X=X,
        feature_names=[f"px{i}" for i in range(100)],
        ids=np.array([f"img{i}.png" for i in range(n)]),
        report=LoadReport(source="z.zip", kind="images"),
        kind="images",
        name="z",
        labels=y.astype(str),
        images=images,
    )


def small_cfg(ds, **kw):
    return replace_nested(
        default_config(ds),
        **{"model": "pca", "latent_dim": 3, "method": "kmeans", "k": 3, "projection_method": "pca", **kw},
    )


@pytest.fixture(scope="module")
def table_run():
    ds = table_dataset()
    return run_pipeline(ds, small_cfg(ds))


def test_colours_and_hover(table_run):
    opts = explore.color_options(table_run)
    assert opts[:3] == ["cluster", "label", "anomaly"] and {"a", "colour"} <= set(opts)
    values, kind = explore.color_values(table_run, "cluster")
    names = table_run.explanation.names
    assert kind == "category" and set(values) == {f"{c}: {names[c]}" for c in (0, 1, 2)}  # the legend names clusters
    assert explore.color_values(table_run, "a")[1] == "number"
    assert explore.color_values(table_run, "colour")[1] == "category"
    with pytest.raises(InputError):
        explore.color_values(table_run, "nope")
    hover = explore.hover_texts(table_run, np.array([0, 45]))
    assert (
        len(hover) == 2
        and "<b>id</b>: r0" in hover[0]
        and "<b>label</b>: 0" in hover[0]
        and "<b>colour</b>: red" in hover[0]
    )

    # the map's sample's table made once; a search's hits drawn beyond it get theirs, the rest are looked up
    sample = np.array([0, 3, 45, 60])
    kept = (sample, maps.hover_table(explore.point_fields(table_run, sample)))
    assert explore.hover_rows(table_run, sample, kept) is kept[1]
    rows = np.array([0, 7, 45, 61])
    merged = explore.hover_rows(table_run, rows, kept)
    np.testing.assert_array_equal(merged.values, maps.hover_table(explore.point_fields(table_run, rows)).values)


def test_reconstructions_errors_and_anomalies(table_run):
    ids, centres = reconstruct.decoded_centres(table_run)
    assert list(ids) == [0, 1, 2] and centres.shape == (3, 4)
    errors = reconstruct.feature_errors(table_run)
    assert list(errors.columns) == ["feature", "error"] and len(errors) == 4
    assert errors["error"].is_monotonic_decreasing
    top = reconstruct.top_anomalies(table_run, 5)
    assert np.all(np.diff(table_run.anomaly[top]) <= 0) and table_run.anomaly[top[0]] == table_run.anomaly.max()


def test_selection_table_and_makeup(table_run):
    rows = np.flatnonzero(table_run.clusters.labels == table_run.clusters.labels[0])[:7]
    table = run_view.selection_table(table_run, rows)
    assert len(table) == 7 and {"id", "cluster", "anomaly", "label", "colour"} <= set(table.columns)
    assert "x" not in table.columns
    makeup = explore.cluster_makeup(table_run, rows)
    assert makeup["selected"].sum() == 7 and makeup["share"].iloc[0] == 1.0


def test_the_selection_table_is_the_run_exports_rows(table_run):
    """Built from the selected rows only (a map may hold a million), it holds what the whole run's
    export holds for those rows, in their order; cluster names per row as the legend has them."""
    rows = np.array([44, 3, 61, 0])
    table = run_view.selection_table(table_run, rows)
    whole = exports.named_points(table_run).iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        table[[c for c in whole.columns if c not in ("x", "y", "z")]],
        whole[[c for c in whole.columns if c not in ("x", "y", "z")]],
    )
    values, _ = explore.color_values(table_run, "cluster")
    names = run_view.cluster_names(table_run)
    assert list(values) == [names[int(c)] for c in table_run.clusters.labels]


def test_run_summary_and_description(table_run):
    row = run_view.run_summary(table_run)
    assert row["model"] == "pca" and row["k"] == 3 and "acc" in row and row["run"] == "(not saved)"
    assert "3 clusters" in run_view.describe_run(table_run)


def test_images_views():
    ds = image_dataset()
    result = run_pipeline(ds, small_cfg(ds))
    _ids, centres = reconstruct.decoded_centres(result)
    pics = run_view.as_images(centres, ds.image_shape)
    assert pics.shape == (3, 10, 10) and pics.dtype == np.uint8
    thumbs = run_view.thumbnails(result, np.array([0, 1]))
    assert len(thumbs) == 2 and thumbs[0].shape == (10, 10)
    recon = reconstruct.reconstructions(result, reconstruct.cluster_members(result, 0, 4))
    assert recon.shape == (4, 100)


def test_no_model_means_no_reconstructions_but_centres_in_data_space():
    ds = table_dataset()
    result = run_pipeline(ds, small_cfg(ds, model="none"))
    with pytest.raises(InputError, match="no trained model"):
        reconstruct.feature_errors(result)
    _ids, centres = reconstruct.decoded_centres(result)
    assert centres.shape == (3, 4)


def test_parse_hidden():
    assert forms.parse_hidden("500, 500,2000") == (500, 500, 2000)
    for bad in ("", "a, b", "0", "-3"):
        with pytest.raises(InputError):
            forms.parse_hidden(bad)


def test_fingerprint_and_model_key():
    a, b = table_dataset(), table_dataset()
    assert dataset_fingerprint(a) == dataset_fingerprint(b)
    assert dataset_fingerprint(a) != dataset_fingerprint(table_dataset(seed=1))
    fp = dataset_fingerprint(a)
    assert model_key(fp, small_cfg(a)) == model_key(fp, small_cfg(a))
    assert model_key(fp, small_cfg(a)) != model_key(fp, small_cfg(a, latent_dim=2))
    assert model_key(fp, small_cfg(a)) == model_key(
        fp, small_cfg(a, method="gmm")
    )  # clustering is not the model's business


def test_reproject_changes_only_the_map(table_run):
    other = reproject(table_run, ProjectionConfig(method="tsne", perplexity=10))
    assert other.config.projection.method == "tsne" and table_run.config.projection.method == "pca"
    np.testing.assert_array_equal(other.clusters.labels, table_run.clusters.labels)
    assert not np.allclose(other.embedding, table_run.embedding)
    assert (
        other.metrics["silhouette"] == table_run.metrics["silhouette"] and other.metrics["trustworthiness"] is not None
    )


def test_dec_refines_a_copy_of_the_cached_model():
    from explorer.pipeline import fit_representation

    ds = table_dataset()
    cfg = small_cfg(ds, model="ae", epochs=3, hidden=(8,), method="dec", cluster_dec_max_iter=5, device="cpu")
    reducer = fit_representation(ds, cfg, "cpu", lambda e: None)
    before = reducer.transform(ds.X)
    result = run_with_representation(ds, cfg, reducer)
    np.testing.assert_array_equal(reducer.transform(ds.X), before)  # the cached model is untouched
    assert result.reducer is not reducer and result.clusters.method == "dec"


def test_downloads(table_run, tmp_path):
    from safetensors import safe_open

    from explorer.reducers import restore_reducer
    from explorer.runs import exports

    csv = pd.read_csv(io.BytesIO(exports.points_csv(table_run, np.array([2, 0]))))
    assert list(csv["id"]) == ["r2", "r0"] and {"cluster", "x", "y", "anomaly", "label"} <= set(csv.columns)
    latent = pd.read_parquet(io.BytesIO(exports.latent_parquet(table_run)))
    assert list(latent.columns) == ["id", "z0", "z1", "z2", "cluster"]
    np.testing.assert_array_equal(latent[["z0", "z1", "z2"]].to_numpy(), table_run.Z)
    blob = exports.model_safetensors(table_run)
    (tmp_path / "model.safetensors").write_bytes(blob)
    with safe_open(str(tmp_path / "model.safetensors"), framework="np") as f:
        header = json.loads(f.metadata()["explorer_model"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has keys() but is not iterable
    model = restore_reducer(header["kind"], header["params"], header["meta"], tensors)
    np.testing.assert_allclose(model.transform(table_run.dataset.X), table_run.Z, rtol=1e-5, atol=1e-5)


# -- user text: shown as it reads, exported without formulas --------------------------------------------
def hostile_run(model="pca"):
    from explorer.data import TableOptions, load

    ds = load(
        table_csv(hostile_table()),
        name=HOSTILE_FILE,
        table=TableOptions(label_column=LABEL_COLUMN, id_column=ID_COLUMN),
    )
    return run_pipeline(ds, small_cfg(ds, model=model, latent_dim=2))


def test_markdown_text_makes_no_markup_and_reads_as_it_was():
    for text in [*HOSTILE, *LEVELS, *LABELS, *FOLDERS]:
        shown = usertext.markdown_text(text)
        assert live_markup(shown) == [], (text, shown)
        assert "\n" not in shown and "\r" not in shown  # a line break could start a heading or a list
        assert unmark(shown) == usertext.plain_text(text), text  # nothing dropped: only escaped
    assert usertext.markdown_text("EXPLORER_MAX_ROWS: 1,000 rows (a.csv)") == "EXPLORER_MAX_ROWS: 1,000 rows (a.csv)"
    assert usertext.markdown_text("_b_ *a*").count("\\") == 4  # emphasis is escaped, snake_case is not
    for start in ("# x", "- x", "+ x", "1. x", "2) x", "> x", "= x", "    x"):  # what begins a block
        assert usertext.markdown_text(start)[:1] in ("\\", "\u00a0") or usertext.markdown_text(start)[1] == "\\", start


def test_plain_text_shows_line_breaks_controls_and_direction_overrides():
    assert usertext.plain_text("a\r\nb\nc\td") == "a↵b↵c d"
    assert usertext.plain_text("photo\u202egnp.exe") == "photo\ufffdgnp.exe"  # would read "photoexe.png"
    assert usertext.plain_text("\x00\x1b[31m") == "\ufffd\ufffd[31m"
    assert usertext.plain_text("Zoë 東京 😀") == "Zoë 東京 😀"


def test_plotly_text_is_entities_not_tags():
    import html

    for text in HOSTILE:
        shown = usertext.plotly_text(text)
        assert not set("<>$\n\r") & set(shown), shown
        assert html.unescape(shown) == usertext.plain_text(text)  # what Plotly's entity decoding shows


def test_hover_text_cannot_forge_lines_or_links():
    import html

    result = hostile_run()
    fields = explore.point_fields(result, np.arange(result.dataset.n))
    hover = explore.hover_texts(result, np.arange(result.dataset.n))
    for row, text in enumerate(hover):
        lines = text.split("<br>")
        assert len(lines) == len(fields)  # one line per field, whatever the values hold
        for line, (name, values) in zip(lines, fields, strict=True):
            assert line.startswith("<b>") and "</b>: " in line
            shown_name, shown_value = line[3:].split("</b>: ", 1)
            assert "<" not in shown_name + shown_value and ">" not in shown_name + shown_value
            assert html.unescape(shown_value) == usertext.plain_text(values[row])
            assert html.unescape(shown_name) == usertext.plain_text(name)
    assert any(html.unescape(t).count("x<br><b>cluster</b>: 3") for t in hover)  # the value, shown as it is
    details = explore.point_details(result, 0)
    assert live_markup(details) == [] and unmark(details).startswith("**id**: =1+1 #0")


def test_describe_run_and_the_run_table_are_plain_text():
    result = hostile_run()
    assert run_view.describe_run(result).startswith(usertext.plain_text(result.dataset.name) + ": 90 rows")
    assert run_view.run_summary(result)["data"] == usertext.plain_text(result.dataset.name)


def test_exports_neutralize_formulas_and_keep_numbers():
    result = hostile_run()
    for blob in (exports.points_csv(result), explore.selection_csv(result, np.arange(result.dataset.n))):
        frame = pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False)
        for column in frame.columns:
            assert not column.startswith(usertext.FORMULA_PREFIXES), column
            for cell in frame[column]:
                assert not cell.startswith(usertext.FORMULA_PREFIXES) or usertext.is_number_text(cell), (column, cell)
        assert "'=1+1 #0" in set(frame["id"]) and "-5" in set(frame["id"])  # a formula-like id, a number-like one
        assert "'-2+3" in set(frame["label"])
        numbers = pd.read_csv(io.BytesIO(blob))
        for column in ("cluster", "anomaly"):
            assert pd.api.types.is_numeric_dtype(numbers[column])
    selection = pd.read_csv(io.BytesIO(explore.selection_csv(result, np.arange(result.dataset.n))))
    assert pd.api.types.is_float_dtype(selection["b"]) and (selection["b"] < 0).all()  # negative numbers stay numbers
    np.testing.assert_allclose(selection["b"], result.dataset.table["b"], atol=1e-4)
    assert "'@id" in selection.columns
    assert set(selection[TEXT_COLUMN]) == {"x<br><b>cluster</b>: 3", "'" + LEVELS[1], LEVELS[2]}


def test_spreadsheet_cells():
    cell = usertext.spreadsheet_cell
    for risky in ("=1+1", "+A1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-", "+cmd|' /C calc'!A0"):
        assert cell(risky) == "'" + risky
    for kept in ("-3", "+1.5e3", "-0.25", "a=b", " =1", "", "text"):
        assert cell(kept) == kept
    assert cell(-3.5) == -3.5 and cell(None) is None


def test_file_stems_and_redacted_paths():
    import re

    stem = usertext.file_stem(ISSUE_FILE)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}", stem) and stem.startswith("t_https_evil.example")
    assert usertext.file_stem("../../etc/passwd") == "etc_passwd" and usertext.file_stem("...") == "data"
    message = "[Errno 2] No such file: '/srv/explorer/runs/abc/points.parquet'"
    assert (
        usertext.redact_paths(message, ["/srv/explorer/runs", "/"]) == "[Errno 2] No such file: '…/abc/points.parquet'"
    )
    root = messages.server_folders()[0]
    assert messages.visitor_text(f"{root}/x failed") == "…/x failed"


def test_cluster_ids_are_the_labels_that_have_rows(table_run):
    assert explore.cluster_ids(table_run) == sorted(set(int(c) for c in table_run.clusters.labels))
    from dataclasses import replace

    noisy = replace(table_run, clusters=replace(table_run.clusters, labels=np.array([3, -1, 3, 0, -1])))
    assert explore.cluster_ids(noisy) == [-1, 0, 3]
