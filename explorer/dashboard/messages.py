"""What a visitor may read of a message: the server's folders left out, the rest escaped as Markdown."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from explorer.display.usertext import markdown_text, redact_paths
from explorer.runs.roots import default_root


def server_folders() -> list[str]:
    """Folders of the server a message must not show a visitor: the runs folder, the working folder, the
    home and temporary folders, Python's prefix and this package's checkout."""
    root = Path(default_root())  # a store's URL (s3://...) makes no local folder; harmless here
    found = [
        str(root.absolute()),
        str(root.resolve()),
        os.getcwd(),
        str(Path.home()),
        tempfile.gettempdir(),
        sys.prefix,
        sys.base_prefix,
        str(Path(__file__).resolve().parents[2]),
    ]
    return [f for f in found if os.path.isabs(f)]


def visitor_text(message: object) -> str:
    """A message (an error, a notice: plain text that may quote file, column or run names) as Markdown
    for the page: the server's folders left out (:func:`server_folders`), the rest escaped."""
    return markdown_text(redact_paths(message, server_folders()))
