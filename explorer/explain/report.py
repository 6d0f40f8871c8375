"""An explanation as text: an HTML section for the standalone export, and Markdown-free plain lines.
Every string from the data (column names, levels, cluster names, rules) is escaped."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from explorer.explain.resample import DOUBTFUL, UNSTABLE

if TYPE_CHECKING:  # pragma: no cover
    from explorer.explain import Explanation

STYLE = (
    "<style>.explorer-ex{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;color:#222}"
    ".explorer-ex table{border-collapse:collapse;width:100%;font-size:13px}"
    ".explorer-ex td,.explorer-ex th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}"
    ".explorer-ex .flag{color:#b03a2e;font-weight:600}</style>"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def to_html(ex: Explanation, *, top: int = 3) -> str:
    """The clusters as an HTML section: a table with name, size, stability, what sets each apart and
    its rule, then the rules' fidelity and the stability method."""
    rows = []
    for c in ex.clusters:
        level = f"{c.stability} ({c.jaccard:.2f})" if c.stability else "not measured"
        flag = ' class="flag"' if c.flagged else ""
        apart = "<br>".join(_e(d.sentence) for d in c.distinctions[:top])
        rule = (
            f"{_e(c.rule)}<br><small>{c.rule_precision:.0%} precise, covers {c.rule_coverage:.0%}</small>"
            if c.rule
            else ""
        )
        rows.append(
            f"<tr><td>{c.cluster}</td><td>{_e(c.name)}</td><td>{c.size:,} ({c.share:.0%})</td>"
            f"<td{flag}>{_e(level)}</td><td>{apart}</td><td>{rule}</td></tr>"
        )
    notes = []
    if ex.rules is not None:
        where = "the columns" if ex.rules.on == "columns" else "the latent codes"
        notes.append(
            f"Rules: a depth-{ex.rules.depth} decision tree on {where} agrees with the clusters on "
            f"{ex.rules.fidelity:.0%} of rows. {_e(ex.rules.note)}"
        )
    if ex.stability is not None:
        notes.append(
            f"Stability: mean Jaccard over {ex.stability.resamples} subsamples re-clustered by "
            f"{_e(ex.stability.method)}; below {DOUBTFUL} a cluster's members would change on another run, "
            f"below {UNSTABLE} it dissolves."
        )
    return (
        STYLE + '<section class="explorer-ex"><h2>The clusters</h2><table><tr><th>#</th><th>name</th><th>rows</th>'
        "<th>stability</th><th>what sets it apart</th><th>rule</th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(f"<p>{n}</p>" for n in notes)
        + "</section>"
    )
