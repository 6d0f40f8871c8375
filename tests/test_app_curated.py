"""Curated clusters downstream of the Explore page: Understand explains them, Evaluate scores them against the
label, Share exports them, Apply assigns new rows to them and saving keeps the curation; a run opened by its
read-only link shows its saved curation. On tests/test_app.py's saved run of three planted groups ('kind' x, y,
z, one per group), with two of the groups merged."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from streamlit.testing.v1 import AppTest
from test_app import (  # noqa: F401 - fixtures among them, used as test parameters
    APP,
    RUN_TIMEOUT_S,
    blobs_csv,
    by_label,
    click,
    ok,
    runs_dir,
    saved_run,
    texts,
)

from explorer.curate import load_curation
from explorer.dashboard import apply, curate
from explorer.runs import exports
from explorer.runs.files import load_run

pytestmark = pytest.mark.usefixtures("navigation_only", "runs_dir")


def merged_run(root) -> tuple[str, np.ndarray]:
    """A saved run whose clusters 0 and 1 were merged into 0 and cluster 0 renamed, saved with it; its id and
    the planted groups (n,)."""
    run_id = saved_run(root)
    run = load_run(run_id, root)
    cur, _ = curate.start_curation(run, str(root))
    cur.merge(0, 1)
    cur.rename(0, "<b>two groups</b>")
    curate.save(cur, run, str(root), read_only=False)
    return run_id, np.asarray(run.dataset.labels)


def linked(run_id: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = run_id
    at.run()
    at.switch_page(page).run()
    ok(at)
    return at


def test_a_linked_runs_curation_is_explained_and_scored(runs_dir):  # noqa: F811 - test_app's fixture
    run_id, kind = merged_run(runs_dir)
    run = load_run(run_id, runs_dir)
    curated = load_curation(runs_dir / run_id, run)
    want_ari = adjusted_rand_score(kind, curated.labels)
    assert want_ari < 0.9  # two planted groups in one cluster: the curated clusters agree less with the label

    at = linked(run_id, "pages/evaluate.py")
    assert "2 clusters, 3 in the run" in texts(at.caption)
    assert float(by_label(at.metric, "ARI").value) == pytest.approx(want_ari, abs=5e-3)
    by_label(at.checkbox, "The curated clusters").uncheck().run()  # the run's own: the planted partition
    assert float(by_label(at.metric, "ARI").value) == pytest.approx(1.0)
    by_label(at.checkbox, "The curated clusters").check().run()

    at.switch_page("pages/understand.py").run()
    ok(at)
    assert "The curated clusters are not explained yet" in texts(at.info)
    click(at, "Explain the curated clusters now")
    overview = at.dataframe[0].value
    assert overview["rows"].tolist() == np.bincount(curate.curated_run(run, curated).labels).tolist()
    assert "<b>two groups</b>" in overview["name"].tolist()  # the name given while curating (escaped when drawn)
    assert "\\<b\\>two groups\\</b\\>" in texts(at.caption)  # a row's runner-up, by its curated name, escaped

    for page in ("pages/share.py", "pages/apply.py"):  # the files and new rows go by the curated clusters
        at.switch_page(page).run()
        ok(at)
        assert "2 clusters, 3 in the run" in texts(at.caption)


def test_curated_clusters_export_save_and_apply(runs_dir, tmp_path):  # noqa: F811 - test_app's fixture
    run_id, _ = merged_run(runs_dir)
    run = load_run(run_id, runs_dir)
    cur = load_curation(runs_dir / run_id, run)
    shown = curate.curated_run(run, cur)
    assert curate.curated_run(run, type(cur).of(run)) is run  # no edit: the run itself
    assert shown.metrics["k"] == 2 and shown.metrics["trustworthiness"] == run.metrics["trustworthiness"]

    points = pd.read_csv(io.BytesIO(exports.points_csv(shown)))
    np.testing.assert_array_equal(points["cluster"], shown.labels)
    kept = run.explanation.names[2]  # the cluster the merge left alone keeps its name, as 1
    assert set(points["cluster_name"]) == {"<b>two groups</b>", kept} and (points["cluster_name"] == kept).sum() == 30

    new = pd.read_csv(io.BytesIO(blobs_csv(90)))  # the same rows again: each joins its own row's cluster
    applied = apply.apply_upload(shown, [("new.csv", new.to_csv(index=False).encode())], False)
    assert adjusted_rand_score(shown.labels, applied.assignment.labels) >= 0.95
    assert "vote" in applied.assignment.how
    table = apply.share_table(shown, applied)
    assert len(table) == 2

    unsaved = load_run(run_id, runs_dir)
    unsaved.run_id = None
    said = curate.save_run_and_curation(unsaved, cur, str(tmp_path))
    assert "Saved the curation (2 edits)" in said
    again = load_curation(tmp_path / unsaved.run_id, load_run(unsaved.run_id, tmp_path))
    np.testing.assert_array_equal(again.labels, cur.labels)
    assert curate.curated_sentence(run) is None and "2 edits" in curate.curated_sentence(shown)
