"""Short names for clusters, made from what sets each apart: "high age, plan premium". No network and
no language model: the names are the top distinctions written tersely, so they can be trusted and
checked against the profile. A person can replace any name; names stay unique and plain text."""

from __future__ import annotations

import re
import unicodedata

from explorer.explain.profiles import MISSING, Distinction

NAME_PARTS = 2  # distinctions per name
MIN_SEPARATION = 0.2  # a distinction weaker than this is not worth naming a cluster after
MAX_NAME = 60  # characters


def clean_name(name: object) -> str:
    """A name as plain text: control and format characters (bidirectional overrides, zero-width)
    dropped, whitespace collapsed, at most ``MAX_NAME`` characters. Markup is escaped where shown."""
    text = re.sub(r"\s+", " ", str(name))
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()[:MAX_NAME]


def _part(d: Distinction) -> str:
    if d.kind == "numeric" and d.direction in ("later", "earlier"):  # a date column
        return f"{d.column} {'recent' if d.direction == 'later' else 'earlier'}"
    if d.kind == "numeric":
        return f"{'high' if d.direction == 'higher' else 'low'} {d.column}"
    if d.kind == "text":  # its most distinctive terms
        return f"{d.column}: {d.direction}"
    if d.direction == MISSING:
        return f"{d.column} missing"
    return f"{d.column} {d.direction}"


def auto_names(
    distinctions: dict[int, list[Distinction]], sizes: dict[int, int], *, on: str = "columns"
) -> dict[int, str]:
    """cluster -> a short unique name from its top ``NAME_PARTS`` distinctions (those of at least
    ``MIN_SEPARATION``); "cluster N" when none is strong enough or the distinctions are latent codes.
    Clusters that would share a name get their number added."""
    names: dict[int, str] = {}
    for c, ds in distinctions.items():
        parts = [_part(d) for d in ds[:NAME_PARTS] if d.separation >= MIN_SEPARATION] if on == "columns" else []
        names[c] = clean_name(", ".join(parts)) if parts else f"cluster {c}"
    for c in sizes:
        names.setdefault(c, f"cluster {c}")
    seen: dict[str, list[int]] = {}
    for c, name in names.items():
        seen.setdefault(name, []).append(c)
    for name, cs in seen.items():
        if len(cs) > 1:
            for c in cs:
                names[c] = clean_name(f"{name} ({c})") if not name.startswith("cluster ") else name
    return names
