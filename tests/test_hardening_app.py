"""Every case of tests/bad_inputs through the dashboard's uploader (Streamlit's AppTest): a bad file
shows its message in an error box and no exception, the data in use stays, the next good upload
works; caps say how to raise them; nothing is written; ``?run=`` links that are not saved runs show
a clear message; one session never sees another's data or runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bad_inputs import LIMITS_ENV, Case, build_corpus, mime_type

pytestmark = pytest.mark.usefixtures("navigation_only")  # tests/conftest.py

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LABEL = "Label column (optional; evaluation only, never used to fit)"
# How long one AppTest run may take before it counts as hung: at.run() waits for the script, which
# trains and clusters in it (EXPLORER_SYNC_JOBS=1), so on a busy 2-core machine give it room.
RUN_TIMEOUT_S = 300
GOOD_CSV = b"a,b,c,kind\n" + b"".join(b"%d,%d,%d,k%d\n" % (i % 2 * 9 + i % 3, i % 5, i % 2 * 7, i % 2)
                                      for i in range(40))


@pytest.fixture
def server(tmp_path, monkeypatch) -> Path:
    """The caps of the corpus, a runs folder, and an empty working folder; returns the working folder."""
    for var, value in LIMITS_ENV.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_SYNC_JOBS", "1")
    monkeypatch.delenv("EXPLORER_LIST_RUNS", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("app_inputs")
    return folder, build_corpus(folder)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.run()
    assert not at.exception, texts(at.exception)
    at.radio(key="p:data:source").set_value("My own files").run()
    return at


def upload(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader[0].set_value((name, data, mime_type(name))).run()


def check_case(at: AppTest, case: Case, data: bytes) -> str | None:
    """Upload one case; None when the page did the right thing, else what went wrong."""
    ws = at.session_state["ws"]
    before = ws.dataset
    upload(at, case.filename, data)
    if case.label and not at.exception:
        picker = [s for s in at.selectbox if s.label == LABEL]
        if case.label not in picker[0].options:  # the picker lists only real columns: nothing to try
            return None if case.expect == "error" else f"the label picker lacks {case.label!r}"
        picker[0].set_value(case.label).run()
    if at.exception:
        return f"an exception: {texts(at.exception)[:300]}"
    errors = texts(at.error)
    if case.expect == "error":
        if case.message_fragment not in errors:
            return f"no error box with {case.message_fragment!r}; errors: {errors!r}"
        if case.message_fragment.startswith("max_") and f"EXPLORER_{case.message_fragment.upper()}" not in errors:
            return f"the cap's message doesn't say how to raise it: {errors!r}"
        if ws.dataset is not before:
            return "the data in use changed"
        return None
    if errors:
        return f"an error box: {errors!r}"
    if ws.dataset is None or ws.dataset.name != Path(case.filename).stem:
        return f"not loaded (data in use: {ws.dataset and ws.dataset.name})"
    if case.message_fragment not in texts(at.markdown):
        return f"'What the loader did' lacks {case.message_fragment!r}"
    return None


def test_every_case_through_the_uploader(server, corpus):
    folder, cases = corpus
    at = start()
    failures = []
    for case in cases:
        if case.kind == "other":
            continue  # see the next test
        problem = check_case(at, case, (folder / case.filename).read_bytes())
        if problem:
            failures.append(f"{case.name}: {problem}")
        if at.exception:
            at = start()  # carry on with the other cases in a fresh session
    assert not failures, "\n".join(failures)
    upload(at, "good.csv", GOOD_CSV)  # and the app still works
    assert not at.exception and not at.error and at.session_state["ws"].dataset.name == "good"
    assert not any(server.iterdir()) and not (server.parent / "runs").exists()  # nothing was written


def test_a_file_of_an_unsupported_type_gets_a_message(server, corpus):
    """The uploader has no type= filter (Streamlit 1.67 enforces one on the server by raising before
    the page runs, which no page can catch): the loader's own message shows instead."""
    folder, cases = corpus
    at = start()
    for case in [c for c in cases if c.kind == "other"]:
        assert check_case(at, case, (folder / case.filename).read_bytes()) is None, case.name


def test_a_path_in_the_upload_name_is_only_a_name(server):
    at = start()
    upload(at, "../../../../tmp/evil.csv", GOOD_CSV)
    assert not at.exception and not at.error and at.session_state["ws"].dataset.name == "evil"
    assert not any(server.iterdir()) and not Path("/tmp/evil.csv").exists()


def saved_run(root: Path) -> str:
    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, replace_nested, run_pipeline
    from explorer.runs import save_run

    ds = load(GOOD_CSV, name="good.csv", table=TableOptions(label_column="kind"))
    cfg = replace_nested(default_config(ds), model="pca", latent_dim=2, method="kmeans", k=2, projection_method="pca")
    result = run_pipeline(ds, cfg)
    save_run(result, root)
    return result.run_id


def open_link(link: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params["run"] = link
    at.run()
    assert not at.exception, texts(at.exception)
    return at


def test_run_links_that_are_not_saved_runs_say_so(server, tmp_path):
    from explorer.runs import new_run_id

    elsewhere = tmp_path / "private"
    run_id = saved_run(elsewhere)  # a real run, but not in the runs folder
    (tmp_path / "runs").mkdir()
    links = ["../", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", str(elsewhere / run_id), f"../private/{run_id}",
             run_id, new_run_id(), "x" * 500]
    for link in links:
        at = open_link(link)
        assert "Can't open the shared run" in texts(at.error), link
        assert at.title[0].value == "📂 Data" and at.session_state["view_run"] is None, link
        assert len(at.error[0].value) < 300, "the message stays short whatever the link"
    at = open_link("")  # an empty link is no link
    assert not at.error and at.title[0].value == "📂 Data"


def test_one_session_never_sees_another(server, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_LIST_RUNS", "0")  # a hosted server: no list of everybody's saved runs
    run_id = saved_run(tmp_path / "runs")
    alice = start()
    upload(alice, "alice.csv", GOOD_CSV)
    assert alice.session_state["ws"].dataset.name == "alice"
    bob = start()
    ws = bob.session_state["ws"]
    assert ws.dataset.name == "penguins" and ws.owner != alice.session_state["ws"].owner
    assert not ws.runs and not ws.models and not ws.jobs
    assert not [s for s in bob.selectbox if s.key == "run_picker"]
    assert run_id not in texts(bob.sidebar.markdown) + texts(bob.sidebar.caption)
    assert len(ws.owner) >= 22
