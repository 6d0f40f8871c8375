"""Errors and messages: a box instead of a traceback, and nothing the user made is lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from explorer.dashboard.messages import server_folders, visitor_text
from explorer.display.usertext import redact_paths
from explorer.errors import ExplorerError

from .session import workspace

log = logging.getLogger("explorer.app")


@contextmanager
def guard(what: str = "") -> Iterator[None]:
    """Show any error of the block in a box and carry on; what the user made stays in the session.
    The message quotes file and column names: it is escaped, and server folders are left out."""
    try:
        yield
    except ExplorerError as exc:
        st.error(f"{what}{': ' if what else ''}{visitor_text(exc)}")
    except Exception as exc:
        log.exception("unexpected error in the dashboard")
        st.error(
            f"{what + ': ' if what else ''}something went wrong ({visitor_text(f'{type(exc).__name__}: {exc}')}). "
            "Your data, models and results are kept; change the settings or try again."
        )


def safely(fn, *args: Any) -> None:
    """Run a button's callback; an error becomes a message on the page instead of a traceback."""
    try:
        fn(*args)
    except ExplorerError as exc:
        workspace().messages.append(("error", redact_paths(exc, server_folders())))
    except Exception as exc:
        log.exception("unexpected error in a callback")
        reason = redact_paths(f"{type(exc).__name__}: {exc}", server_folders())
        workspace().messages.append(("error", f"something went wrong ({reason}); your work is kept."))


def show_messages() -> None:
    """The messages finished jobs and callbacks left for this session, once (plain text: escaped here)."""
    for level, text in workspace().pop_messages():
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(visitor_text(text))
