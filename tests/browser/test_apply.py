"""Add new data to a saved run, in a real headless Chromium against a real `streamlit run app.py`: a person
opens a saved run by its link, goes to "Add new data", uploads new rows (some with a category level the run
never saw, one feature column missing, one column shifted), and sees them placed on the run's map, the
clusters they joined and the drift report, without an error. Applying runs as a background job."""

from __future__ import annotations

import pytest

from .conftest import write_csv
from .driver import WAIT_S, _expect
from .test_dashboard import blobs_rows

pytestmark = pytest.mark.browser
FILL = "Fill feature columns the new data lacks with the training value (otherwise they are refused)"
SHAPES = ("round", "square", "star")


def saved_run(runs_dir, tmp_path) -> str:
    """A run saved as the CLI would save it: 150 rows in three groups (four numbers and a shape that follows
    the group), k-means with k 3 on the features, a PCA map. Returns its id."""
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import save_run

    rows = [[*r[:5], SHAPES["xyz".index(r[5])], r[5]] for r in blobs_rows()]
    csv = write_csv(tmp_path / "groups.csv", ["sample_id", "a", "b", "c", "d", "shape", "kind"], rows)
    ds = load(csv, table=TableOptions(label_column="kind", id_column="sample_id"))
    result = run_pipeline(
        ds, default_config(ds, model="none", method="kmeans", k=3, projection_method="pca", explain=False)
    )
    save_run(result, runs_dir)
    return result.run_id


def new_rows(tmp_path):
    """40 new rows of the same groups: column d missing, 8 with the unseen shape "hexagon", column a moved
    by 5 standard deviations in every row (drift the report must name)."""
    rows = []
    for i, r in enumerate(blobs_rows(120, seed=7)[::3]):
        shape = "hexagon" if i < 8 else SHAPES["xyz".index(r[5])]
        rows.append([f"new{i}", f"{float(r[1]) + 5:.4f}", r[2], r[3], shape])
    return write_csv(tmp_path / "new.csv", ["sample_id", "a", "b", "c", "shape"], rows), len(rows)


def test_new_rows_on_a_saved_run_show_their_place_clusters_and_drift(new_session, server, run, tmp_path):
    run_id = saved_run(server.runs_dir, tmp_path)
    csv, n_new = new_rows(tmp_path)
    user = new_session("apply", server.url)

    async def steps() -> None:
        await user.open(f"?run={run_id}", heading="Explore")
        await user.go("Add new data", "➕ Add new data")
        await user.see("Upload new data to see where it falls on this run's map.")
        await user.tick(FILL, True)
        async with user.rerun():
            await user.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
        await user.click("Apply to this run")
        await user.heading("What drifted", timeout_s=4 * WAIT_S)  # the job ended and its rows are shown
        await user.settle()
        await user.shot("01-applied")

        # where the new rows fall: the run's 150 points in grey, the 40 new ones over them by cluster
        traces = await user.figure(points=150 + n_new)
        old = [t for t in traces if t["name"] == "the run's rows"]
        new = [t for t in traces if t["name"].startswith("new → ")]
        assert len(old) == 1 and len(old[0]["x"]) == 150
        assert sum(len(t["x"]) for t in new) == n_new and 1 <= len(new) <= 3

        # which clusters they joined: then and now, one row per cluster of the run
        shares = await user.dataframe(0, min_rows=4)
        assert shares[0][:4] == ["cluster", "name", "then", "now"] and len(shares) == 4
        assert abs(sum(float(r[3]) for r in shares[1:]) - 1.0) < 0.01  # every new row joined a cluster

        # what drifted: the metric, the shifted column named, the unseen level and the missing column stated
        drift = user.page.locator('[data-testid="stMetric"]', has_text="Drift").locator('[data-testid="stMetricValue"]')
        await _expect(drift).to_have_text("yes", timeout=WAIT_S * 1000)
        columns = await user.dataframe(1, min_rows=2)
        assert columns[0][:2] == ["column", "kind"] and columns[1][0] == "a"  # the most shifted column first
        await user.see("has levels not seen in training: 'hexagon' (8)")
        await user.see("Missing feature columns filled with their training value")
        assert await user.count(user.page.get_by_role("button", name="Download the new rows (CSV)"), 1) == 1
        assert (
            await user.count(user.page.get_by_role("button", name="Save the new rows as a run"), 0) == 0
        )  # a link's viewer
        assert await user.errors() == []

    run(steps())
    assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
