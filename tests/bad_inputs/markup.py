"""Hostile text: names and values that would turn into markup, links, formulas or reordered text if a
page or an export took them as anything but data. Used by the view, plot, dashboard (AppTest) and
browser tests of explorer.display.usertext's promise: what a user supplied is shown as it reads.

``HOSTILE`` are the strings; ``hostile_table`` puts them in a table as the column names, category
levels, label values and row ids, ``hostile_zip`` as image folder names (labels) and file names (ids),
and ``HOSTILE_FILE`` / ``ISSUE_FILE`` are upload names.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import numpy as np

EVIL = "evil.example"  # no link, image or request may ever point here
# The issue's file name: a remote image and a "Sign in again" link in whoever views the run. Its
# slashes make the dataset's name only its last part, so HOSTILE_FILE carries the rest without any.
ISSUE_FILE = "![t](https://evil.example/x.png)[Sign in again](https://evil.example/login).csv"
HOSTILE_NAME = (
    "![t](https:evil.example) [Sign in again](javascript:alert(1)) <img src=https:evil.example> "
    "**b** _i_ $x^2$ :smile: :red[r] www.evil.example # h | t \u202egnp.exe"
)
HOSTILE_FILE = HOSTILE_NAME + ".csv"

HOSTILE = [
    ISSUE_FILE,
    HOSTILE_NAME,
    "x<br><b>cluster</b>: 3",
    "<a href='https://evil.example/a'>click</a> <img src='https://evil.example/i.png'>",
    "[Sign in again](javascript:alert(1)) <javascript:alert(1)> <https://evil.example/auto>",
    "https://evil.example/bare www.evil.example/w mail@evil.example",
    "# Heading",
    "## h2 ##",
    "| a | b |",
    "**bold** __b__ *i* _i_ ~~s~~ `code`",
    "$x^2$ $$y$$",
    ":smile: :material/home: :red[red] :+1:",
    "\u202egnp.exe",
    "1. one",
    "- item",
    "> quote",
    "    code",
    "---",
    "&lt;b&gt; &#x3C;b> &amp;",
    "a\\*b\\* c\\",
    "name\n# head\n- list",
    '=HYPERLINK("https://evil.example","Sign in")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
# Levels of a category column and of the label column: three each, one per planted group.
LEVELS = [
    "x<br><b>cluster</b>: 3",
    '=HYPERLINK("https://evil.example/f","Sign in")',
    "[Sign in again](https://evil.example/l)",
]
LABELS = ["<img src=https://evil.example/l.png> :smile:", "-2+3", "**www.evil.example** $x$"]
COLUMN = "![t](https://evil.example/x.png)[Sign in again](https://evil.example/login)"  # a number column
LABEL_COLUMN = "$x$ **label** <b>"
ID_COLUMN = "@id"
TEXT_COLUMN = "note <br> :smile:"


def hostile_table(n: int = 90, seed: int = 0) -> list[list[str]]:
    """Header and rows: an id column of formula-like ids, three number columns (one with negative
    values, one named ``COLUMN``) in three well separated groups, a category column with ``LEVELS`` and
    a label column with ``LABELS`` that follow the groups."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    X = rng.normal(size=(n, 3)) + 8 * np.eye(3)[y]
    X[:, 1] -= 20  # negative numbers, which exports must keep as numbers
    header = [ID_COLUMN, COLUMN, "b", "c", TEXT_COLUMN, LABEL_COLUMN]
    ids = ["=1+1 #", "+cmd|' /C calc'!A0 #", "@x #", "https://evil.example/id #", "<b>id</b> #", "-5"]
    rows = []
    for i in range(n):
        rid = f"-{i}" if i % 6 == 5 else f"{ids[i % 6]}{i}"
        rows.append([rid, *(f"{v:.4f}" for v in X[i]), LEVELS[y[i]], LABELS[y[i]]])
    return [header, *rows]


def table_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


FOLDERS = ["<b>bold<b> :smile:", "[x](javascript:alert(1))", "$x$ www.evil.example"]  # no "/": a folder each


def hostile_zip(per_class: int = 8) -> bytes:
    """PNGs of 10x10 in three folders named like ``FOLDERS`` (the labels), files named with links and
    tags (the ids); the three classes differ clearly (a bar across, a bar down, a square)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for c, folder in enumerate(FOLDERS):
            for i in range(per_class):
                img = rng.integers(0, 30, (10, 10)).astype(np.uint8)
                if c == 0:
                    img[3:6, :] = 255
                elif c == 1:
                    img[:, 3:6] = 255
                else:
                    img[2:8, 2:8] = 255
                png = io.BytesIO()
                Image.fromarray(img, "L").save(png, format="PNG")
                zf.writestr(f"{folder}/![t](https:evil.example) <i>{i}<i> *{i}*.png", png.getvalue())
    return buf.getvalue()


# -- reading what a page was given ----------------------------------------------------------------------
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# What Markdown (CommonMark, GitHub's extensions, Streamlit's LaTeX, directives and emoji) would act on,
# when not escaped: these must never appear in a body outside the page's own markup.
LIVE = {
    "a link or an image": re.compile(r"(?<!\\)\]\(|(?<!\\)\]\["),
    "an HTML tag or autolink": re.compile(r"(?<!\\)<[A-Za-z/!?]"),
    "an address made into a link": re.compile("(?i)(https?|mailto|javascript):(?!\u2060)|www\\.|[\\w.+-]@(?!\u2060)"),
    "LaTeX": re.compile(r"(?<!\\)\$"),
    "an emoji, icon or directive": re.compile(r":[\w+-]+[:\[]|:material/"),
    "an HTML entity": re.compile(r"(?<!\\)&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE),
    "a bidirectional override or a control character": re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f]"),
}


def unmark(body: str) -> str:
    """What a reader sees of an escaped Markdown body: backslash escapes and word joiners taken out."""
    from explorer.display.usertext import WORD_JOINER

    return _ESCAPE.sub(r"\1", body).replace(WORD_JOINER, "").replace("\u00a0", " ")


def live_markup(body: str) -> list[str]:
    """What in a Markdown body would render as more than text (see ``LIVE``); [] when nothing would."""
    return [what for what, pattern in LIVE.items() if pattern.search(body)]
