"""User text is data, never markup: the one place where a string that came from a user (a file or zip
entry name, a column name, a cell, a category level, a label, a run name, or a message that quotes
them) is made safe for where it is shown or exported.

- :func:`plain_text`: for plain-text places (select boxes, tables, file names): line breaks, other
  control characters and the bidirectional overrides that can make ``gnp.exe`` read as ``exe.png``
  become visible stand-ins.
- :func:`markdown_text`: for Streamlit's Markdown (``st.markdown``, captions, alerts, headings, image
  captions): the characters that start Markdown, HTML, LaTeX or Streamlit directives are escaped, and
  what GitHub Markdown would turn into a link by itself (``https://``, ``www.``, ``a@b.c``) and
  ``:emoji:`` shortcodes are broken with an invisible word joiner. Rendered, the text reads as it is.
- :func:`plotly_text`: for Plotly (titles, legends, axis labels, hover text): ``<``, ``>``, ``&`` and
  ``$`` become entities, so a value can neither add tags (``<br>``, ``<a href>``) nor TeX.
- :func:`spreadsheet_safe` / :func:`csv_bytes`: for CSV exports: a text cell that a spreadsheet would
  run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; OWASP "CSV
  injection") gets a leading ``'``; numbers, and text that is just a number such as ``-3.5``, stay as
  they are.
- :func:`file_stem`: a user's name made safe to suggest as a download's file name.
- :func:`redact_paths`: server folders taken out of a message shown to visitors.

Pure functions on ``str``; no Streamlit, no Plotly imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

WORD_JOINER = "\u2060"  # invisible, never a line break: splits what would become a link or an emoji
LINE_BREAK = "\u21b5"  # ↵, for a line break inside a name
REPLACEMENT = "\ufffd"  # �, for other control characters and bidirectional overrides
# Bidirectional embeddings, overrides, isolates and marks: they reorder the text around them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_PLAIN = {
    ord("\r"): LINE_BREAK,
    ord("\n"): LINE_BREAK,
    ord("\t"): " ",
    ord("\v"): LINE_BREAK,
    ord("\f"): LINE_BREAK,
    0x85: LINE_BREAK,
    0x2028: LINE_BREAK,
    0x2029: LINE_BREAK,
}
_PLAIN.update({c: REPLACEMENT for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in _PLAIN})
_PLAIN.update({ord(c): REPLACEMENT for c in BIDI_CONTROLS})
_CRLF = re.compile(r"\r\n")

# Markdown: always escaped (a backslash before ASCII punctuation is CommonMark's own escape).
# \ ` * [ ] < > ~ | $ & #: code, emphasis, links and images, HTML, strikethrough, tables, LaTeX,
# entities, headings (also a heading's closing #s, when the text ends a heading).
_MD_ALWAYS = {ord(c): "\\" + c for c in "\\`*[]<>~|$&#"}
_MD_ALWAYS[ord("@")] = "@" + WORD_JOINER  # e-mail autolinks (a@b.c)
_MD_COLON = re.compile(r":(?=\S)")  # https://, mailto:, :emoji:, :material/icon:, :red[directives]
_MD_WWW = re.compile(r"(?i)(www)\.")  # GitHub's www. autolinks
# "_" opens or closes emphasis unless it sits between two letters or digits (snake_case is inert)
_MD_UNDERSCORES = re.compile(r"_+")
# What starts a block when it begins a line: list item, thematic break, setext underline, numbered item
_MD_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])")

_PLOTLY = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord("$"): "&#36;"}

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEET_NOTE = (
    "Safe to open in a spreadsheet: a text cell that starts with =, +, -, @, a tab or a carriage "
    "return gets a leading ' so it is not run as a formula; numbers are written as they are."
)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def plain_text(text: object) -> str:
    """``text`` as one line of visible characters: line breaks as ↵, a tab as a space, other control
    characters and bidirectional overrides as �. Nothing else changes."""
    return _CRLF.sub("\n", str(text)).translate(_PLAIN)


def markdown_text(text: object) -> str:
    """``text`` escaped for Streamlit's Markdown, so it renders as it reads (see the module's docstring):
    no link, image, emphasis, heading, list, table, HTML, LaTeX, directive or emoji made from it, and
    no address turned into a link. Safe anywhere in a Markdown body, also at the start of a line."""
    out = plain_text(text).translate(_MD_ALWAYS)
    out = _MD_UNDERSCORES.sub(_underscores, out)
    out = _MD_COLON.sub(":" + WORD_JOINER, out)
    out = _MD_WWW.sub(r"\1" + WORD_JOINER + ".", out)
    out = _MD_BLOCK_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], out)
    if out.startswith(" "):  # indentation (4 spaces: a code block) where the text begins a line
        out = "\u00a0" + out[1:]
    return out


def _underscores(m: re.Match) -> str:
    s, start, end = m.string, m.start(), m.end()
    inert = start > 0 and end < len(s) and s[start - 1].isalnum() and s[end].isalnum()
    return m.group(0) if inert else "\\_" * len(m.group(0))


def plotly_text(text: object) -> str:
    """``text`` for Plotly's text (titles, legends, axes, hover): tags, entities and TeX shown as they
    are, one line (Plotly would break lines at a newline)."""
    return plain_text(text).translate(_PLOTLY)


def is_number_text(text: str) -> bool:
    """Whether ``text`` is just a number (``-3``, ``+1.5e3``): a spreadsheet reads it as that number."""
    return _NUMBER.fullmatch(text) is not None


def spreadsheet_cell(value: object) -> object:
    """One CSV cell made safe to open in a spreadsheet: a text that would run as a formula gets a
    leading ``'`` (which spreadsheets show as text); numbers, missing values and number-like text stay."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not is_number_text(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are :func:`spreadsheet_cell`-safe; numeric
    columns are left exactly as they are (a column of negative numbers stays numeric)."""
    import pandas as pd

    out = frame.copy()
    out.columns = [spreadsheet_cell(str(c)) for c in out.columns]
    for i, dtype in enumerate(out.dtypes):
        if (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)
        ):
            continue
        column = out.iloc[:, i]
        if isinstance(dtype, pd.CategoricalDtype):
            column = column.astype(object)
        out.isetitem(i, column.map(spreadsheet_cell, na_action="ignore"))
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (no index), formula-safe (:func:`spreadsheet_safe`)."""
    return spreadsheet_safe(frame).to_csv(index=False).encode("utf-8")


_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(name: object, default: str = "data", width: int = 60) -> str:
    """A name to start a download's file name with: letters, digits, ``.``, ``_`` and ``-`` only
    (anything else becomes ``_``), no leading dot, at most ``width`` characters."""
    stem = _FILE_UNSAFE.sub("_", str(name)).strip("._")[:width]
    return stem or default


def redact_paths(text: object, folders: Iterable[str]) -> str:
    """``text`` with each of ``folders`` (absolute server paths) replaced by ``…``, so a message shown
    to visitors names files relative to them and never the server's layout. Longest folders first."""
    out = str(text)
    for folder in sorted({f.rstrip("/\\") for f in folders if f and len(f.rstrip("/\\")) > 1}, key=len, reverse=True):
        out = out.replace(folder, "…")
    return out
