"""Would the clusters come back? Stability of a clustering across halves of the data, and the k it picks.

For each k: the rows are drawn at random (at most ``sample_size``), split into two disjoint halves,
each half clustered on its own (k-means), and both clusterings applied to all drawn rows; the
adjusted Rand index between the two labelings is the stability of k (1: the same partition from
either half). Structure that is really there comes back from any half; a k that splits a group in two
(or merges two) does so differently each time. Repeated ``repeats`` times and averaged (Ben-Hur,
Elisseeff & Guyon 2002; Lange, Roth, Braun & Buhmann 2004, "Stability-based validation of clustering
solutions").

The pick: the largest k whose stability is at least ``STABLE`` (0.95): the finest partition that
still comes back. Measured on tables with planted segments (docs/BENCHMARKS.md), where the silhouette
merges segments (it favours few, far-apart groups) and BIC splits skewed ones.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InputError
from .events import StepCallback, StopCheck
from .validation import MIN_ROWS, RANDOM_STATE, check_array, check_value

STABLE = 0.95  # a k whose halves agree this well (adjusted Rand index) comes back
STABILITY_SAMPLE = 8000  # rows drawn per repeat, split into two halves
STABILITY_REPEATS = 4
SILHOUETTE_SAMPLE = 4000


def half_stability(Z: np.ndarray, k: int, rng: np.random.Generator, *, sample_size: int = STABILITY_SAMPLE,
                   n_init: int = 8, with_silhouette: bool = True) -> tuple[float, float]:
    """One repeat for one k: (adjusted Rand index between the two halves' k-means, applied to the
    drawn rows; the silhouette of the first half's labels on the drawn rows, NaN when undefined or
    not asked for: on 4,000 rows it costs as much as the two k-means fits)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    n = len(Z)
    drawn = rng.choice(n, min(n, sample_size), replace=False)
    a, b = drawn[: len(drawn) // 2], drawn[len(drawn) // 2:]
    seed = int(rng.integers(2**31 - 1))
    ka = KMeans(k, n_init=n_init, random_state=seed).fit(Z[a])
    kb = KMeans(k, n_init=n_init, random_state=seed + 1).fit(Z[b])
    la, lb = ka.predict(Z[drawn]), kb.predict(Z[drawn])
    score = float(adjusted_rand_score(la, lb))
    s = drawn[:SILHOUETTE_SAMPLE]
    scorable = with_silhouette and 2 <= len(np.unique(la[: len(s)])) < len(s)
    return score, float(silhouette_score(Z[s], la[: len(s)])) if scorable else math.nan


def stability_sweep(
    Z: np.ndarray,
    k_range: tuple[int, int] = (2, 15),
    *,
    random_state: int | None = 0,
    repeats: int = STABILITY_REPEATS,
    sample_size: int = STABILITY_SAMPLE,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
):
    """Stability (and, for the chart, the first repeat's silhouette) of k-means for each k in ``k_range``; suggests the
    largest stable k. Returns a :class:`~explorer.cluster.KSweep` with ``stability`` filled and
    ``bic`` NaN. ``should_stop`` ends the sweep early (between ks), as :func:`explorer.cluster.sweep_k`."""
    from .cluster import KSweep, _check_k_range

    Z = check_array(Z, min_rows=MIN_ROWS)
    n = len(Z)
    lo, hi = _check_k_range(k_range)
    check_value("random_state", random_state, RANDOM_STATE)
    top = min(hi, min(n, sample_size) // 2 - 1)  # each half must hold more rows than k
    if lo > top:
        raise InputError(f"k_range starts at {lo}, but {n} rows allow a stability sweep up to k = {max(top, 1)}; "
                         "give k, or use more rows.")
    rng = np.random.default_rng(random_state)
    ks, stability, silhouette = [], [], []
    stopped = False
    planned = list(range(lo, top + 1))
    for i, k in enumerate(planned):
        if ks and should_stop is not None and should_stop():
            stopped = True
            break
        scores = [half_stability(Z, k, rng, sample_size=sample_size, with_silhouette=r == 0) for r in range(repeats)]
        ks.append(k)
        stability.append(float(np.mean([s for s, _ in scores])))
        silhouette.append(scores[0][1])  # for the chart: the first repeat's
        if on_progress is not None:
            on_progress((i + 1) / len(planned), f"k = {k}: stability {stability[-1]:.2f}")
    suggested, criterion, runner_up, reason = suggest_stable_k(ks, stability)
    return KSweep(ks, silhouette, [math.nan] * len(ks), suggested, criterion, stopped,
                  stability=stability, runner_up=runner_up, reason=reason)


def suggest_stable_k(ks: list[int], stability: list[float]) -> tuple[int, str, int | None, str]:
    """(k, criterion, runner-up k, the sentence why) from the stability of each k."""
    st = np.asarray(stability, dtype=float)
    stable = [i for i in range(len(ks)) if st[i] >= STABLE]
    if stable:
        pick = max(stable, key=lambda i: ks[i])
        below = [i for i in stable if i != pick]  # the next-finest stable k, else the most stable other
        others = below or [i for i in range(len(ks)) if i != pick]
        ru = max(others, key=lambda i: ks[i] if below else st[i]) if others else None
        reason = (f"k = {ks[pick]}: the most clusters that still come back on disjoint halves of the data "
                  f"(stability {st[pick]:.2f} >= {STABLE})")
        if ru is not None:
            reason += f"; runner-up k = {ks[ru]} (stability {st[ru]:.2f})"
            beyond = [i for i in range(len(ks)) if ks[i] > ks[pick]]
            nxt = min(beyond, key=lambda i: ks[i]) if beyond else None
            if nxt is not None:
                reason += f"; k = {ks[nxt]} falls to {st[nxt]:.2f}"
            clear = (nxt is None or st[pick] - st[nxt] > 0.1) and st[pick] - st[ru] > -0.05
            reason += " — a clear choice." if clear else " — a close call."
        else:
            reason += "."
        return ks[pick], "stability", (ks[ru] if ru is not None else None), reason
    best = int(np.argmax(st))
    others = [i for i in range(len(ks)) if i != best]
    ru = max(others, key=lambda i: st[i]) if others else None
    reason = (f"k = {ks[best]}: no k comes back reliably (the best stability is {st[best]:.2f} < {STABLE}), "
              "so the structure is weak; this is the most stable k"
              + (f", runner-up k = {ks[ru]} ({st[ru]:.2f})." if ru is not None else "."))
    return ks[best], "stability (none stable)", (ks[ru] if ru is not None else None), reason
