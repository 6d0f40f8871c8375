"""The few words every loader's messages are made of: counts, short lists, sizes."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 column", "3 columns"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def list_some(items: list[str] | tuple[str, ...], limit: int = 5) -> str:
    """ "a, b, c and 4 more": at most ``limit`` items, then a count."""
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def human_bytes(n: float) -> str:
    """ "512 MiB", "1.2 GiB", "40 KiB", "17 bytes"."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:,.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{int(n):,} bytes"
