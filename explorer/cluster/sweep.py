"""The k sweep: k-means silhouette and a diagonal GMM's BIC for each k, and the pick."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import InputError
from explorer.events import StepCallback, StopCheck
from explorer.validation import (
    MIN_ROWS,
    RANDOM_STATE,
    check_array,
    check_value,
    is_whole,
)

if TYPE_CHECKING:  # pragma: no cover
    pass
from explorer.cluster.types import SILHOUETTE_TIE, KSweep, check_k_range


def sweep_k(
    Z: np.ndarray,
    k_range: tuple[int, int] = (2, 15),
    *,
    random_state: int | None = 0,
    sample_size: int = 5000,
    n_init: int = 4,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
) -> KSweep:
    """Score each k in ``k_range`` (inclusive; the top capped at n - 1) and suggest one.

    For each k: k-means on all of ``Z`` (``n_init`` restarts) and its silhouette on a seeded sample of
    ``sample_size`` rows (all rows when n is smaller); then a GMM with *diagonal* covariances, started
    from the k-means centres, fitted on the same sample, and its BIC. Diagonal, not full: a full GMM
    has k * d * (d + 1) / 2 covariance parameters, which on a 32-dimensional latent space makes BIC
    punish every extra cluster so hard it says little, and it is slow and unstable on small samples.

    Rule for ``suggested``: the k with the highest silhouette. Silhouettes within ``SILHOUETTE_TIE``
    (0.01) of the best count as a tie, and the tie goes to the k with the lowest BIC among them. BIC
    only breaks ties: it keeps decreasing with k on real data, so where the two disagree the silhouette
    wins. Without any silhouette, the lowest BIC; without either, the smallest k.

    ``should_stop()`` is checked before each k after the first and ends the sweep early (the scores
    then cover only the ks done and ``stopped_early`` is True). ``on_progress(fraction, message)``.

    Returns a :class:`KSweep`.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    Z = check_array(Z, min_rows=MIN_ROWS)
    n = Z.shape[0]
    lo, hi = check_k_range(k_range)
    if not (is_whole(sample_size) and sample_size >= 100):
        raise InputError(f"sample_size must be a whole number >= 100, got {sample_size!r}.")
    check_value("random_state", random_state, RANDOM_STATE)
    if lo > n - 1:
        raise InputError(f"k_range starts at {lo}, but with {n} rows k must be at most {n - 1}.")
    ks_planned = list(range(lo, min(hi, n - 1) + 1))
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else np.arange(n)
    Zs = Z[sample]
    Zs64 = Zs.astype(np.float64)
    ks: list[int] = []
    silhouette: list[float] = []
    bic: list[float] = []
    stopped = False
    for i, k in enumerate(ks_planned):
        if ks and should_stop is not None and should_stop():
            stopped = True
            break
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z)
        labels_s = km.labels_[sample]
        n_labels = len(np.unique(labels_s))
        sil = float(silhouette_score(Zs, labels_s)) if 2 <= n_labels < len(sample) else math.nan
        if k < len(sample):
            gm = GaussianMixture(  # started from the k-means centres; k-means++ only for the first E-step
                k,
                covariance_type="diag",
                means_init=km.cluster_centers_.astype(np.float64),
                init_params="k-means++",
                random_state=random_state,
            ).fit(Zs64)
            b = float(gm.bic(Zs64))
        else:
            b = math.nan
        ks.append(k)
        silhouette.append(sil)
        bic.append(b)
        if on_progress is not None:
            on_progress((i + 1) / len(ks_planned), f"k = {k}: silhouette {sil:.3f}, BIC {b:.4g}")
    suggested, criterion = _suggest_k(ks, silhouette, bic)
    runner_up, reason = _silhouette_reason(ks, silhouette, suggested, criterion)
    return KSweep(ks, silhouette, bic, suggested, criterion, stopped, runner_up=runner_up, reason=reason)


def _silhouette_reason(ks: list[int], silhouette: list[float], pick: int, criterion: str) -> tuple[int | None, str]:
    """(runner-up k, the sentence saying why ``pick`` won) for a silhouette sweep."""
    sil = np.asarray(silhouette, dtype=float)
    others = [i for i, k in enumerate(ks) if k != pick and not np.isnan(sil[i])]
    if criterion not in ("silhouette", "silhouette+bic") or not others:
        return None, f"k = {pick} ({criterion})."
    ru = max(others, key=lambda i: sil[i])
    mine = sil[ks.index(pick)]
    margin = mine - sil[ru]
    if criterion == "silhouette+bic":
        why = (
            f"its silhouette ({mine:.3f}) ties with k = {ks[ru]} ({sil[ru]:.3f}, within {SILHOUETTE_TIE}); "
            f"BIC prefers k = {pick}"
        )
    else:
        why = f"the highest silhouette, {mine:.3f}; runner-up k = {ks[ru]} ({sil[ru]:.3f})"
    clear = "a clear choice" if margin > 0.05 else "a close call" if margin < 0.01 else "a fair margin"
    return ks[ru], f"k = {pick}: {why} — {clear}."


def _suggest_k(ks: list[int], silhouette: list[float], bic: list[float]) -> tuple[int, str]:
    sil = np.asarray(silhouette, dtype=float)
    b = np.asarray(bic, dtype=float)
    if not np.isnan(sil).all():
        best = int(np.nanargmax(sil))
        near = np.flatnonzero(sil >= sil[best] - SILHOUETTE_TIE)  # NaN compares False
        if len(near) > 1 and not np.isnan(b[near]).all():
            pick = int(near[np.nanargmin(b[near])])
            return ks[pick], "silhouette" if pick == best else "silhouette+bic"
        return ks[best], "silhouette"
    if not np.isnan(b).all():
        return ks[int(np.nanargmin(b))], "bic"
    return ks[0], "default"
