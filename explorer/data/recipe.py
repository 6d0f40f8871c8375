"""The loader's preprocessing, recorded as JSON, and applied again to new data.

A run made on a table keeps, in ``preprocess.json``, everything :func:`explorer.data.tables.load_table`
decided: the feature columns in order, each column's kind, the value that filled its missing cells,
the log transform of skewed columns, the scaling parameters, the category levels kept (and those
folded into "other"), the indicator value of a one-hot column. Image runs keep the size and mode the
images were brought to; embedding runs the width of the vectors.

The record is made *after* the load by replaying the loader's own steps on the rows it read
(``Dataset.table``) and is kept only when the replay reproduces the loaded ``X`` exactly (to float32
precision), so the loader itself is unchanged and a record can never disagree with what was fitted.

:func:`apply_recipe` turns new rows into features the saved model understands, with stated fallbacks,
each written into :class:`ApplyReport`:

- a feature column that is missing: refused with a message naming it (``missing="refuse"``), or
  filled with the training value (``missing="impute"``), recorded;
- extra columns: ignored and named;
- a category level never seen in training: all indicators of the column 0, recorded with counts;
  a level seen in training but folded into "other" still goes to "other";
- numbers that do not parse: treated as missing, filled with the training value, recorded;
- images of another size or mode: resized and converted as the loader does, recorded.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from explorer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from explorer.dataset import Dataset

RECIPE_VERSION = 1
RECIPE_FILE = "preprocess.json"
MAX_RECORDED_LEVELS = 10_000  # rare levels folded into "other" are listed up to this many per column
MissingColumns = Literal["refuse", "impute"]


@dataclass
class ApplyReport:
    """What applying the saved preprocessing did to the new data (every fallback, by column)."""

    n_rows: int = 0
    missing_columns: list[str] = field(default_factory=list)  # feature columns absent, filled with the training value
    extra_columns: list[str] = field(default_factory=list)  # columns ignored
    unseen_levels: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> level -> rows (all-zero indicators)
    imputed: dict[str, int] = field(default_factory=dict)  # column -> cells filled with the training value
    not_numbers: dict[str, int] = field(default_factory=dict)  # column -> cells that did not parse as numbers
    resized: int = 0  # images not of the training size, resized to it
    notes: list[str] = field(default_factory=list)

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ record
def record_preprocessing(dataset: "Dataset") -> dict[str, Any] | None:
    """The JSON-able record of how ``dataset`` was made from its source, or None when it can't be
    recorded faithfully (a table without its rows, a subset of a loaded table: the replay does not
    give back ``dataset.X``)."""
    if dataset.kind == "images":
        if dataset.images is None:
            return None
        _, h, w, c = dataset.images.shape
        return {"version": RECIPE_VERSION, "kind": "images", "size": [int(h), int(w)], "mode": "L" if c == 1 else "RGB",
                "scaling": "pixels/255", "n_features": int(dataset.X.shape[1])}
    if dataset.kind == "embeddings" or dataset.table is None:
        if dataset.kind == "table":
            return None
        return {"version": RECIPE_VERSION, "kind": "embeddings", "n_features": int(dataset.X.shape[1]),
                "scaling": "none"}
    recipe = _record_table(dataset)
    if recipe is None:
        return None
    X, _ = _encode_with(recipe, dataset.table, ApplyReport(), "refuse")
    if X.shape != dataset.X.shape or not np.allclose(X, dataset.X, rtol=1e-5, atol=1e-5):
        return None
    return recipe


def _record_table(dataset: "Dataset") -> dict[str, Any] | None:
    from explorer.data.tables import CATEGORY_WEIGHT, profile_column

    df = dataset.table
    report = dataset.report
    delimiter = df.attrs.get("delimiter")  # type: ignore[union-attr]
    scaling = report.scaling
    if scaling not in ("standard", "minmax", "shared", "none"):
        return None
    columns: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in dataset.feature_names:
        col = name.split("=", 1)[0] if "=" in name and name.split("=", 1)[0] in report.encoded else name
        if col in seen:
            continue
        seen.add(col)
        if col not in df.columns:  # type: ignore[operator]
            return None
        p = profile_column(df[col], delimiter)  # type: ignore[index]
        if col in report.encoded:
            values = p.values
            counts = values.value_counts()
            fill = str(counts.index[0])
            levels = [str(c) for c in report.encoded[col]]
            # the loader appends "other" when it folded rare levels, i.e. when some level is not among those kept
            other = bool(levels) and levels[-1] == "other" and not {str(v) for v in counts.index} <= set(levels)
            keep = levels[:-1] if other else levels
            folded = [str(v) for v in counts.index if str(v) not in set(keep)][:MAX_RECORDED_LEVELS] if other else []
            columns.append({"name": col, "kind": "categorical", "fill": fill, "levels": keep, "other": bool(other),
                            "folded": folded, "folded_complete": len(folded) < MAX_RECORDED_LEVELS})
            continue
        if p.kind != "numeric":
            return None
        values = p.values.to_numpy(dtype=np.float64)
        fill = float(np.nanmedian(values))
        values = np.where(np.isnan(values), fill, values)
        transform = report.transformed.get(col)
        if transform:
            values = np.log1p(values)
        peak, center, scale, constant = _scaling_params(values, scaling)
        columns.append({"name": col, "kind": "numeric", "fill": fill, "transform": "log1p" if transform else None,
                        "peak": peak, "center": center, "scale": scale, "constant": constant,
                        "lo": float(values.min()), "hi": float(values.max())})
    numeric = [c for c in columns if c["kind"] == "numeric"]
    if scaling == "shared" and numeric:  # one range for all: from each column's, once they are all known
        lo, hi = min(c["lo"] for c in numeric), max(c["hi"] for c in numeric)
        for c in numeric:
            c.update(peak=1.0, center=lo, scale=(hi - lo) if hi > lo else 1.0)
    for c in numeric:
        del c["lo"], c["hi"]
    has_cat = any(c["kind"] == "categorical" for c in columns)
    return {
        "version": RECIPE_VERSION, "kind": "table", "columns": columns, "feature_names": list(dataset.feature_names),
        "scaling": scaling, "indicator_value": float(CATEGORY_WEIGHT) if has_cat and scaling != "none" else 1.0,
        "label_column": _matching_column(df, dataset.labels), "id_column": _matching_column(df, dataset.ids, ids=True),
        "dropped_columns": dict(report.dropped_columns), "n_features": int(dataset.X.shape[1]),
    }


def _scaling_params(values: np.ndarray, how: str) -> tuple[float, float, float, bool]:
    """(peak, center, scale, constant) of one numeric column (n,) such that the loader's scaling is
    ``(x / peak - center) / scale``, constant columns 0 (:func:`explorer.data.common.scale_features`,
    column by column; "shared" gets its one range from the caller)."""
    lo, hi = float(values.min()), float(values.max())
    if how == "none":
        return 1.0, 0.0, 1.0, False
    if how == "shared":
        return 1.0, 0.0, 1.0, lo == hi
    peak = float(np.max(np.abs(values))) or 1.0
    z = values / peak
    if how == "standard":
        return peak, float(z.mean()), float(z.std()) or 1.0, False
    span = float(z.max() - z.min()) or 1.0
    return peak, float(z.min()), span, False


def _matching_column(df: "pd.DataFrame", values: np.ndarray | None, ids: bool = False) -> str | None:
    """The column of ``df`` whose values are ``values`` (the label or ID column the load was given)."""
    from explorer.data.common import values_to_str

    if values is None:
        return None
    values = np.asarray(values).astype(str)
    if ids and np.array_equal(values, np.arange(len(values)).astype(str)):
        return None
    for col in df.columns:
        try:
            if np.array_equal(values_to_str(df[col].to_numpy()), values):
                return str(col)
        except (TypeError, ValueError):
            continue
    return None


# ------------------------------------------------------------------------------------------- apply
def _as_strings(series: "pd.Series") -> "pd.Series":
    """A column as the loader sees a categorical: stripped text, blanks missing (whole floats as ints)."""
    from pandas.api import types as pdt

    from explorer.data.common import values_to_str

    if pdt.is_numeric_dtype(series) and not pdt.is_bool_dtype(series):
        out = series.astype(object).where(series.notna())
        mask = series.notna().to_numpy()
        out[mask] = values_to_str(series.to_numpy()[mask])
        return out
    strings = series.astype(object).where(series.notna()).map(lambda v: v if v is None or v != v else str(v).strip())
    return strings.mask(strings == "")


def _encode_with(recipe: dict[str, Any], df: "pd.DataFrame", report: ApplyReport,
                 missing: MissingColumns) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    from explorer.data.tables import profile_column

    n = len(df)
    delimiter = df.attrs.get("delimiter")
    absent = [c["name"] for c in recipe["columns"] if c["name"] not in df.columns]
    if absent and missing == "refuse":
        shown = ", ".join(f"'{c}'" for c in absent[:10]) + (f" and {len(absent) - 10} more" if len(absent) > 10 else "")
        raise InputError(f"the new data lacks {len(absent)} of the run's feature column{'s' if len(absent) > 1 else ''}: "
                         f"{shown}. Add {'them' if len(absent) > 1 else 'it'} (same name as in the training data), "
                         "or choose to fill missing columns with the training values.")
    # X is filled a column (or a category's columns) at a time, each computed in float64 and stored as
    # float32: no float64 copy of the features is held
    X = np.zeros((n, sum(1 if c["kind"] == "numeric" else len(c["levels"]) + bool(c["other"]) for c in recipe["columns"])),
                 dtype=np.float32)
    top = np.finfo(np.float32).max
    j = 0
    for spec in recipe["columns"]:
        name = spec["name"]
        if spec["kind"] == "numeric":
            if name in df.columns:
                p = profile_column(df[name], delimiter)
                if p.kind == "numeric":
                    values = p.values.to_numpy(dtype=np.float64)
                else:
                    strings = _as_strings(df[name])
                    values = pd.to_numeric(strings, errors="coerce").to_numpy(dtype=np.float64)
                    bad = int((strings.notna() & np.isnan(values)).sum())
                    if bad:
                        report.not_numbers[name] = bad
                values = np.where(np.abs(values) > 1e300, np.nan, values)
                filled = int(np.isnan(values).sum())
                if filled:
                    report.imputed[name] = filled
                    values = np.where(np.isnan(values), spec["fill"], values)
            else:
                values = np.full(n, spec["fill"], np.float64)
            if spec.get("transform") == "log1p":
                values = np.log1p(np.maximum(values, -1 + 1e-12))
            if "peak" in spec:
                values = (values / spec["peak"] - spec["center"]) / spec["scale"]
                if spec.get("constant"):
                    values = np.zeros(n)
            X[:, j] = np.clip(values, -top, top)
            j += 1
            continue
        levels, other = spec["levels"], spec["other"]
        if name in df.columns:
            strings = _as_strings(df[name])
            filled = int(strings.isna().sum())
            if filled:
                report.imputed[name] = filled
            arr = strings.fillna(spec["fill"]).to_numpy(dtype=object).astype(str)
        else:
            arr = np.full(n, spec["fill"], dtype=object).astype(str)
        onehot = np.stack([arr == c for c in levels], axis=1) if levels else np.zeros((n, 0), bool)
        if other:
            known = np.isin(arr, levels)
            folded = np.isin(arr, spec["folded"]) if spec.get("folded_complete", True) else ~known
            unseen = ~known & ~folded
            onehot = np.concatenate([onehot, folded[:, None]], axis=1)
        else:
            unseen = ~np.isin(arr, levels)
        if unseen.any():
            vals, counts = np.unique(arr[unseen], return_counts=True)
            order = np.argsort(-counts, kind="stable")
            report.unseen_levels[name] = {str(vals[i]): int(counts[i]) for i in order[:50]}
        X[:, j:j + onehot.shape[1]] = onehot * np.float32(recipe["indicator_value"])
        j += onehot.shape[1]
    return X, list(recipe["feature_names"])


def apply_recipe(recipe: dict[str, Any] | None, source: Any, name: str | None = None, *,
                 missing: MissingColumns = "refuse", limits: Any = None) -> tuple["Dataset", ApplyReport]:
    """New data -> (a Dataset whose X (n, d) float32 has the run's d features, what was done to it).

    ``source``: a Dataset already loaded (images, embeddings), a pandas DataFrame (a table's rows as
    read), or anything :func:`explorer.data.load` takes (a path, bytes with ``name``, an upload).
    Tables go through the loader's reader (delimiter, encoding, size caps), then the saved recipe.
    Raises InputError when the run has no record (saved before explorer recorded it), when the data is
    of another kind, or when feature columns are missing and ``missing`` is "refuse".
    """
    import pandas as pd

    from explorer.dataset import Dataset, LoadReport
    from explorer.limits import Limits
    from explorer.data.common import display_name
    from explorer.data.tables import TableOptions, read_table_preview

    if recipe is None:
        raise InputError("this run was saved without a record of its preprocessing (explorer before 0.4, or a subset "
                         "of a loaded table), so new data can't be prepared exactly as its training data was. "
                         "Make the run again from its file, then apply new data to the new run.")
    if recipe.get("version", 0) > RECIPE_VERSION:
        raise InputError("this run's preprocessing record is from a newer explorer; update explorer to apply data to it.")
    limits = limits or Limits()
    report = ApplyReport()
    kind = recipe["kind"]
    if kind == "table":
        if isinstance(source, Dataset):
            if source.table is None:
                raise InputError("the run was made on a table; give the new rows as a table (CSV, TSV or Parquet).")
            df, title = source.table, source.report.source
        elif isinstance(source, pd.DataFrame):
            df, title = source, name or "new data"
        else:
            from explorer.data.common import source_name

            title = source_name(source, name)
            df, _ = read_table_preview(source, name, nrows=None, options=TableOptions(), limits=limits)
        df = df.copy()
        df.columns = [str(c) for c in df.columns]
        used = {c["name"] for c in recipe["columns"]} | {recipe.get("label_column"), recipe.get("id_column")}
        report.extra_columns = [c for c in df.columns if c not in used]
        report.missing_columns = [c["name"] for c in recipe["columns"] if c["name"] not in df.columns]
        from explorer.data.common import VALUE_BYTES, check_decoded_bytes

        check_decoded_bytes(limits, 2 * len(df) * int(recipe["n_features"]) * VALUE_BYTES,
                            f"{title} encoded ({len(df):,} rows x {recipe['n_features']:,} features)")
        X, names = _encode_with(recipe, df, report, missing)
        _table_notes(report, recipe)
        labels = ids = None
        if recipe.get("label_column") in df.columns:
            from explorer.data.common import values_to_str

            labels = values_to_str(df[recipe["label_column"]].to_numpy())
        if recipe.get("id_column") in df.columns:
            from explorer.data.common import values_to_str

            ids = values_to_str(df[recipe["id_column"]].to_numpy())
            if len(np.unique(ids)) != len(ids):
                report.note(f"The ID column '{recipe['id_column']}' repeats values in the new data; rows are numbered instead.")
                ids = None
        X32 = X  # float32 already, clipped to its range
        lr = LoadReport(source=str(title), kind="table", n_rows_read=len(df), n_rows=len(df), n_features=X32.shape[1],
                        scaling=recipe["scaling"], notes=list(report.notes))
        lr.encoded = {c["name"]: c["levels"] + (["other"] if c["other"] else []) for c in recipe["columns"]
                      if c["kind"] == "categorical"}
        ds = Dataset(X=X32, feature_names=names, ids=ids if ids is not None else np.arange(len(df)).astype(str),
                     report=lr, kind="table", name=display_name(str(title)), labels=labels, table=df)
        report.n_rows = ds.n
        return ds, report
    if kind == "images":
        from explorer.data.images import ImageOptions

        h, w = recipe["size"]
        if isinstance(source, Dataset):
            ds = source
            if ds.images is None:
                raise InputError("the run was made on images; give new images (files, a zip or a folder).")
            if ds.image_shape != (h, w, 1 if recipe["mode"] == "L" else 3):
                ds = _conform_images(ds, h, w, recipe["mode"], report)
        else:
            from explorer.data import load

            ds = load(source, name=name, images=ImageOptions(mode=recipe["mode"], size=(h, w)), limits=limits)
            if ds.kind != "images":
                raise InputError(f"the run was made on images; {ds.report.source} holds a {ds.kind}.")
            changed = [n for n in ds.report.notes if "resized" in n]
            if changed:
                report.note(changed[0].replace("as asked", "the run's image size"))
        report.n_rows = ds.n
        return ds, report
    ds = source if isinstance(source, Dataset) else _load_any(source, name, limits)
    if ds.X.shape[1] != recipe["n_features"]:
        raise InputError(f"the run's vectors have {recipe['n_features']} values each; the new ones have {ds.X.shape[1]}. "
                         "Give vectors made by the same embedding model.")
    report.n_rows = ds.n
    return ds, report


def _load_any(source: Any, name: str | None, limits: Any) -> "Dataset":
    from explorer.data import load

    return load(source, name=name, limits=limits)


def _conform_images(ds: "Dataset", h: int, w: int, mode: str, report: ApplyReport) -> "Dataset":
    """Images of another size or mode -> the run's, resized (Lanczos) and converted as the loader does."""
    from PIL import Image

    from explorer.dataset import Dataset

    c = 1 if mode == "L" else 3
    out = np.empty((ds.n, h, w, c), np.uint8)
    for i, img in enumerate(ds.images):  # type: ignore[union-attr]
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        im = im.convert(mode).resize((w, h), Image.Resampling.LANCZOS)
        a = np.asarray(im)
        out[i] = a[..., None] if a.ndim == 2 else a
    report.resized = ds.n
    report.note(f"The {ds.n:,} images are {ds.image_shape[0]}x{ds.image_shape[1]}; they were resized to the run's "
                f"{h}x{w} ({'grayscale' if c == 1 else 'color'}), as the loader does.")
    return Dataset(X=out.reshape(ds.n, -1).astype(np.float32) / 255.0, feature_names=[f"px{i}" for i in range(h * w * c)],
                   ids=ds.ids, report=ds.report, kind="images", name=ds.name, labels=ds.labels, images=out)


def _table_notes(report: ApplyReport, recipe: dict[str, Any]) -> None:
    def names(cols: list[str]) -> str:
        return ", ".join(f"'{c}'" for c in cols[:10]) + (f" and {len(cols) - 10} more" if len(cols) > 10 else "")

    if report.missing_columns:
        report.note(f"Missing feature columns filled with their training value (median or most frequent level) in "
                    f"every row: {names(report.missing_columns)}.")
    if report.extra_columns:
        report.note(f"Ignored columns the run was not trained on: {names(report.extra_columns)}.")
    for col, levels in report.unseen_levels.items():
        shown = ", ".join(f"'{v}' ({k})" for v, k in list(levels.items())[:5])
        report.note(f"Column '{col}' has levels not seen in training: {shown}; those rows have every indicator of "
                    f"'{col}' at 0 (no level), so the column does not pull them toward any cluster.")
    for col, k in report.not_numbers.items():
        report.note(f"Column '{col}' has {k} values that are not numbers; they were treated as missing.")
    filled = {c: k for c, k in report.imputed.items() if c not in report.missing_columns}
    if filled:
        report.note("Filled missing values with the training value: " + ", ".join(f"'{c}' ({k})" for c, k in filled.items()) + ".")


def raw_columns(recipe: dict[str, Any], df: "pd.DataFrame") -> dict[str, np.ndarray]:
    """The feature columns of ``df`` as read, before filling and scaling: numbers as float64 (NaN
    missing), categories as str objects (None missing); columns ``df`` lacks are left out (for drift)."""
    import pandas as pd

    from explorer.data.tables import profile_column

    out: dict[str, np.ndarray] = {}
    for spec in recipe.get("columns", []):
        name = spec["name"]
        if name not in df.columns:
            continue
        if spec["kind"] == "numeric":
            p = profile_column(df[name], df.attrs.get("delimiter"))
            values = (p.values.to_numpy(dtype=np.float64) if p.kind == "numeric"
                      else pd.to_numeric(_as_strings(df[name]), errors="coerce").to_numpy(dtype=np.float64))
            out[name] = np.where(np.abs(values) > 1e300, np.nan, values)
        else:
            strings = _as_strings(df[name])
            out[name] = strings.where(strings.notna(), None).to_numpy(dtype=object)
    return out
