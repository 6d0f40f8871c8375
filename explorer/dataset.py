"""The one in-memory form every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

DataKind = Literal["table", "images", "embeddings"]


@dataclass
class LoadReport:
    """What a loader did to the input, in words a person can read.

    ``notes`` are complete sentences ("Dropped 2 constant columns: a, b."), in the order things happened.
    The structured fields carry the same facts for code (the dashboard's tables, tests).
    """

    source: str
    kind: DataKind
    n_rows_read: int = 0
    n_rows: int = 0
    n_features: int = 0
    dropped_columns: dict[str, str] = field(default_factory=dict)  # column -> why
    imputed: dict[str, int] = field(default_factory=dict)  # column -> how many values filled
    encoded: dict[str, list[str]] = field(default_factory=dict)  # column -> categories kept
    transformed: dict[str, str] = field(default_factory=dict)  # column -> transform applied before scaling
    scaling: str = "none"
    notes: list[str] = field(default_factory=list)

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)

    def to_text(self) -> str:
        head = f"{self.source}: {self.n_rows} rows x {self.n_features} features ({self.kind})"
        return "\n".join([head, *("- " + n for n in self.notes)])

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class Dataset:
    """An unlabeled dataset ready for a reducer.

    Attributes:
        X: float32 array (n, d), the features models are fitted on (scaled as the report says).
        labels: optional (n,) array of strings, for evaluation only; never used for fitting.
        images: optional uint8 array (n, h, w, c) for thumbnails and conv models; ``c`` is 1 or 3.
        feature_names: d names, one per column of ``X``.
        ids: (n,) array of strings, unique row ids (given ID column, file names, or row numbers).
        report: what the loader did.
        kind: "table", "images" or "embeddings".
        name: short name for display (the file name without extension).
        table: for tables, the rows as read (before encoding and scaling) for previews and hover.
        table_encoder: for a loaded table, the fitted ``explorer.data.encoder.TableEncoder`` that made X
            from ``table``: a run saves it (``preprocess.json``) to prepare new rows exactly as these.
            A subset (``subset``) leaves it out, as it does not say how the subset's X was scaled.
    """

    X: np.ndarray
    feature_names: list[str]
    ids: np.ndarray
    report: LoadReport
    kind: DataKind
    name: str
    labels: np.ndarray | None = None
    images: np.ndarray | None = None
    table: pd.DataFrame | None = None  # pandas is imported for type checking only: this module stays light
    table_encoder: object | None = None  # a TableEncoder: typed loosely, as this floor imports nothing above it

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-D (n, d), got shape {self.X.shape}")
        if len(self.ids) != n:
            raise ValueError(f"{len(self.ids)} ids for {n} rows")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} rows")
        if self.images is not None and (self.images.ndim != 4 or self.images.shape[0] != n):
            raise ValueError(f"images must be (n, h, w, c) with n={n}, got {self.images.shape}")
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(f"{len(self.feature_names)} feature names for {self.X.shape[1]} columns")

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(h, w, c) of the images, or None."""
        return None if self.images is None else tuple(self.images.shape[1:])

    def categorical_groups(self) -> list[np.ndarray]:
        """The column indices of each one-hot encoded categorical column of X, in column order: one
        (m,) int array per categorical column with m levels. Empty for images and embeddings."""
        groups: dict[str, list[int]] = {}
        for j, name in enumerate(self.feature_names):
            column = name.split("=", 1)[0]
            if "=" in name and column in self.report.encoded:
                groups.setdefault(column, []).append(j)
        return [np.array(idx, dtype=np.int64) for idx in groups.values() if len(idx) > 1]

    @property
    def n_classes(self) -> int | None:
        return None if self.labels is None else len(np.unique(self.labels))

    def subset(self, index: np.ndarray) -> Dataset:
        """The rows at ``index`` (an int array or boolean mask), as a new Dataset."""
        index = np.asarray(index)
        table = None
        if self.table is not None:
            table = self.table.iloc[index].reset_index(drop=True)
        return Dataset(
            X=self.X[index],
            feature_names=list(self.feature_names),
            ids=self.ids[index],
            report=self.report,
            kind=self.kind,
            name=self.name,
            labels=None if self.labels is None else self.labels[index],
            images=None if self.images is None else self.images[index],
            table=table,
        )
