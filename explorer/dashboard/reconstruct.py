"""What the Reconstructions & anomalies page shows: the model's reconstructions and per-feature errors,
each cluster's centre decoded, the most anomalous rows, generated rows and interpolations, denoising."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from explorer.dashboard.run_view import as_images
from explorer.errors import InputError
from explorer.sampling import sample_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from explorer.pipeline import RunResult

MAX_RECONSTRUCT_ROWS = 5000  # per-feature errors are averaged over a seeded sample of this many rows


NO_DECODER = (
    "the pretrained image encoder has no decoder: there are no reconstructions, no decoded centres and "
    "no reconstruction error (the anomaly score is the distance to the cluster's centre)."
)


def has_decoder(result: RunResult) -> bool:
    """True when the run's model can decode its codes back into rows (PCA, the autoencoders)."""
    return result.reducer is not None and bool(getattr(result.reducer, "reconstructs", True))


def _need_model(result: RunResult):
    if result.reducer is None:
        raise InputError(
            "this run has no trained model (the features were used as they are), so there "
            "are no reconstructions; train PCA or an autoencoder to see them."
        )
    if not has_decoder(result):
        raise InputError(NO_DECODER)
    return result.reducer


def reconstructions(result: RunResult, index: np.ndarray) -> np.ndarray:
    """The model's reconstructions of rows ``index``: (len(index), d) float32, in the space of X."""
    reducer = _need_model(result)
    return reducer.reconstruct(result.dataset.X[np.asarray(index, dtype=np.int64)])


def cluster_members(result: RunResult, cluster: int, n: int, seed: int = 0) -> np.ndarray:
    """Up to ``n`` rows of ``cluster``, a seeded random pick, sorted."""
    rows = np.flatnonzero(result.clusters.labels == cluster)
    return sample_rows(rows, n, seed)


def cluster_centres(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """The centre of each cluster in the latent space: (cluster ids (m,), centres (m, latent) float32).

    ``ClusterResult.centers`` where it has them, else the mean code of each cluster's rows; noise and
    empty clusters are left out.
    """
    labels, Z = result.clusters.labels, result.Z
    ids = np.array(sorted(c for c in np.unique(labels) if c >= 0), dtype=np.int64)
    centers = result.clusters.centers
    rows = []
    for c in ids:
        if (
            centers is not None
            and c < len(centers)
            and centers.shape[1] == Z.shape[1]
            and np.isfinite(centers[c]).all()
        ):
            rows.append(centers[c])
        else:
            rows.append(Z[labels == c].mean(axis=0))
    if not rows:
        return ids, np.zeros((0, Z.shape[1]), np.float32)
    return ids, np.stack(rows).astype(np.float32)


def decoded_centres(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """What each cluster looks like: its centre decoded back to the data space.

    Returns (cluster ids (m,), rows (m, d) float32). Without a model the latent space is the data
    space, so the centres are returned as they are; with an encoder that has no decoder (the pretrained one)
    each cluster's mean row in the data space stands in (its mean image).
    """
    ids, centres = cluster_centres(result)
    if result.reducer is not None and not has_decoder(result):
        X, labels = result.dataset.X, result.clusters.labels
        means = [X[labels == c].mean(axis=0) for c in ids]
        return ids, (np.stack(means).astype(np.float32) if means else np.zeros((0, X.shape[1]), np.float32))
    if result.reducer is None or len(ids) == 0:
        return ids, centres
    return ids, result.reducer.inverse_transform(centres)


def feature_errors(result: RunResult, index: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """Mean squared reconstruction error of each feature over rows ``index`` (default: all, or a seeded
    sample of ``MAX_RECONSTRUCT_ROWS``): columns ``feature``, ``error``, sorted by error, largest first."""
    import pandas as pd

    _need_model(result)
    n = result.dataset.n
    rows = np.arange(n) if index is None else np.asarray(index, dtype=np.int64)
    rows = sample_rows(rows, MAX_RECONSTRUCT_ROWS, seed)
    X = result.dataset.X[rows]
    errors = np.mean((X - reconstructions(result, rows)) ** 2, axis=0) if len(rows) else np.zeros(X.shape[1])
    frame = pd.DataFrame({"feature": list(result.dataset.feature_names), "error": errors.astype(np.float64)})
    return frame.sort_values("error", ascending=False, kind="stable").reset_index(drop=True)


def top_anomalies(result: RunResult, n: int = 20) -> np.ndarray:
    """The ``n`` rows with the highest anomaly score (reconstruction error), highest first."""
    n = int(max(0, min(n, result.dataset.n)))
    return np.argsort(-result.anomaly, kind="stable")[:n]


GENERATE_SEED = 0  # the seed of the Generate and Denoise sections: the same draw on every rerun


def generated_view(result: RunResult, X: np.ndarray) -> tuple[list[np.ndarray] | None, pd.DataFrame | None, list[str]]:
    """Generated rows X (n, d) as the page shows them: (thumbnails, None, []) for images, else
    (None, a table in the data's units, notes saying what could not be inverted). Notes are plain
    text that quotes column names: escape them where shown."""
    from explorer.reducers.generate import to_data_units

    ds = result.dataset
    if ds.images is not None and ds.image_shape is not None and X.shape[1] == int(np.prod(ds.image_shape)):
        return list(as_images(X, ds.image_shape)), None, []
    units = to_data_units(ds, X)
    return None, units.frame, units.notes


def interpolation_codes(
    result: RunResult, between: Literal["clusters", "rows"], a: int | str, b: int | str
) -> tuple[np.ndarray, np.ndarray]:
    """The two latent codes (latent,) an interpolation walks between: two clusters' centres, or the
    codes of the rows whose ids are ``a`` and ``b``."""
    from explorer.reducers.generate import cluster_centre, row_code

    if between == "clusters":
        return cluster_centre(result, int(a)), cluster_centre(result, int(b))
    return row_code(result, str(a)), row_code(result, str(b))


def denoise_summary(errors: dict[str, float]) -> str:
    """What the denoising did, in sentences: the mean squared error against the clean rows with the noise,
    after denoising, and the model's own error on the clean rows (what it loses with no noise)."""
    before, after, floor = errors["noisy"], errors["denoised"], errors.get("reconstruction")
    text = f"Mean squared error against the clean rows: {before:.4g} with the noise, {after:.4g} after denoising"
    text += f" ({1 - after / before:.0%} of it removed)." if before > 0 and after < before else "."
    if floor is not None:
        text += f" On the clean rows the model's error is {floor:.4g}: what it loses with no noise at all."
        if before > 0 and after >= before:
            text += (
                " At this noise level that loss outweighs the noise: the model blurs more than the noise "
                "disturbs. Raise the noise, or train the model longer."
            )
    return text
