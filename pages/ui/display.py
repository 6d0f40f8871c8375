"""Image grids and number formatting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from explorer.display.usertext import markdown_text


def image_grid(
    images: Sequence[np.ndarray], captions: Sequence[str | None] | None = None, *, columns: int = 8, width: int = 72
) -> None:
    """Thumbnails in rows of ``columns``, each ``width`` pixels wide (small images are scaled up, crisp).
    ``captions`` are plain text (file names, labels): escaped here, since Streamlit renders them as Markdown."""
    images = list(images)
    if not images:
        return
    shown: list[str | None] = list(captions) if captions is not None else [None] * len(images)
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        # the last row may hold fewer images than there are columns: its spare columns stay empty
        for col, img, cap in zip(cols, images[start : start + columns], shown[start : start + columns], strict=False):
            col.image(upscale(img, width), caption=None if cap is None else markdown_text(cap), width=width)


def upscale(img: np.ndarray, width: int) -> np.ndarray:
    """Nearest-neighbour upscaling so a 28x28 digit stays sharp when shown at 72 px."""
    factor = max(1, width // max(img.shape[1], 1))
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1) if factor > 1 else img


def metric_value(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)
