"""Plain SVG charts for docs/BENCHMARKS.md (no plotting library needed: the markup is written directly)."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#bab0ac"]


def _text(x, y, s, size=12, anchor="middle", extra=""):
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-family="sans-serif" '
        f"{extra}>{escape(str(s))}</text>"
    )


def grouped_bars(
    groups: list[str],
    series: list[str],
    values: dict[tuple[str, str], float | None],
    errors: dict[tuple[str, str], float] | None = None,
    *,
    title: str,
    ylabel: str,
    ymax: float = 1.0,
    width: int = 860,
    height: int = 380,
    marks: dict[str, float] | None = None,
) -> str:
    """Bars of ``values[(group, series)]`` (None: no bar), optional error bars, grouped by ``groups``.

    ``marks`` draws a short dashed line at a value over a group (e.g. a target)."""
    left, right, top, bottom = 56, 150, 36, 44
    pw, ph = width - left - right, height - top - bottom
    gw = pw / max(len(groups), 1)
    bw = gw * 0.8 / max(len(series), 1)
    y = lambda v: top + ph * (1 - min(max(v, 0), ymax) / ymax)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<rect width="100%" height="100%" fill="white"/>',
        _text(width / 2, 20, title, 15, extra='font-weight="bold"'),
    ]
    for i in range(6):
        v = ymax * i / 5
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(_text(left - 6, y(v) + 4, f"{v:.1f}", 11, "end"))
    out.append(_text(14, top + ph / 2, ylabel, 12, extra=f'transform="rotate(-90 14 {top + ph / 2:.1f})"'))
    for gi, g in enumerate(groups):
        x0 = left + gi * gw + gw * 0.1
        for si, s in enumerate(series):
            v = values.get((g, s))
            if v is None:
                continue
            x = x0 + si * bw
            out.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bw * 0.92:.1f}" height="{top + ph - y(v):.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(g)} {escape(s)}: {v:.3f}</title></rect>'
            )
            e = (errors or {}).get((g, s))
            if e:
                cx = x + bw * 0.46
                out.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(v - e):.1f}" y2="{y(v + e):.1f}" stroke="black"/>'
                )
        if marks and g in marks:
            out.append(
                f'<line x1="{x0 - 2:.1f}" x2="{x0 + gw * 0.8 + 2:.1f}" y1="{y(marks[g]):.1f}" y2="{y(marks[g]):.1f}" '
                'stroke="black" stroke-dasharray="4 3"/>'
            )
        out.append(_text(left + gi * gw + gw / 2, top + ph + 18, g, 12))
    for si, s in enumerate(series):
        yy = top + 10 + si * 18
        out.append(
            f'<rect x="{left + pw + 14}" y="{yy - 9}" width="12" height="12" fill="{PALETTE[si % len(PALETTE)]}"/>'
        )
        out.append(_text(left + pw + 32, yy + 1, s, 12, "start"))
    if marks:
        yy = top + 10 + len(series) * 18
        out.append(
            f'<line x1="{left + pw + 14}" x2="{left + pw + 26}" y1="{yy - 3}" y2="{yy - 3}" stroke="black" '
            'stroke-dasharray="4 3"/>'
        )
        out.append(_text(left + pw + 32, yy + 1, "target", 12, "start"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def loglog_lines(
    xs: list[float],
    lines: dict[str, list[float | None]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    width: int = 620,
    height: int = 360,
) -> str:
    """Lines of ``lines[name][i]`` against ``xs[i]`` on log-log axes (values <= 0 or None are skipped)."""
    left, right, top, bottom = 60, 130, 36, 48
    pw, ph = width - left - right, height - top - bottom
    vals = [v for ys in lines.values() for v in ys if v and v > 0]
    lo_y, hi_y = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    if hi_y == lo_y:
        hi_y += 1
    lo_x, hi_x = math.log10(min(xs)), math.log10(max(xs))
    X = lambda v: left + pw * (math.log10(v) - lo_x) / max(hi_x - lo_x, 1e-9)
    Y = lambda v: top + ph * (1 - (math.log10(v) - lo_y) / (hi_y - lo_y))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<rect width="100%" height="100%" fill="white"/>',
        _text(width / 2, 20, title, 15, extra='font-weight="bold"'),
    ]
    for e in range(lo_y, hi_y + 1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{Y(10**e):.1f}" y2="{Y(10**e):.1f}" stroke="#ddd"/>')
        out.append(_text(left - 6, Y(10**e) + 4, f"{10**e:g}", 11, "end"))
    for x in xs:
        out.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        out.append(_text(X(x), top + ph + 16, f"{x:,.0f}", 11))
    out.append(_text(left + pw / 2, height - 8, xlabel, 12))
    out.append(_text(14, top + ph / 2, ylabel, 12, extra=f'transform="rotate(-90 14 {top + ph / 2:.1f})"'))
    for i, (name, ys) in enumerate(lines.items()):
        pts = [(X(x), Y(v)) for x, v in zip(xs, ys, strict=True) if v and v > 0]
        color = PALETTE[i % len(PALETTE)]
        if len(pts) > 1:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}"/>'
            )
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{color}"/>' for a, b in pts]
        yy = top + 10 + i * 18
        out.append(f'<rect x="{left + pw + 14}" y="{yy - 9}" width="12" height="12" fill="{color}"/>')
        out.append(_text(left + pw + 32, yy + 1, name, 12, "start"))
    out.append("</svg>")
    return "\n".join(out) + "\n"
