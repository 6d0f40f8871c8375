"""The Streamlit behaviours pages/ui/compat.py works around, asserted as they are today: when an upgrade of
Streamlit changes one, its test here fails, and the workaround in compat.py can be changed or dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from pages.ui import compat


@pytest.fixture
def tiny_app(tmp_path: Path) -> Path:
    """An entry script with a ``pages/`` folder beside it, as the dashboard has: app.py says it ran, then
    navigates to one of two pages."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "one.py").write_text('import streamlit as st\nst.write("page one")\n')
    (tmp_path / "pages" / "two.py").write_text('import streamlit as st\nst.write("page two")\n')
    app = tmp_path / "app.py"
    app.write_text(
        'import streamlit as st\nst.write("app ran")\n'
        'st.navigation([st.Page("pages/one.py", default=True), st.Page("pages/two.py")]).run()\n'
    )
    return app


@pytest.fixture
def legacy_flag():
    """Put Streamlit's process-wide legacy-mode flag back as it was after the test."""
    before = PagesManager.uses_pages_directory
    yield
    PagesManager.uses_pages_directory = before


def shown(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [m.value for m in at.markdown]


def test_a_pages_folder_turns_the_legacy_mode_on_when_the_first_pages_manager_is_made(tiny_app, tmp_path, legacy_flag):
    PagesManager.uses_pages_directory = None
    PagesManager(str(tiny_app))
    assert PagesManager.uses_pages_directory is True  # the class-wide flag compat.leave_legacy_pages_mode clears
    PagesManager.uses_pages_directory = None
    (tmp_path / "elsewhere").mkdir()
    PagesManager(str(tmp_path / "elsewhere" / "app.py"))
    assert PagesManager.uses_pages_directory is False


def test_in_the_legacy_mode_a_page_runs_without_the_entry_script(tiny_app, legacy_flag):
    """What the workaround is for: AppTest, like a fresh server, starts in the legacy mode; st.navigation ends
    it, but AppTest starts it again before each run, and a page then runs alone, app.py never running."""
    at = AppTest.from_file(str(tiny_app))
    at.run()
    assert shown(at) == ["app ran", "page one"]
    at.switch_page("pages/two.py").run()
    assert shown(at) == ["page two"]
    assert PagesManager.uses_pages_directory is True


def test_leaving_the_legacy_mode_runs_every_page_through_the_entry_script(tiny_app, legacy_flag):
    PagesManager.uses_pages_directory = True
    assert compat.leave_legacy_pages_mode() is True
    assert PagesManager.uses_pages_directory is False
    assert compat.leave_legacy_pages_mode() is False  # once per process
    with compat.navigation_only():
        at = AppTest.from_file(str(tiny_app))
        at.run()
        at.switch_page("pages/two.py").run()
        assert shown(at) == ["app ran", "page two"]


def _fragment_rerun_in_a_full_run() -> None:
    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    @st.fragment
    def part() -> None:
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException as exc:
            st.write(f"refused: {type(exc).__name__}")

    part()


def test_a_fragment_scoped_rerun_is_refused_in_a_full_run():
    """What compat.rerun_fragment falls back from: inside a fragment, during a run of the whole script."""
    at = AppTest.from_function(_fragment_rerun_in_a_full_run)
    at.run()
    assert len(shown(at)) == 1 and shown(at)[0].startswith("refused: ")


def _stop_button_in_a_fragment() -> None:
    import streamlit as st

    from pages.ui.compat import rerun_fragment

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1

    @st.fragment
    def part() -> None:
        if st.button("Stop"):
            rerun_fragment()

    part()


def test_rerun_fragment_reruns_the_whole_script_where_a_fragment_rerun_is_refused():
    """Under AppTest a click inside a fragment runs the whole script; rerun_fragment then reruns it whole
    once more, without an error."""
    at = AppTest.from_function(_stop_button_in_a_fragment)
    at.run()
    assert at.session_state["runs"] == 1
    at.button[0].click().run()
    shown(at)
    assert at.session_state["runs"] == 3  # the click's run, then the rerun it asked for


def test_one_widget_key_on_two_pages_does_not_carry_its_value_across(tmp_path: Path):
    """The behaviour compat.shared_checkbox works around: ticked off on one page, the same key's box on the
    other page shows another value than the key holds. With shared_checkbox, the choice follows."""

    def page(name: str, body: str) -> None:
        (tmp_path / "pages" / f"{name}.py").write_text(f"import streamlit as st\n{body}\nst.write(f'{name}:{{v}}')\n")

    (tmp_path / "pages").mkdir()
    plain = 'st.session_state.setdefault("k", True)\nv = st.checkbox("C", key="k", persist_state="session")'
    shared = "from pages.ui import compat\nv = compat.shared_checkbox('C', 'choice', True)"
    page("a", plain)
    page("b", plain)
    page("c", shared)
    page("d", shared)
    app = tmp_path / "app.py"
    app.write_text(
        "import streamlit as st\nst.navigation([st.Page(p) for p in "
        "('pages/a.py', 'pages/b.py', 'pages/c.py', 'pages/d.py')]).run()\n"
    )
    with compat.navigation_only():
        at = AppTest.from_file(str(app)).run()
        at.checkbox[0].uncheck().run()
        at.checkbox[0].check().run()
        assert shown(at) == ["a:True"]
        at.switch_page("pages/b.py").run()
        assert at.session_state["k"] is True and shown(at) != ["b:True"]  # the key says True; the box does not
        at.switch_page("pages/c.py").run()
        at.checkbox[0].uncheck().run()
        at.switch_page("pages/d.py").run()
        assert shown(at) == ["d:False"] and at.session_state["choice"] is False
