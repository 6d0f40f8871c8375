"""The "Add new data" page's job, driven by AppTest: applying runs as the session's background job with its
progress (the stages preprocess, encode, assign, place, drift) and a Stop that cancels it and keeps the rows
applied before; bad uploads give a message and the page keeps working; the new rows saved as a run of their
own name the run they came from (escaped) when that run is opened."""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest
from test_app import (  # noqa: F401 - fixtures among them, used as test parameters
    APP,
    LABEL,
    RUN_TIMEOUT_S,
    app,
    blobs_csv,
    by_label,
    click,
    cluster_kmeans,
    ok,
    runs_dir,
    shapes_zip,
    texts,
    upload,
)

from explorer.dashboard import apply
from explorer.dashboard.workspace import JobKind

pytestmark = pytest.mark.usefixtures("navigation_only", "runs_dir")  # runs_dir: tests/test_app.py
WAIT_S = 120  # how long a job may take to reach what a test waits for, on a busy machine


def new_rows(n: int = 60, *, shift: float = 0.0, drop: str | None = None, name: str = "new.csv") -> tuple:
    """Rows like blobs_csv's (the same three groups), ``shift`` added to column a, ``drop`` left out."""
    import io

    import pandas as pd

    df = pd.read_csv(io.BytesIO(blobs_csv(150))).sample(n, random_state=1)
    df["sample_id"] = [f"new{i}" for i in range(n)]
    df["a"] = df["a"] + shift
    if drop:
        df = df.drop(columns=[drop])
    return name, df.to_csv(index=False).encode(), "text/csv"


def saved_blobs_run(at: AppTest, name: str = "blobs.csv") -> AppTest:
    """blobs_csv uploaded as ``name`` (label and ID chosen), clustered by k-means (k 3), saved on Share."""
    upload(at, name, blobs_csv(), "text/csv")
    by_label(at.selectbox, LABEL).set_value("kind").run()
    by_label(at.selectbox, "ID column (optional)").set_value("sample_id").run()
    cluster_kmeans(at, 3)
    at.switch_page("pages/share.py").run()
    return click(at, "Save this run")


def apply_file(at: AppTest, file: tuple) -> AppTest:
    at.switch_page("pages/apply.py").run()
    at.file_uploader[0].set_value(file).run()
    ok(at)
    return click(at, "Apply to this run")


def wait_for(condition, what: str) -> None:
    end = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def progress_texts(at: AppTest) -> str:
    return "\n".join(p.proto.text for p in at.get("progress"))


def test_applying_is_a_job_with_progress_and_a_stop_that_keeps_the_rows_before(monkeypatch):
    at = saved_blobs_run(app())
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "0")  # from here on, jobs run on the manager's threads
    jobs, gate = [], threading.Event()
    real = apply.apply_upload

    def held(result, files, fill_missing, *, limits=None, on_event=None, should_stop=None):
        """The real apply, held at its assign stage until the gate opens (checking Stop meanwhile)."""
        jobs.append(on_event.__self__)  # the job's emit: the job itself

        def on(event):
            on_event(event)
            while event.stage == "assign" and not gate.is_set():
                should_stop()  # raises inside the work once the job is cancelled
                time.sleep(0.01)

        return real(result, files, fill_missing, limits=limits, on_event=on, should_stop=should_stop)

    monkeypatch.setattr(apply, "apply_upload", held)
    gate.set()
    apply_file(at, new_rows(60, name="first.csv"))  # the first set goes through
    said = texts(at.success)  # "done" shows once: in this run if the job ended during it, else in the next
    wait_for(lambda: jobs and jobs[-1].done, "the first apply")
    at.run()
    ok(at)
    assert "Applying the run to first.csv: done." in said + texts(at.success)
    assert by_label(at.metric, "New rows").value == "60" and "first.csv" in texts(at.caption)
    assert [e.stage for e in jobs[-1].snapshot()] == ["preprocess", "encode", "assign", "place", "drift"]

    gate.clear()  # the second one stops at its assign stage
    apply_file(at, new_rows(40, shift=30.0, name="second.csv"))
    wait_for(lambda: len(jobs) == 2, "the second apply to start")
    job = jobs[-1]
    wait_for(lambda: job.snapshot() and job.snapshot()[-1].stage == "assign", "the assign stage")
    at.run()
    ok(at)
    shown = progress_texts(at)
    assert "Applying the run to second.csv" in shown and "assign: joining 40 rows to the run's 3 clusters" in shown
    assert not [b for b in at.button if b.label == "Apply to this run"]  # one apply at a time
    assert by_label(at.metric, "New rows").value == "60"  # the rows applied before stay on show meanwhile
    assert "a newer upload is being applied" in texts(at.caption)
    ws = at.session_state["ws"]
    assert ws.jobs[JobKind.APPLY].job_id == job.id

    at.button(key=f"stop-{job.id}").click().run()
    ok(at)
    warned = texts(at.warning)  # the message shows once: in this run if the job had ended by then, else in the next
    wait_for(lambda: job.done, "the stopped job to end")
    at.run()
    ok(at)
    assert job.status == "cancelled" and "was cancelled: Stop was pressed" in warned + texts(at.warning)
    assert not [p for p in at.get("progress")] and JobKind.APPLY not in ws.jobs
    assert by_label(at.metric, "New rows").value == "60" and by_label(at.metric, "Drift").value == "no"  # kept
    assert [b for b in at.button if b.label == "Apply to this run"]  # and the page goes on
    gate.set()
    click(at, "Apply to this run")
    wait_for(lambda: len(jobs) == 3 and jobs[-1].done, "the apply after Stop")
    at.run()
    ok(at)
    assert by_label(at.metric, "New rows").value == "40" and by_label(at.metric, "Drift").value == "yes"  # a shifted


def test_bad_uploads_give_a_message_and_the_page_keeps_working():
    at = saved_blobs_run(app())
    apply_file(at, new_rows(50))
    assert by_label(at.metric, "New rows").value == "50" and not at.error
    before = at.session_state["ws"].applied

    apply_file(at, new_rows(30, drop="b", name="no_b.csv"))  # a feature column missing: refused by default
    assert "Applying the run to no_b.csv failed" in texts(at.error) and "'b'" in texts(at.error)
    assert at.session_state["ws"].applied is before and by_label(at.metric, "New rows").value == "50"  # kept
    by_label(
        at.checkbox, "Fill feature columns the new data lacks with the training value (otherwise they are refused)"
    ).check().run()
    click(at, "Apply to this run")  # the same file, with the stated fallback
    assert not at.error and by_label(at.metric, "New rows").value == "30"
    assert "Missing feature columns filled with their training value" in texts(at.caption) and "'b'" in texts(
        at.caption
    )

    for bad in [
        ("junk.parquet", bytes(range(256)) * 4, "application/octet-stream"),
        ("shapes.zip", shapes_zip(5), "application/zip"),  # images for a table's run
        ("empty.csv", b"", "text/csv"),
    ]:
        apply_file(at, bad)
        assert texts(at.error), bad[0]  # a sentence in a box, never a traceback
        assert len(at.error[0].value) < 600 and "Traceback" not in at.error[0].value
        assert by_label(at.metric, "New rows").value == "30", bad[0]  # the last good rows stay
    at.switch_page("pages/explore.py").run()  # and the rest of the app works as before
    ok(at)
    assert not at.error


def test_saved_new_rows_open_as_a_run_that_names_its_source_escaped(runs_dir):  # noqa: F811 - test_app's fixture
    import json

    hostile = "[evil](javascript:alert(1)) <img src=x onerror=alert(1)>.csv"  # no slash: a name, not a path
    at = saved_blobs_run(app(), hostile)
    source = at.session_state["ws"].result
    apply_file(at, new_rows(45))
    click(at, "Save the new rows as a run")
    assert "linked to run" in texts(at.success)
    saved = [p for p in runs_dir.iterdir() if p.name != source.run_id and not p.name.startswith(".")]
    assert len(saved) == 1 and json.loads((saved[0] / "config.json").read_text())["applied_to"] == source.run_id
    link = next(m.value for m in at.markdown if m.value.startswith("[Open the saved new rows"))
    assert link.endswith(f"(?run={saved[0].name})")

    viewer = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)  # whoever opens the saved new rows
    viewer.query_params["run"] = saved[0].name
    viewer.run()
    ok(viewer)
    note = next(i.value for i in viewer.sidebar.info if "new rows applied to run" in i.value)
    assert f"`{source.run_id}`" in note
    assert "\\[evil\\]" in note and "\\<img" in note  # the source's name, escaped: no link, no HTML
    assert "[evil](" not in note and "<img" not in note.replace("\\<img", "")
    assert f"(?run={source.run_id})" in texts(viewer.sidebar.markdown)  # a link back to the source run
