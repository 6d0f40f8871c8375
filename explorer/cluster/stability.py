"""Would the clusters come back? Stability of a clustering across halves of the data, and the k it picks.

For each k: the rows are drawn at random (at most ``sample_size``), split into two disjoint halves,
each half clustered on its own (k-means), and both clusterings applied to all drawn rows; the
adjusted Rand index between the two labelings is the stability of k (1: the same partition from
either half). Structure that is really there comes back from any half; a k that splits a group in two
(or merges two) does so differently each time. Repeated ``repeats`` times and averaged (Ben-Hur,
Elisseeff & Guyon 2002; Lange, Roth, Braun & Buhmann 2004, "Stability-based validation of clustering
solutions").

The pick: the largest k whose stability is at least ``STABLE`` (0.95) and whose clusters are each
separated from their nearest neighbour by a valley in density: the finest partition that still comes
back and cuts only where the data thins out. The second condition is needed because k-means splits a
large group along its longest axis the same way on every half, so stability alone also rewards cutting
a flat, gapless spread (a segment's uniform "lucky number" column) in two. Along the line between the
two centres, the rows near the middle are counted against the rows near each centre
(:func:`valley_ratio`); a real boundary has far fewer in the middle, a cut through a flat spread about
as many, and ``VALLEY`` lies between the two (the planted tables of docs/BENCHMARKS.md). The check is the idea of
dip-means (Kalogeratos & Likas 2012: split only where the data is not unimodal), made cheap.
Measured on tables with planted segments (docs/BENCHMARKS.md), where the silhouette merges segments
(it favours few, far-apart groups) and BIC splits skewed ones.

"No groups" is an answer: when no k both comes back and cuts only where the data thin out, the k the
rule falls back on (the most stable, or the coarsest stable) is kept only if some cluster is set apart
from its nearest neighbour by a valley clearly deeper (under ``NO_GROUPS_FACTOR`` times) than k-means
finds in data with no groups spread over the same principal axes (:func:`valley_against_null`);
otherwise the sweep suggests k = 1 (criterion ``NO_GROUPS``) and says why. Pure-noise tables (uniform
and Gaussian numbers, with and without noise categories) fall there; a weak but real structure (wine's
cultivars, stability 0.88) keeps its k.

Which clustering comes back: k-means' by default; a method whose own k rule this is (``MethodSpec.k_criterion``: the
mixture for numbers and categories, outside documents) is asked about its own, each half clustered by the method itself
(:func:`explorer.cluster.registry.sweep_partition`) and the valley checks below made on its clusters. k-means' stability
on all the columns is a different question where k-means and the method part ways: in a table whose groups live in a few
of its columns (the words and dates of bench/suites/words_dates.py, beside as many columns of noise), k-means cuts the
noise columns and comes back only at k = 2, while the mixture, whose covariances let tight columns count, finds the 4
groups from either half (stability 1.00, 3 seeds) and no finer k (0.50 to 0.56 at k = 5).

Documents (``nested``) have a rule of their own (:func:`suggest_nested_k`): in a text embedding topics overlap, so
they come back less well than a table's segments (0.78 to 0.93) and show no valley between them, while random word
soup comes back at 0.3 at most: of the first run of ks that come back at ``NESTED_STABLE``, the finest (the finest
that comes back at ``STABLE`` where one does: crisp groups); none: no groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from explorer.cluster.registry import Partition
from explorer.errors import InputError
from explorer.events import StepCallback, StopCheck
from explorer.validation import MIN_ROWS, RANDOM_STATE, check_array, check_value

if TYPE_CHECKING:  # pragma: no cover
    from explorer.cluster.types import KSweep

STABLE = 0.95  # a k whose halves agree this well (adjusted Rand index) comes back
STABILITY_SAMPLE = 8000  # rows drawn per repeat, split into two halves
STABILITY_REPEATS = 4
SILHOUETTE_SAMPLE = 4000
VALLEY = 0.8  # a pair of clusters with this many rows (relative) in the middle as near a centre: no valley
VALLEY_WINDOW = 0.2  # half-width of the windows at each centre and at the midpoint, as a share of their distance
VALLEY_MIN_ROWS = 50  # fewer rows near a centre than this: too few to tell, the pair is not judged
NO_GROUPS = "stability (no groups)"  # the sweep's criterion when it finds no groups at all (k = 1)
NO_GROUPS_FACTOR = 0.75  # no stable k with a valley: groups only where the deepest valley is under this x ...
NULL_REFERENCES = 3  # ... the median of the same over this many uniform references (valley_against_null)
NO_GROUPS_MIN_ROWS = 20  # a pair is judged with this many rows near each centre (fewer: no evidence of a boundary)
NESTED_STABLE = 0.75  # documents (nested=True): a k whose halves agree this well comes back. Topics overlap, so in
# WordLlama's embedding AG News' 4 topics come back at 0.78 to 0.84 (2,000 news) and 0.89 to 0.92 (7,600), none at the
# tables' 0.95, while random word soup (2,000 texts of 15 to 40 words drawn from AG News' words) comes back at 0.29
# at most (3 seeds each, k 2 to 15)
OWN_FITS_SAMPLE = 4000  # rows drawn per repeat for a method's own fits (a k-means start and EM each): the planted
# customers' sweep took 3.0x k-means' CPU time on 8,000 rows, 1.9x on 4,000, with the same k and stability 1.00 up to
# it; the other tables of the suite 1.2x (penguins, words and dates) to 2.3x (gapminder: 5 s)


def kmeans_partition(n_init: int = 8) -> Partition:
    """k-means (``n_init`` starts) as a :data:`Partition`: its predict and its centres."""

    def partition(X: np.ndarray, k: int, seed: int) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
        from sklearn.cluster import KMeans

        km = KMeans(k, n_init=n_init, random_state=seed).fit(X)
        return km.predict, km.cluster_centers_

    return partition


def half_stability(
    Z: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    sample_size: int = STABILITY_SAMPLE,
    n_init: int = 8,
    with_silhouette: bool = True,
    partition: Partition | None = None,
) -> tuple[float, float]:
    """One repeat for one k: (adjusted Rand index between the two halves' k-means, applied to the
    drawn rows; the silhouette of the first half's labels on the drawn rows, NaN when undefined or
    not asked for: on 4,000 rows it costs as much as the two k-means fits). ``partition``: the halves'
    clustering instead of k-means (``n_init`` starts)."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    n = len(Z)
    drawn = rng.choice(n, min(n, sample_size), replace=False)
    a, b = drawn[: len(drawn) // 2], drawn[len(drawn) // 2 :]
    seed = int(rng.integers(2**31 - 1))
    fit = partition or kmeans_partition(n_init)
    (assign_a, _), (assign_b, _) = fit(Z[a], k, seed), fit(Z[b], k, seed + 1)
    la, lb = assign_a(Z[drawn]), assign_b(Z[drawn])
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
    groups: Sequence[np.ndarray] = (),
    nested: bool = False,
    partition: Partition | None = None,
) -> KSweep:
    """Stability (and, for the chart, the first repeat's silhouette) of k-means (or ``partition``) for each k in
    ``k_range``; suggests the largest stable k, or k = 1 when there are no groups. Returns a
    :class:`~explorer.cluster.methods.KSweep` with ``stability`` filled and ``bic`` NaN. ``should_stop`` ends the sweep
    early (between ks), as :func:`explorer.cluster.methods.sweep_k`. ``groups``: the one-hot columns of each categorical
    column of Z, left out of the "no groups" valley check (one-hot values are apart by construction, groups or not).
    ``nested``: the documents' rule instead (:func:`suggest_nested_k`): no valley checks, which a text embedding's
    overlapping topics do not pass. ``partition``: the method whose clusters are asked whether they come back, each half
    and the valley checks clustered by it (the mixture's own fits), on at most ``OWN_FITS_SAMPLE`` rows; None:
    k-means."""
    from explorer.cluster.types import KSweep, check_k_range

    Z = check_array(Z, min_rows=MIN_ROWS)
    n = len(Z)
    lo, hi = check_k_range(k_range)
    check_value("random_state", random_state, RANDOM_STATE)
    drawn = sample_size if partition is None else min(sample_size, OWN_FITS_SAMPLE)  # rows per repeat
    top = min(hi, min(n, drawn) // 2 - 1)  # each half must hold more rows than k
    if lo > top:
        raise InputError(
            f"k_range starts at {lo}, but {n} rows allow a stability sweep up to k = {max(top, 1)}; "
            "give k, or use more rows."
        )
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    ks: list[int] = []
    stability: list[float] = []
    silhouette: list[float] = []
    stopped = False
    planned = list(range(lo, top + 1))
    for i, k in enumerate(planned):
        if ks and should_stop is not None and should_stop():
            stopped = True
            break
        # many small fits: one thread each is as fast, and never spin-waits when other work holds the cores
        with threadpool_limits(limits=1):
            scores = [
                half_stability(Z, k, rng, sample_size=drawn, with_silhouette=r == 0, partition=partition)
                for r in range(repeats)
            ]
        ks.append(k)
        stability.append(float(np.mean([s for s, _ in scores])))
        silhouette.append(scores[0][1])  # for the chart: the first repeat's
        if on_progress is not None:
            on_progress((i + 1) / len(planned), f"k = {k}: stability {stability[-1]:.2f}")
    if nested:
        flat: dict[int, float] = {}
        suggested, criterion, runner_up, reason = suggest_nested_k(ks, stability)
    else:
        with threadpool_limits(limits=1):
            flat = _flat_splits(Z, ks, stability, rng, drawn, partition or kmeans_partition())
        suggested, criterion, runner_up, reason = suggest_stable_k(ks, stability, flat)
    sweep = KSweep(
        ks,
        silhouette,
        [math.nan] * len(ks),
        suggested,
        criterion,
        stopped,
        stability=stability,
        runner_up=runner_up,
        reason=reason,
    )
    if nested:
        return sweep
    if criterion != "stability" or suggested in flat:  # no k both comes back and cuts where the data thin out
        st = dict(zip(ks, stability, strict=True))
        weak = (
            f"from k = {ks[0]} to {ks[-1]}, no k both comes back on disjoint halves of the data and cuts where the "
            f"data thin out (the most stable, k = {suggested}, has stability {st[suggested]:.2f}; {STABLE} comes back)"
        )
        return settle_no_groups(Z, sweep, weak, rng, sample_size, groups)
    return sweep


def settle_no_groups(
    Z: np.ndarray,
    sweep: KSweep,
    weak: str,
    rng: np.random.Generator,
    sample_size: int = STABILITY_SAMPLE,
    groups: Sequence[np.ndarray] = (),
) -> KSweep:
    """No groups is an answer, whatever rule picked k: ``sweep``'s pick k is kept only where some k-means
    cluster of Z (n, d) at that k is set apart from its nearest neighbour by a valley clearly deeper
    (under ``NO_GROUPS_FACTOR`` times) than in data with no groups (:func:`valley_against_null`); else
    the sweep becomes k = 1 (criterion ``NO_GROUPS``, the pick as runner-up). ``weak``: why the sweep's own
    rule is not evidence of groups, in words (it opens the reason). Z is the space whose groups are in
    question (the features, not a UMAP of them: UMAP draws clumps in noise too); ``groups``: its one-hot
    columns, left out of the valley check (:func:`stability_sweep`)."""
    from dataclasses import replace

    from threadpoolctl import threadpool_limits

    k = sweep.suggested
    if k < 2:
        return sweep
    with threadpool_limits(limits=1):
        valley, null = valley_against_null(Z, k, rng, sample_size, groups)
    if valley < NO_GROUPS_FACTOR * null:
        return replace(
            sweep,
            reason=sweep.reason + f" Still, groups rather than none: at k = {k} a cluster is set apart from its "
            f"nearest neighbour by a thinning of the data ({valley:.2f} as many rows midway as near the centres, "
            f"against {null:.2f} in data with no groups spread over the same extent).",
        )
    return replace(
        sweep, suggested=1, criterion=NO_GROUPS, runner_up=k, reason=_no_groups_reason(weak, k, valley, null)
    )


def _deepest_valley(X: np.ndarray, k: int, seed: int) -> float:
    """The smallest valley ratio between a cluster and its nearest neighbour (k-means with ``k`` clusters
    on X (m, d)) judged on at least ``NO_GROUPS_MIN_ROWS`` rows near each centre; inf when none is."""
    from sklearn.cluster import KMeans

    km = KMeans(k, n_init=8, random_state=seed).fit(X)
    centers = km.cluster_centers_
    d = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    judged = [valley_ratio(X, km.labels_, centers, i, int(np.argmin(d[i]))) for i in range(k)]
    return min((ratio for ratio, near in judged if near >= NO_GROUPS_MIN_ROWS), default=math.inf)


def valley_against_null(
    Z: np.ndarray,
    k: int,
    rng: np.random.Generator,
    sample_size: int = STABILITY_SAMPLE,
    groups: Sequence[np.ndarray] = (),
) -> tuple[float, float]:
    """(the deepest valley between k-means' clusters of Z (n, d) and their nearest neighbours; the median
    of the same over ``NULL_REFERENCES`` data with no groups: uniform over the box of Z's principal axes,
    the gap statistic's reference, Tibshirani, Walther & Hastie 2001). On a drawn sample, on the columns
    not in ``groups`` where there are any (one-hot values are apart by construction, groups or not).
    The reference matters: k-means' cells of a uniform spread have valleys of their own, shallower than
    between groups (each ratio inf when no pair has enough rows near its centres to judge)."""
    drawn = rng.choice(len(Z), min(len(Z), sample_size), replace=False)
    onehot = np.concatenate([np.asarray(g, np.int64) for g in groups]) if len(groups) else np.zeros(0, np.int64)
    numeric = np.setdiff1d(np.arange(Z.shape[1]), onehot)
    X = Z[drawn][:, numeric if len(numeric) else slice(None)].astype(np.float64)
    valley = _deepest_valley(X, k, int(rng.integers(2**31 - 1)))
    mean = X.mean(axis=0)
    _, _, axes = np.linalg.svd(X - mean, full_matrices=False)
    scores = (X - mean) @ axes.T
    lo, hi = scores.min(axis=0), scores.max(axis=0)
    null = [
        _deepest_valley(rng.uniform(lo, hi, size=scores.shape) @ axes + mean, k, int(rng.integers(2**31 - 1)))
        for _ in range(NULL_REFERENCES)
    ]
    return valley, float(np.median(null))


def _no_groups_reason(weak: str, k: int, valley: float, null: float) -> str:
    where = (
        "too few rows lie near each centre to show a thinning between them"
        if math.isinf(valley)
        else f"the deepest thinning between a cluster and its nearest neighbour leaves {valley:.2f} as many rows "
        f"midway as near the centres, no deeper than in data with no groups spread over the same extent "
        f"({null:.2f}; groups need under {NO_GROUPS_FACTOR} of that)"
    )
    return (
        f"no stable groups: {weak}, and at k = {k} {where}. The rows look like one continuous spread, so they "
        "are kept as one group (k = 1); give k to cut them anyway."
    )


def valley_ratio(Z: np.ndarray, labels: np.ndarray, centers: np.ndarray, i: int, j: int) -> tuple[float, int]:
    """How flat the data is between clusters ``i`` and ``j``: the rows of both projected on the line
    through their centres (``i`` at 0, ``j`` at 1), the count within ``VALLEY_WINDOW`` of the midpoint
    over the smaller count within it of a centre; and that smaller count (how much the ratio rests on).
    Near 1 or above: no gap between them; well below 1: a valley."""
    rows = Z[(labels == i) | (labels == j)]
    u = centers[j] - centers[i]
    t = (rows - centers[i]) @ u / max(float(u @ u), 1e-12)
    near = min(int(np.sum(np.abs(t) < VALLEY_WINDOW)), int(np.sum(np.abs(t - 1) < VALLEY_WINDOW)))
    mid = int(np.sum(np.abs(t - 0.5) < VALLEY_WINDOW))
    return (mid / near if near else math.inf), near


def flat_pair(Z: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> tuple[int, int, float] | None:
    """The first cluster and its nearest neighbour (by centre) with no valley between them, judged on
    enough rows, as (i, j, ratio); None when every cluster is set apart from its nearest neighbour."""
    d = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    for i in range(len(centers)):
        j = int(np.argmin(d[i]))
        ratio, near = valley_ratio(Z, labels, centers, i, j)
        if near >= VALLEY_MIN_ROWS and ratio >= VALLEY:
            return i, j, ratio
    return None


def _flat_splits(
    Z: np.ndarray,
    ks: list[int],
    stability: list[float],
    rng: np.random.Generator,
    sample_size: int,
    partition: Partition,
) -> dict[int, float]:
    """For the stable ks, finest first, until one passes: k -> the valley ratio of a pair of its
    clusters with no valley between them (``partition``'s clusters of a drawn sample). The ks not in the result
    passed or were not needed."""
    out: dict[int, float] = {}
    drawn = rng.choice(len(Z), min(len(Z), sample_size), replace=False)
    for k, s in sorted(zip(ks, stability, strict=True), reverse=True):
        if s < STABLE or k < 2:
            continue
        assign, centers = partition(Z[drawn], k, int(rng.integers(2**31 - 1)))
        found = flat_pair(Z[drawn], assign(Z[drawn]), centers)
        if found is None:
            break
        out[k] = found[2]
    return out


def suggest_stable_k(
    ks: list[int], stability: list[float], flat: dict[int, float] | None = None
) -> tuple[int, str, int | None, str]:
    """(k, criterion, runner-up k, the sentence why) from the stability of each k; ``flat``: the stable
    ks passed over because two of their clusters have no valley between them (k -> valley ratio)."""
    flat = flat or {}
    st = np.asarray(stability, dtype=float)
    stable = [i for i in range(len(ks)) if st[i] >= STABLE]
    if stable:
        kept = [i for i in stable if ks[i] not in flat]
        if kept:
            pick = max(kept, key=lambda i: ks[i])
            why = (
                f"k = {ks[pick]}: the most clusters that still come back on disjoint halves of the data "
                f"(stability {st[pick]:.2f} >= {STABLE})"
            )
        else:  # every stable k cuts a flat spread: the coarsest cuts least
            pick = min(stable, key=lambda i: ks[i])
            why = (
                f"k = {ks[pick]}: the fewest clusters that come back on disjoint halves of the data "
                f"(stability {st[pick]:.2f} >= {STABLE}); every stable k cuts some group where the data does "
                "not thin out, so the groups may be parts of a continuum"
            )
        if flat and kept:
            passed = sorted(flat)
            one = len(passed) == 1
            why += (
                f", each set apart from its nearest neighbour by a thinning of the data; "
                f"{' and '.join(f'k = {k}' for k in passed)} also come{'s' if one else ''} back but "
                f"cut{'s' if one else ''} a group where it does not thin out (as many rows between the two "
                f"parts as near their centres: {', '.join(f'{flat[k]:.2f}' for k in passed)})"
            )
        below = [i for i in kept if i != pick]  # the next-finest kept k, else the most stable other
        others = below or [i for i in range(len(ks)) if i != pick]
        ru = max(others, key=lambda i: ks[i] if below else st[i]) if others else None
        if ru is None:
            return ks[pick], "stability", None, why + "."
        why += f"; runner-up k = {ks[ru]} (stability {st[ru]:.2f})"
        beyond = [i for i in range(len(ks)) if ks[i] > ks[pick] and ks[i] not in flat]
        nxt = min(beyond, key=lambda i: ks[i]) if beyond else None
        if nxt is not None:
            why += f"; k = {ks[nxt]} falls to {st[nxt]:.2f}"
        clear = bool(kept) and (nxt is None or st[pick] - st[nxt] > 0.1) and st[pick] - st[ru] > -0.05
        return ks[pick], "stability", ks[ru], why + (" — a clear choice." if clear else " — a close call.")
    best = int(np.argmax(st))
    others = [i for i in range(len(ks)) if i != best]
    ru = max(others, key=lambda i: st[i]) if others else None
    reason = (
        f"k = {ks[best]}: no k comes back reliably (the best stability is {st[best]:.2f} < {STABLE}), "
        "so the structure is weak; this is the most stable k"
        + (f", runner-up k = {ks[ru]} ({st[ru]:.2f})." if ru is not None else ".")
    )
    return ks[best], "stability (none stable)", (ks[ru] if ru is not None else None), reason


def suggest_nested_k(
    ks: list[int], stability: list[float], stable: float = NESTED_STABLE
) -> tuple[int, str, int | None, str]:
    """The documents' rule: (k, criterion, runner-up k, the sentence why). The first run of ks that come back
    (stability at least ``stable``), counting up from the coarsest: past its end k-means cuts the topics differently
    on each half, and a finer k that comes back again later (AG News: its 4 topics, and 8 again) is a level below,
    not reached through stable steps. Of the run, the finest k that comes back as clearly as a table's segments
    (``STABLE``) where there is one (crisp groups: Banking77's card queries against the rest), else its finest k.
    No k that comes back: no groups (k = 1, criterion ``NO_GROUPS``)."""
    st = np.asarray(stability, dtype=float)
    first = next((i for i in range(len(ks)) if st[i] >= stable), None)
    if first is None:
        best = int(np.argmax(st))
        return (
            1,
            NO_GROUPS,
            ks[best],
            f"no stable groups: from k = {ks[0]} to {ks[-1]}, no k comes back on disjoint halves of the data (the "
            f"most stable, k = {ks[best]}, has stability {st[best]:.2f}; {stable} comes back). The texts look like "
            "one spread of topics, so they are kept as one group (k = 1); give k to cut them anyway.",
        )
    end = first
    while end + 1 < len(ks) and st[end + 1] >= stable:
        end += 1
    crisp = [i for i in range(first, end + 1) if st[i] >= STABLE]
    pick = max(crisp) if crisp else end
    why = f"k = {ks[pick]}: the most clusters that " + (
        f"come back on disjoint halves of the data as clearly as distinct groups do (stability {st[pick]:.2f} >= "
        f"{STABLE})"
        if crisp
        else f"still come back on disjoint halves of the data (stability {st[pick]:.2f} >= {stable}, as topics that "
        f"overlap do), with every coarser k from k = {ks[first]} coming back too"
    )
    if pick + 1 < len(ks):
        why += f"; k = {ks[pick + 1]} {'comes back less clearly' if crisp else 'falls'}: {st[pick + 1]:.2f}"
    again = [ks[i] for i in range(end + 2, len(ks)) if st[i] >= stable]
    if again:
        why += f" (k = {', '.join(map(str, again))} come{'s' if len(again) == 1 else ''} back again: a finer level)"
    runner_up = ks[pick - 1] if pick > first else (ks[pick + 1] if pick + 1 < len(ks) else None)
    return ks[pick], "stability", runner_up, why + "."
