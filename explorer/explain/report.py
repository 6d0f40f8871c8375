"""An explanation as text: an HTML section for the standalone export, and Markdown-free plain lines.
Every string from the data (column names, levels, cluster names, rules) is escaped; an image run's export carries
each cluster's typical images, inline (PNG data URIs made here from the pixels, never from user text)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from explorer.explain.resample import DOUBTFUL, UNSTABLE
from explorer.explain.rules import has_meaning, space_words

if TYPE_CHECKING:  # pragma: no cover
    from explorer.explain import Explanation

PNG_URI = "data:image/png;base64,"
PICTURES_PER_CLUSTER = 6

STYLE = (
    "<style>.explorer-ex{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;color:#222}"
    ".explorer-ex table{border-collapse:collapse;width:100%;font-size:13px}"
    ".explorer-ex td,.explorer-ex th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}"
    ".explorer-ex .flag{color:#b03a2e;font-weight:600}</style>"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def typical_pictures(images: Any, ex: Explanation, count: int = PICTURES_PER_CLUSTER) -> dict[int, list[str]]:
    """cluster -> PNG data URIs of its ``count`` typical members (nearest its centre), from ``images`` (n, h, w, c)
    uint8 (a Dataset's ``images``); {} without images."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    if images is None:
        return {}
    out: dict[int, list[str]] = {}
    for c in ex.clusters:
        uris = []
        for i in c.typical[:count]:
            img = np.asarray(images[int(i)], np.uint8)
            buf = io.BytesIO()
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, format="PNG")
            uris.append(PNG_URI + base64.b64encode(buf.getvalue()).decode("ascii"))
        out[c.cluster] = uris
    return out


def to_html(ex: Explanation, *, top: int = 3, pictures: Mapping[int, Sequence[str]] | None = None) -> str:
    """The clusters as an HTML section: a table with name, size, stability, what sets each apart and
    its rule (and, given ``pictures`` from :func:`typical_pictures`, its typical images), then the rules'
    fidelity and the stability method. Where the clusters' space has no meaning a person can read (latent codes,
    an encoder's features) the table has no rule and no "what sets it apart", and a sentence says why."""
    if pictures is not None and any(not u.startswith(PNG_URI) for uris in pictures.values() for u in uris):
        raise ValueError("pictures must be PNG data URIs (typical_pictures).")
    readable = has_meaning(ex.on)
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
        shown = ""
        if pictures is not None:
            imgs = "".join(f'<img src="{_e(u)}" width="48" height="48" alt="">' for u in pictures.get(c.cluster, []))
            shown = f"<td>{imgs}</td>"
        rows.append(
            f"<tr><td>{c.cluster}</td><td>{_e(c.name)}</td><td>{c.size:,} ({c.share:.0%})</td>"
            f"<td{flag}>{_e(level)}</td>{shown}" + (f"<td>{apart}</td><td>{rule}</td>" if readable else "") + "</tr>"
        )
    notes = [] if readable else [_e(ex.meaning)]
    if ex.rules is not None and readable:
        where = space_words(ex.rules.on)
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
        "<th>stability</th>"
        + ("<th>typical (nearest the centre)</th>" if pictures is not None else "")
        + ("<th>what sets it apart</th><th>rule</th>" if readable else "")
        + "</tr>"
        + "".join(rows)
        + "</table>"
        + "".join(f"<p>{n}</p>" for n in notes)
        + "</section>"
    )
