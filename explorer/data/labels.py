"""Labels and IDs as strings, and whether labels can score a clustering."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer.data.words import plural

if TYPE_CHECKING:
    from explorer.dataset import LoadReport

MISSING_LABEL = "(missing)"
UNIQUE_LABEL_MIN_ROWS = 10  # a few rows may each be their own class; more than this, it is an ID


def values_to_str(values: object) -> np.ndarray:
    """Labels or ids as an (n,) array of str.

    Whole floats print as integers ("3", not "3.0": a column of ints with gaps reads as float);
    missing values become ``"(missing)"``.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        out = arr.astype(str).astype(object)
        finite = np.isfinite(arr)
        whole = finite & (np.abs(arr) < 2**53)
        whole[whole] = np.floor(arr[whole]) == arr[whole]
        out[whole] = arr[whole].astype(np.int64).astype(str)
        out[np.isnan(arr)] = MISSING_LABEL
        return out.astype(str)
    if arr.dtype.kind == "S":
        return np.array([v.decode("utf-8", "replace") for v in arr], dtype=str)
    if arr.dtype.kind == "O":
        import pandas as pd

        missing = pd.isna(arr)
        return np.array([MISSING_LABEL if m else str(v) for v, m in zip(arr, missing, strict=True)], dtype=str)
    return arr.astype(str)


def usable_labels(labels: np.ndarray, what: str, report: LoadReport, *, id_hint: str = "") -> np.ndarray | None:
    """The labels (n,) str if they can score a clustering, else None; notes in ``report`` say why not.

    Missing labels stay, as the class ``"(missing)"`` (noted). Labels with a single class, or with a
    different value on every row (names, not classes), can't tell clusters apart: they are dropped
    (noted, with ``id_hint`` saying what to do instead). ``what`` names them: "Column 'kind'".
    """
    n = len(labels)
    missing = int(np.sum(labels == MISSING_LABEL))
    classes = np.unique(labels[labels != MISSING_LABEL])
    if len(classes) <= 1:
        shown = f" ('{classes[0]}')" if len(classes) else ""
        report.note(
            f"{what} holds a single class{shown}, which can't score the clusters, so it is not used as "
            "the label. Choose a label with two or more classes to evaluate the clusters."
        )
        return None
    if len(classes) == n - missing and n - missing > UNIQUE_LABEL_MIN_ROWS:
        report.note(
            f"{what} has a different value on every row, so it names rows rather than classes and "
            f"can't score the clusters; it is not used as the label.{id_hint}"
        )
        return None
    if missing:
        report.note(
            f"{what}: {plural(missing, 'row has', 'rows have')} no label; they count as the class "
            f"'{MISSING_LABEL}' when the clusters are scored."
        )
    return labels
