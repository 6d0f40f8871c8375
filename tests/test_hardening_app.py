"""Every case of tests/bad_inputs through the dashboard's uploader (Streamlit's AppTest): a bad file
shows its message in an error box and no exception, the data in use stays, the next good upload
works; caps say how to raise them; nothing is written; ``?run=`` links that are not saved runs show
a clear message; one session never sees another's data or runs; hostile names and values
(tests/bad_inputs/markup.py) show as text on every page, never as markup, links or images."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import LIMITS_ENV, Case, build_corpus, mime_type
from bad_inputs.markup import (
    COLUMN,
    FOLDERS,
    HOSTILE_FILE,
    HOSTILE_NAME,
    ID_COLUMN,
    ISSUE_FILE,
    LABEL_COLUMN,
    TEXT_COLUMN,
    hostile_table,
    hostile_zip,
    live_markup,
    table_csv,
    unmark,
)
from streamlit.testing.v1 import AppTest

from explorer.display.usertext import markdown_text, plain_text

pytestmark = pytest.mark.usefixtures("navigation_only")  # tests/conftest.py

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LABEL = "Label column (optional; evaluation only, never used to fit)"
# How long one AppTest run may take before it counts as hung: at.run() waits for the script, which
# trains and clusters in it (EXPLORER_SYNC_JOBS=1), so on a busy 2-core machine give it room.
RUN_TIMEOUT_S = 300
GOOD_CSV = b"a,b,c,kind\n" + b"".join(
    b"%d,%d,%d,k%d\n" % (i % 2 * 9 + i % 3, i % 5, i % 2 * 7, i % 2) for i in range(40)
)


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


def shown(elements) -> str:
    """The elements' Markdown bodies as a reader sees them (user text in them is escaped)."""
    return unmark(texts(elements))


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
    errors = shown(at.error)
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
    if case.message_fragment not in shown(at.markdown):
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
    from explorer.runs.files import save_run

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
    from explorer.runs.ids import new_run_id

    elsewhere = tmp_path / "private"
    run_id = saved_run(elsewhere)  # a real run, but not in the runs folder
    (tmp_path / "runs").mkdir()
    links = [
        "../",
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        str(elsewhere / run_id),
        f"../private/{run_id}",
        run_id,
        new_run_id(),
        "x" * 500,
    ]
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


# -- hostile names and values: text on every page, never markup --------------------------------------------
MARKDOWN_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")
ALLOWED_PLOTLY_TAGS = ("<b>", "</b>", "<br>")  # what hover_texts itself writes
PLOTLY_SKIP = ("template", "hovertemplate", "texttemplate", "colorscale")


def bodies(at: AppTest) -> list[str]:
    """Every Markdown body on the page (main and sidebar): headings, text, captions, alerts, image captions."""
    out = [str(e.value) for kind in MARKDOWN_ELEMENTS for e in getattr(at, kind)]
    out += [img.caption for e in at.image for img in e.proto.imgs if img.caption]
    return out


def plotly_strings(spec: str) -> list[str]:
    import json

    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in PLOTLY_SKIP:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(spec))
    return out


def markup_problems(at: AppTest, where: str) -> list[str]:
    """What on the page would render a user's text as more than text: [] when nothing would."""
    problems = [f"{where}: an exception {texts(at.exception)[:200]}"] if at.exception else []
    problems += [f"{where}: an error box {e.value[:200]!r}" for e in at.error]
    for body in bodies(at):
        for what in live_markup(body):
            problems.append(f"{where}: {what} in {body[:160]!r}")
    for chart in at.get("plotly_chart"):
        for text in plotly_strings(chart.proto.spec):
            rest = text
            for tag in ALLOWED_PLOTLY_TAGS:
                rest = rest.replace(tag, "")
            if set("<>$") & set(rest):
                problems.append(f"{where}: Plotly text {text[:160]!r}")
    return problems


def visit(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    return at


def pick(at: AppTest, label: str, value) -> None:
    [box] = [s for s in at.selectbox if s.label == label]
    box.set_value(value).run()


def test_hostile_names_show_as_text_on_every_page_and_in_the_shared_view(server, tmp_path):
    """The issue's file name, then one with links, an image, tags, LaTeX, an emoji, a directive, a bare
    address and an RTL override, holding hostile column names, category levels, labels and ids: uploaded,
    clustered, explored, evaluated, saved, and opened read-only through its link."""
    data = table_csv(hostile_table())
    at = start()
    upload(at, ISSUE_FILE, data)
    assert f"**Preview** of {markdown_text(ISSUE_FILE)}:" in texts(at.markdown)
    problems = markup_problems(at, "data, the issue's name")

    upload(at, HOSTILE_FILE, data)
    ws = at.session_state["ws"]
    label_box = next(s for s in at.selectbox if s.label == LABEL)
    assert plain_text(LABEL_COLUMN) in label_box.options and plain_text(COLUMN) in label_box.options
    pick(at, LABEL, LABEL_COLUMN)
    pick(at, "ID column (optional)", ID_COLUMN)
    name = markdown_text(HOSTILE_NAME)
    assert ws.dataset.name == HOSTILE_NAME and ws.dataset.labels is not None
    assert f"In use: {name}" in texts(at.subheader)
    assert f"Data: **{name}** ·" in texts(at.sidebar.caption)
    assert f"Column '{markdown_text(LABEL_COLUMN)}' is the label" in texts(at.markdown)
    problems += markup_problems(at, "data")

    visit(at, "train")
    pick(at, "Model", "pca")
    next(b for b in at.button if b.label == "Train").click().run()
    problems += markup_problems(at, "train")
    visit(at, "cluster")
    at.selectbox(key="p:method").set_value("kmeans")
    at.selectbox(key="p:projection").set_value("pca")
    at.checkbox(key="p:auto_k").uncheck().run()
    at.number_input(key="p:k").set_value(3).run()
    next(b for b in at.button if b.label == "Run clustering").click().run()
    assert ws.result is not None and ws.result.clusters.k == 3
    assert f"{name}: 90 rows" in texts(at.caption) and f"Run on show: {name}: 90 rows" in texts(at.sidebar.caption)
    problems += markup_problems(at, "cluster")

    visit(at, "explore")
    for colour in (TEXT_COLUMN, "label", COLUMN):  # levels, labels, a hostile column name in the legend
        pick(at, "Colour by", colour)
        problems += markup_problems(at, f"explore coloured by {colour!r}")
    next(m for m in at.multiselect if m.label == "Or pick clusters to inspect").set_value([0, 1, 2]).run()
    assert "points selected" in texts(at.markdown) and len(at.dataframe) >= 2
    problems += markup_problems(at, "explore, a selection")
    for page in ("reconstruct", "evaluate", "share"):
        problems += markup_problems(visit(at, page), page)
    next(b for b in at.button if b.label == "Save this run").click().run()
    run_id = ws.result.run_id
    assert run_id and f"?run={run_id}" in texts(at.code)
    problems += markup_problems(at, "share, saved")
    root = str(tmp_path / "runs")
    assert not [b for b in bodies(at) if root in b], "the runs folder's path is shown"

    viewer = open_link(run_id)
    assert f"Viewing saved run `{run_id}` (read-only): {name}, kmeans, 3 clusters." in texts(viewer.sidebar.info)
    problems += markup_problems(viewer, "shared explore")
    for page in ("cluster", "reconstruct", "evaluate", "share"):
        problems += markup_problems(visit(viewer, page), f"shared {page}")
        if page == "cluster":
            assert f"**Data** {name} (table, 90 rows)" in texts(viewer.markdown)
    assert not problems, "\n".join(problems)


def test_hostile_folder_and_file_names_of_images_are_captions_as_text(server):
    """Zip entry names are the images' ids and their folders the labels: both show in captions (Markdown
    in Streamlit) on the Data, Explore and Reconstructions pages."""
    at = start()
    at.file_uploader[0].set_value((HOSTILE_NAME + ".zip", hostile_zip(), "application/zip")).run()
    ws = at.session_state["ws"]
    assert ws.dataset.kind == "images" and sorted(set(ws.dataset.labels)) == sorted(FOLDERS)
    captions = [img.caption for e in at.image for img in e.proto.imgs if img.caption]
    assert captions and set(captions) <= {markdown_text(f) for f in FOLDERS}
    problems = markup_problems(at, "data")
    visit(at, "train")
    pick(at, "Model", "pca")
    next(b for b in at.button if b.label == "Train").click().run()
    visit(at, "cluster")
    at.selectbox(key="p:method").set_value("kmeans")
    at.selectbox(key="p:projection").set_value("pca")
    at.checkbox(key="p:auto_k").uncheck().run()
    at.number_input(key="p:k").set_value(3).run()
    next(b for b in at.button if b.label == "Run clustering").click().run()
    assert ws.result is not None
    visit(at, "explore")
    pick(at, "Colour by", "label")
    next(m for m in at.multiselect if m.label == "Or pick clusters to inspect").set_value([0]).run()
    captions = [img.caption for e in at.image for img in e.proto.imgs if img.caption]
    ids = set(ws.dataset.ids)
    assert captions and all(c == markdown_text(unmark(c)) and unmark(c).rsplit(" · c", 1)[0] in ids for c in captions)
    problems += markup_problems(at, "explore")
    problems += markup_problems(visit(at, "reconstruct"), "reconstruct")
    problems += markup_problems(visit(at, "evaluate"), "evaluate")
    assert not problems, "\n".join(problems)


def test_run_names_in_the_run_picker_are_plain_text(server, tmp_path, monkeypatch):
    from explorer.runs.files import load_run, save_run

    monkeypatch.setenv("EXPLORER_LIST_RUNS", "1")
    run_id = saved_run(tmp_path / "runs")
    result = load_run(run_id, tmp_path / "runs")
    named = save_run(result, tmp_path / "runs", name=HOSTILE_NAME + "\n# injected").name
    at = start()
    picker = at.selectbox(key="run_picker")  # options are shown as plain text, so shown literally
    assert any(o.startswith(plain_text(HOSTILE_NAME + "\n# injected") + " · k") for o in picker.options), picker.options
    picker.set_value(named).run()
    next(b for b in at.button if b.label == "Open").click().run()
    assert not markup_problems(at, "opened from the picker")


def test_a_run_id_with_a_trailing_newline_is_not_a_run_id(server, tmp_path):
    run_id = saved_run(tmp_path / "runs")
    for link in (run_id + "\n", run_id + "%0A", " " + run_id):
        at = open_link(link)
        assert "not a valid run id" in shown(at.error), link
        assert at.session_state["view_run"] is None
    assert open_link(run_id).session_state["view_run"] is not None  # the id itself opens


def test_a_damaged_run_names_its_id_not_the_servers_folder(server, tmp_path):
    root = tmp_path / "runs"
    run_id = saved_run(root)
    (root / run_id / "points.parquet").write_bytes(b"not parquet")
    at = open_link(run_id)
    message = shown(at.error)
    assert "damaged" in message and run_id in message, message
    assert str(tmp_path) not in message and str(root.resolve()) not in message, message
