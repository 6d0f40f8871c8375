"""New examples from a trained model: draws from a VAE's prior, draws from one cluster's region of the
latent space, and walks between two codes (two cluster centres or two rows), decoded back to the data.

Every function returns rows in the model's space (the scaled features, or pixel values in [0, 1] for
images); :func:`to_data_units` turns rows of a table back into the data's own units (numbers unscaled and
un-logged, one-hot columns back to their category) as far as the run's records allow, and says what it
could not invert. Seeds are explicit, so the same call gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from explorer.errors import InputError, LimitError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.dataset import Dataset
    from explorer.pipeline import RunResult
    from explorer.reducers.base import Reducer

Path = Literal["linear", "spherical"]
PATHS = ("linear", "spherical")
MAX_SAMPLES = 200  # rows one call may generate: a strip or a table, not a data set
MAX_STEPS = 64  # points on one interpolation path
GENERATIVE_KINDS = ("vae",)  # models with a prior to sample from
DECODING_KINDS = ("pca", "ae", "conv-ae", "dae", "vae")  # models whose latent space decodes back to the data


# -- what a run supports ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Support:
    """What a run's model can do here, with the sentence to show where it can't."""

    sample: bool  # from the prior and from a cluster's region (a VAE)
    interpolate: bool  # any model that decodes
    denoise: bool  # a denoising autoencoder
    why_not_sample: str = ""
    why_not_interpolate: str = ""
    why_not_denoise: str = ""


def support(run: RunResult) -> Support:
    """Which of generation, interpolation and denoising the run's model supports, and why not."""
    kind = run.reducer.kind if run.reducer is not None else "none"
    return Support(
        sample=kind in GENERATIVE_KINDS,
        interpolate=kind in DECODING_KINDS,
        denoise=kind == "dae",
        why_not_sample=""
        if kind in GENERATIVE_KINDS
        else (
            f"Drawing new examples needs a variational autoencoder (vae): its latent space has a prior to draw "
            f"from. This run's model is {_model_name(kind)}; train a vae to generate."
        ),
        why_not_interpolate=""
        if kind in DECODING_KINDS
        else (
            "Interpolation walks the latent space of a model that decodes; this run "
            + (
                "used the pretrained image encoder, which has no decoder"
                if kind == "pretrained"
                else "used the features as they are (no model)"
            )
            + ". Train PCA or an autoencoder to see it."
        ),
        why_not_denoise=""
        if kind == "dae"
        else (
            f"Denoising is shown for a denoising autoencoder (dae), which is trained to undo input noise. This "
            f"run's model is {_model_name(kind)}; train a dae to see it."
        ),
    )


def _model_name(kind: str) -> str:
    from explorer.reducers.config import MODEL_LABELS

    return "none (the features as they are)" if kind == "none" else f"a {MODEL_LABELS.get(kind, kind)} ({kind})"


# -- sampling -----------------------------------------------------------------------------------------
def _check_count(n: object, what: str, cap: int, low: int = 1) -> int:
    from explorer.validation import is_whole

    if not is_whole(n) or int(n) < low:
        raise InputError(f"{what} must be a whole number of at least {low}, got {n!r}.")
    if int(n) > cap:
        raise LimitError(f"{what} is {int(n)}, more than the cap of {cap}; ask for at most {cap}.")
    return int(n)


def _latent_dim(reducer: Reducer) -> int:
    if hasattr(reducer, "config_"):  # an autoencoder (an ensemble's code is members x latent_dim wide)
        return int(reducer.code_dim_)  # type: ignore[attr-defined]  # an autoencoder's: the base Reducer has none
    if hasattr(reducer, "n_components_"):
        return int(reducer.n_components_)
    raise InputError("the model is not fitted yet; train it first.")


def sample_prior(reducer: Reducer | None, n: int, seed: int = 0) -> np.ndarray:
    """``n`` new rows from a VAE's prior: z ~ N(0, I) (n, latent_dim), decoded to (n, d) float32.

    Only a variational autoencoder has a prior; any other model raises InputError saying so.
    """
    n = _check_count(n, "the number of samples", MAX_SAMPLES)
    kind = reducer.kind if reducer is not None else "none"
    if reducer is None or kind not in GENERATIVE_KINDS:
        raise InputError(
            f"sampling from the prior needs a variational autoencoder (vae); this model is "
            f"{_model_name(kind)}, which has no prior to draw from. Train a vae, or sample from a "
            "cluster's region or interpolate instead."
        )
    z = np.random.default_rng(seed).standard_normal((n, _latent_dim(reducer))).astype(np.float32)
    return reducer.inverse_transform(z)


def cluster_codes(run: RunResult, cluster: int) -> np.ndarray:
    """The latent codes (m, latent) of a cluster's rows; InputError for an unknown or empty cluster."""
    labels = run.clusters.labels
    known = sorted(int(c) for c in np.unique(labels) if c >= 0)
    if not isinstance(cluster, (int, np.integer)) or int(cluster) not in known:
        raise InputError(
            f"there is no cluster {cluster!r} in this run; choose one of: {', '.join(map(str, known[:30]))}."
        )
    return np.asarray(run.Z[labels == int(cluster)], np.float64)


GMM_REG = 1e-3  # added to a GMM component's covariance, as a share of its mean variance, so it stays full-rank


def cluster_gaussian(run: RunResult, cluster: int) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian of a cluster's region of the latent space: (mean (latent,), covariance (latent, latent)).

    For a Gaussian mixture clustered on the codes ("gmm"), the cluster's own component: its mean and
    covariance re-estimated from the run's soft assignments (one M-step, which gives back the fitted
    component; a run keeps the mixture's means and responsibilities, not its covariances). For every
    other clustering, a Gaussian fitted to the cluster's codes, its covariance Ledoit-Wolf shrunk
    towards a multiple of the identity so a small cluster (fewer rows than latent dimensions) still
    gives a proper, full-rank Gaussian.
    """
    from sklearn.covariance import LedoitWolf

    codes = cluster_codes(run, cluster)
    if len(codes) < 2:
        raise InputError(f"cluster {cluster} has {len(codes)} row; a region needs at least 2 rows to draw from.")
    proba, Z = run.clusters.proba, np.asarray(run.Z, np.float64)
    if run.clusters.method == "gmm" and proba is not None and proba.shape == (len(Z), run.clusters.k):
        weights = np.asarray(proba[:, int(cluster)], np.float64)
        if weights.sum() > 1.0:
            weights = weights / weights.sum()
            mean = weights @ Z
            centred = Z - mean
            cov = (centred * weights[:, None]).T @ centred
            cov += GMM_REG * max(float(np.trace(cov)) / len(cov), 1e-12) * np.eye(len(cov))
            return mean, cov
    return codes.mean(axis=0), LedoitWolf().fit(codes).covariance_


def sample_cluster(run: RunResult, cluster: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` new rows from a cluster's region of the latent space: draws from :func:`cluster_gaussian`,
    decoded to (n, d) float32. Works for every model that decodes; for a VAE the region lies in the
    space its prior shapes, for the others the draws can fall off what the decoder learnt."""
    n = _check_count(n, "the number of samples", MAX_SAMPLES)
    mean, cov = cluster_gaussian(run, cluster)
    z = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n, method="eigh").astype(np.float32)
    return decode(run, z)


def sample_each_cluster(run: RunResult, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows from each cluster's region (:func:`sample_cluster`, cluster c seeded ``seed + c``):
    (cluster of each row (m * n,) int64, rows (m * n, d) float32), clusters in order; at most
    ``MAX_SAMPLES`` rows in all (LimitError beyond)."""
    ids = sorted(int(c) for c in np.unique(run.clusters.labels) if c >= 0)
    n = _check_count(n, "the number of samples per cluster", MAX_SAMPLES)
    if n * len(ids) > MAX_SAMPLES:
        raise LimitError(
            f"{n} samples from each of {len(ids)} clusters is {n * len(ids)} rows, more than the cap "
            f"of {MAX_SAMPLES}; ask for at most {max(1, MAX_SAMPLES // max(len(ids), 1))} per cluster."
        )
    drawable = [c for c in ids if int((run.clusters.labels == c).sum()) >= 2]
    if not drawable:
        raise InputError("no cluster has the 2 rows a region needs to draw from.")
    rows = [sample_cluster(run, c, n, seed + c) for c in drawable]
    return np.repeat(np.array(drawable, np.int64), n), np.concatenate(rows)


def decode(run: RunResult, Z: np.ndarray) -> np.ndarray:
    """Codes Z (n, latent) -> rows (n, d) float32 through the run's decoder; without a model the latent
    space is the data space and Z is returned as it is."""
    Z = np.asarray(Z, np.float32)
    return Z if run.reducer is None else run.reducer.inverse_transform(Z)


# -- interpolation ------------------------------------------------------------------------------------
def latent_path(z_a: np.ndarray, z_b: np.ndarray, steps: int, method: Path = "linear") -> np.ndarray:
    """``steps`` codes (steps, latent) float32 from ``z_a`` to ``z_b``, both ends included.

    "linear": evenly spaced on the segment. "spherical": slerp about the origin (White 2016, "Sampling
    generative networks"): under a VAE's Gaussian prior most mass lies near a sphere, and the segment's
    middle passes through the improbable region near the origin, while slerp keeps the path's norms
    between the ends'. Nearly parallel ends fall back to the segment.
    """
    steps = _check_count(steps, "the number of steps", MAX_STEPS, low=2)
    if method not in PATHS:
        raise InputError(f"interpolation '{method}' is not known; choose one of: {', '.join(PATHS)}.")
    a, b = (np.asarray(v, np.float64).ravel() for v in (z_a, z_b))
    if a.shape != b.shape:
        raise InputError(f"the two codes have different sizes ({a.size} and {b.size}).")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("the two codes must be finite numbers.")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if method == "spherical" and na > 0 and nb > 0:
        omega = float(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0)))
        if 1e-4 < omega < np.pi - 1e-4:
            return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)
    return ((1 - t) * a + t * b).astype(np.float32)


def interpolate(
    reducer: Reducer | None, z_a: np.ndarray, z_b: np.ndarray, steps: int, method: Path = "linear"
) -> np.ndarray:
    """Decoded points along :func:`latent_path`: (steps, d) float32; row 0 decodes ``z_a``, the last ``z_b``.

    Works for every model that decodes (PCA and the autoencoders); "spherical" only for a VAE, whose
    prior gives the origin its meaning (InputError otherwise).
    """
    kind = reducer.kind if reducer is not None else "none"
    if reducer is None or kind not in DECODING_KINDS:
        raise InputError(
            f"interpolation needs a model that decodes its latent space; this run's model is "
            f"{_model_name(kind)}. Train PCA or an autoencoder."
        )
    if method == "spherical" and kind not in GENERATIVE_KINDS:
        raise InputError(
            f"spherical interpolation follows a VAE's Gaussian prior; {_model_name(kind)} has none. "
            "Use linear interpolation."
        )
    return reducer.inverse_transform(latent_path(z_a, z_b, steps, method))


def cluster_centre(run: RunResult, cluster: int) -> np.ndarray:
    """A cluster's centre in the latent space (latent,) float32: the clustering's own centre where it
    has one of the right size, else the mean code of its rows."""
    codes = cluster_codes(run, cluster)
    centers = run.clusters.centers
    c = int(cluster)
    if (
        centers is not None
        and c < len(centers)
        and centers.shape[1] == run.Z.shape[1]
        and np.isfinite(centers[c]).all()
    ):
        return np.asarray(centers[c], np.float32)
    return codes.mean(axis=0).astype(np.float32)


def row_code(run: RunResult, row_id: str) -> np.ndarray:
    """The latent code (latent,) float32 of the row whose id is ``row_id``."""
    ids = np.asarray(run.dataset.ids).astype(str)
    hits = np.flatnonzero(ids == str(row_id))
    if not len(hits):
        from explorer.display.usertext import plain_text

        raise InputError(
            f"no row has the id '{plain_text(str(row_id))[:80]}'; pick an id from the data "
            f"(e.g. {', '.join(repr(str(v)) for v in ids[:3])})."
        )
    return np.asarray(run.Z[hits[0]], np.float32)


# -- back to the data's units -------------------------------------------------------------------------
@dataclass
class DataUnits:
    """Rows of a table in the data's own units, and what could not be brought back.

    ``frame``: one column per feature column of the table, in the table's order: numbers unscaled (and
    un-logged), categories as the level with the largest one-hot value; columns that could not be
    inverted keep their scaled values and are named "<column> (scaled)". ``notes``: sentences saying
    what was inverted and what was not. ``exact``: True when every column was inverted.
    """

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    exact: bool = True


INVERSE_TOLERANCE = 1e-3  # largest residual (in scaled units) for a column's recovered map to count as exact


def _numeric_map(dataset: Dataset, j: int) -> tuple[float, float, bool, bool] | None:
    """How feature ``j`` was made from its raw column: (scale a, offset b, logged, whole numbers) with
    X[:, j] = a * f(raw) + b and f = log1p when ``logged``; None when it can't be recovered.

    The loader records which columns it logged but not the scaling's parameters, so the affine map is
    recovered from the rows themselves (the raw table beside X, imputed cells left out); a column whose
    map does not reproduce X to ``INVERSE_TOLERANCE`` is not inverted. When a Dataset records its
    preprocessing, this is the one place that should read it instead.
    """
    import pandas as pd

    table, name = dataset.table, dataset.feature_names[j]
    if table is None or name not in table.columns:
        return None
    raw = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    logged = dataset.report.transformed.get(name) == "log(1 + x)"
    ok = np.isfinite(raw) & (raw > -1 if logged else True)
    if ok.sum() < 2:
        return None
    u = np.log1p(raw[ok]) if logged else raw[ok]
    x = np.asarray(dataset.X[ok, j], np.float64)
    whole = bool(np.all(raw[ok] == np.round(raw[ok])))
    if np.ptp(u) == 0:
        return (0.0, float(x.mean()), logged, whole) if np.ptp(x) < INVERSE_TOLERANCE else None
    a, b = np.polyfit(u, x, 1)
    if a == 0 or np.max(np.abs(a * u + b - x)) > INVERSE_TOLERANCE * max(1.0, float(np.abs(x).max())):
        return None
    return float(a), float(b), logged, whole


def to_data_units(dataset: Dataset, X: np.ndarray) -> DataUnits:
    """Rows X (n, d) in the model's space -> a table in the data's units (:class:`DataUnits`).

    Tables: numeric columns through the inverse of the loader's scaling and log(1 + x) (recovered by
    :func:`_numeric_map`; whole-number columns rounded), one-hot groups back to the level with the
    largest value ("other" stays "other"). Embeddings and columns that can't be inverted: the scaled
    features as they are, said so in ``notes``. Images are not tables: use the pixel rows directly.
    """
    import pandas as pd

    X = np.asarray(X, np.float64)
    if X.ndim != 2 or X.shape[1] != len(dataset.feature_names):
        raise InputError(f"expected rows of {len(dataset.feature_names)} features, got shape {X.shape}.")
    if dataset.kind != "table" or dataset.table is None:
        unscaled = dataset.report.scaling in ("none", "")
        note = (
            "These rows are in the data's own units (it was not scaled)."
            if unscaled
            else f"These rows are in the model's feature space ({dataset.report.scaling} scaling): the run keeps "
            "no record to undo the scaling, so they are shown scaled."
        )
        return DataUnits(pd.DataFrame(X, columns=list(dataset.feature_names)), [note], unscaled)
    encoded = dataset.report.encoded
    groups: dict[str, list[int]] = {}
    order: list[tuple[str, int | None]] = []  # (column, its feature j, or None for a one-hot group), in feature order
    for j, name in enumerate(dataset.feature_names):
        column = name.split("=", 1)[0]
        if "=" in name and column in encoded:
            if column not in groups:
                order.append((column, None))
            groups.setdefault(column, []).append(j)
        else:
            order.append((name, j))
    out: dict[str, object] = {}
    scaled: list[str] = []
    for column, feature in order:
        if feature is None:
            idx = groups[column]
            levels = np.array([dataset.feature_names[i].split("=", 1)[1] for i in idx], dtype=object)
            out[column] = levels[np.argmax(X[:, idx], axis=1)]
            continue
        found = _numeric_map(dataset, feature)
        if found is None:
            out[f"{column} (scaled)"] = X[:, feature]
            scaled.append(column)
            continue
        a, b, logged, whole = found
        if a == 0:  # a constant column: its one value
            raw = pd.to_numeric(dataset.table[column], errors="coerce").dropna()
            u = np.full(len(X), float(np.log1p(raw.iloc[0]) if logged else raw.iloc[0]))
        else:
            u = (X[:, feature] - b) / a
        values = np.expm1(np.minimum(u, 700.0)) if logged else u
        out[column] = np.round(values).astype(np.int64) if whole and np.isfinite(values).all() else values
    notes = [
        (
            "Numbers are in the data's own units (the loader's scaling and log(1 + x) undone); categories are "
            "the level the model's one-hot output favours most."
        )
    ]
    if scaled:
        notes.append(
            f"{len(scaled)} column(s) could not be brought back to the data's units (the run does not "
            f"record how they were scaled) and are shown scaled: {', '.join(repr(c) for c in scaled[:10])}."
        )
    return DataUnits(pd.DataFrame(out), notes, exact=not scaled)


# -- downloads ----------------------------------------------------------------------------------------
STRIP_GAP = 2  # pixels of white between two images of a PNG strip


def _uint8_images(images: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    """Images (n, h, w) gray or (n, h, w, 3) colour, uint8, as a list; InputError for anything else."""
    out = [np.asarray(img) for img in images]
    if not out:
        raise InputError("there are no images to download.")
    shapes = {img.shape for img in out}
    if (
        len(shapes) != 1
        or out[0].dtype != np.uint8
        or out[0].ndim not in (2, 3)
        or (out[0].ndim == 3 and out[0].shape[-1] not in (1, 3))
    ):
        raise InputError(
            f"images to download must share one shape and be uint8 gray (h, w) or colour (h, w, 3); "
            f"got {sorted(map(str, shapes))[:3]} of {out[0].dtype}."
        )
    return [img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img for img in out]


def png_bytes(image: np.ndarray) -> bytes:
    """One uint8 image (h, w) or (h, w, 3) as PNG bytes."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def png_strip(images: np.ndarray | list[np.ndarray], columns: int | None = None, gap: int = STRIP_GAP) -> bytes:
    """Images (n, h, w) or (n, h, w, 3) uint8 side by side as one PNG: ``columns`` a row (default all
    n: one strip), ``gap`` white pixels between them, at their own size (no scaling)."""
    imgs = _uint8_images(images)
    n, (h, w) = len(imgs), imgs[0].shape[:2]
    cols = n if columns is None else max(1, min(int(columns), n))
    rows = -(-n // cols)
    channels = () if imgs[0].ndim == 2 else (3,)
    sheet = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, *channels), 255, np.uint8)
    for i, img in enumerate(imgs):
        r, c = divmod(i, cols)
        sheet[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return png_bytes(sheet)


def png_zip(images: np.ndarray | list[np.ndarray], names: list[str] | None = None, stem: str = "image") -> bytes:
    """A zip of one PNG per image, in order: ``001-<name>.png`` ... (names are user text, e.g. cluster
    names or row ids: made safe file names; numbered, so two equal names never collide)."""
    import io
    import zipfile

    from explorer.display.usertext import file_stem

    imgs = _uint8_images(images)
    names = list(names) if names is not None else [stem] * len(imgs)
    if len(names) != len(imgs):
        raise InputError(f"{len(names)} names for {len(imgs)} images.")
    width = max(3, len(str(len(imgs))))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (img, name) in enumerate(zip(imgs, names, strict=True), start=1):
            zf.writestr(f"{i:0{width}d}-{file_stem(name, stem, 40)}.png", png_bytes(img))
    return buf.getvalue()


def rows_csv(dataset: Dataset, X: np.ndarray, labels: list[str] | None = None, label_name: str = "sample") -> bytes:
    """Generated rows X (n, d) of a table as CSV in the data's own units (:func:`to_data_units`), a first
    column ``label_name`` (``labels``, default 1..n); formula-safe (:func:`explorer.display.usertext.csv_bytes`),
    so a column name or level that starts with ``=`` is not run by a spreadsheet."""
    from explorer.display.usertext import csv_bytes

    frame = to_data_units(dataset, X).frame
    labels = [str(i + 1) for i in range(len(frame))] if labels is None else [str(v) for v in labels]
    if len(labels) != len(frame):
        raise InputError(f"{len(labels)} labels for {len(frame)} rows.")
    frame.insert(0, label_name if label_name not in frame.columns else f"{label_name} ", labels)
    return csv_bytes(frame)
