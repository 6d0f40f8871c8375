"""Errors and messages: a box instead of a traceback, and nothing the user made is lost."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

import streamlit as st

from explorer.errors import ExplorerError

from .session import workspace

log = logging.getLogger("explorer.app")


@contextmanager
def guard(what: str = "") -> Iterator[None]:
    """Show any error of the block in a box and carry on; what the user made stays in the session."""
    try:
        yield
    except ExplorerError as exc:
        st.error(f"{what}{': ' if what else ''}{exc}")
    except Exception as exc:  # noqa: BLE001 - never a traceback page; Streamlit's own rerun/stop are BaseException
        log.exception("unexpected error in the dashboard")
        st.error(f"{what + ': ' if what else ''}something went wrong ({type(exc).__name__}: {exc}). "
                 "Your data, models and results are kept; change the settings or try again.")


def safely(fn, *args: Any) -> None:
    """Run a button's callback; an error becomes a message on the page instead of a traceback."""
    try:
        fn(*args)
    except ExplorerError as exc:
        workspace().messages.append(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001
        log.exception("unexpected error in a callback")
        workspace().messages.append(("error", f"something went wrong ({type(exc).__name__}: {exc}); your work is kept."))


def show_messages() -> None:
    """The messages finished jobs left for this session, once."""
    for level, text in workspace().pop_messages():
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)
