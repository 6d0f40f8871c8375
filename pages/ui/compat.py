"""Every workaround for a Streamlit behaviour, in one place. Each says what Streamlit does and what we do
about it; tests/test_streamlit_compat.py asserts the behaviour underneath, so an upgrade of Streamlit that
changes or fixes it fails there, and the workaround can then be changed or dropped.

1. **Legacy multipage mode** (:func:`leave_legacy_pages_mode`, :func:`navigation_only`). A folder named
   ``pages/`` beside the entry script makes Streamlit start in its legacy multipage mode: every file in it is a
   page of its own, run *without* the entry script, until the entry script first calls ``st.navigation``.
   Streamlit keeps that mode in a class attribute, ``PagesManager.uses_pages_directory``, set once per
   process when the first ``PagesManager`` is made (True when the folder exists) and cleared by
   ``st.navigation``. Were the first request of a fresh server a sub-page URL, app.py would never run and the
   whole server would stay in that mode; so the pages clear the flag on their first import and rerun through
   app.py. ``AppTest`` sets the flag back to None before every run, so page tests pin it off
   (:func:`navigation_only`). Renaming the folder (say, to ``app_pages/``) would end both.
2. **Fragment-scoped reruns** (:func:`rerun_fragment`). ``st.rerun(scope="fragment")`` is refused (a
   ``StreamlitAPIException``) unless the fragment itself is rerunning; a click inside a fragment reruns only the
   fragment in a browser, but a full rerun that came first (and every click under ``AppTest``) runs the whole
   script, where it is refused. We rerun the whole script then.

3. **One widget key on several pages** (:func:`shared_checkbox`). A keyed widget drawn on two pages does not
   show the value its key holds when the other page drew it last: ticked on one page, the same key's box on
   the next page shows what that page's box last sent (or its default), even with ``persist_state``. A choice
   that several pages share (the curated clusters or the run's own) is kept under a key of its own and each
   page's box starts from it.

Not here, because they are not patches but how the page is built: downloads made with the page or on a
"Prepare" click instead of Streamlit's click-time (deferred) download (pages/ui/downloads.py), and uploads
kept in the session because Streamlit forgets a file uploader's files when another page is shown
(pages/ui/loading.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st


def leave_legacy_pages_mode() -> bool:
    """Switch Streamlit's legacy multipage mode off for this server process, so app.py runs whatever URL a
    visitor opens first; True when this call switched it off (the run in progress should then start again,
    through app.py: :func:`st.rerun`, once the page can rerun safely)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


@contextlib.contextmanager
def navigation_only() -> Iterator[None]:
    """Within the block, every ``AppTest`` run goes through app.py, as on a server whose legacy mode was left
    (``AppTest`` resets the mode before each run: each new ``PagesManager`` here pins it off again)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init  # type: ignore[method-assign]  # a patch of Streamlit's class, undone below
    try:
        yield
    finally:
        PagesManager.__init__ = original  # type: ignore[method-assign]  # the patch undone


def rerun_fragment() -> None:
    """Redraw the fragment this is called from: the fragment alone when it is rerunning by itself, else the
    whole script (where Streamlit refuses a fragment-scoped rerun)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def shared_checkbox(label: str, key: str, default: bool, **kw) -> bool:
    """A checkbox that several pages draw for one choice, kept in ``st.session_state[key]`` (``default`` until
    it is first changed): each page's box starts from it and a click writes it back."""
    widget = f"{key}-widget"
    return st.checkbox(
        label,
        value=bool(st.session_state.get(key, default)),
        key=widget,
        on_change=lambda: st.session_state.update({key: st.session_state[widget]}),
        **kw,
    )
