"""Typical and borderline members of each cluster, and for any row: its cluster, the runner-up and
the margin between them.

The margin is how clearly a row belongs: with soft assignments (GMM, N2D, the mixture) the
probability of its cluster minus that of the runner-up; otherwise, from the cluster centres in the
space that was clustered: the distance from the row to the nearest boundary between its centre and
another (the bisecting plane of the two centres, where a nearest-centre assignment would flip; that
other cluster is the runner-up), over the distance from its own centre to that plane, capped at 1.
Both lie in [0, 1]: 0 on the boundary, 1 as deep inside as the centre or deeper. Typical members are the
ones nearest their cluster's centre; borderline ones have the smallest margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Membership:
    """Per row (n,): the runner-up cluster (-1 when there is none) and the margin in [0, 1]; per
    row, the distance to its own cluster's centre (NaN for noise)."""

    runner_up: np.ndarray
    margin: np.ndarray
    distance: np.ndarray
    source: str  # "probabilities" | "distances"


def membership(
    Z: np.ndarray, labels: np.ndarray, centers: np.ndarray | None, proba: np.ndarray | None, clusters: list[int]
) -> Membership:
    """Margins and runner-ups of every row of ``Z`` (n, d) for ``labels`` (n,) (cluster numbers in
    ``clusters``; -1 is noise), from ``proba`` (n, k) when given, else from ``centers`` (k, d) in Z's space
    (the mean of each cluster's members where no centres are given)."""
    n = len(labels)
    Z = np.asarray(Z, np.float32)
    if centers is None or len(centers) != len(clusters) or np.isnan(centers).any():
        centers = (
            np.stack(
                [Z[labels == c].mean(axis=0) if (labels == c).any() else np.full(Z.shape[1], np.nan) for c in clusters]
            )
            if clusters
            else np.zeros((0, Z.shape[1]))
        )
    index = {c: i for i, c in enumerate(clusters)}
    own = np.array([index.get(int(c), -1) for c in labels])
    d = (
        np.sqrt(np.maximum(((Z[:, None, :] - centers[None, :, :]) ** 2).sum(-1), 0))
        if len(clusters) and n * len(clusters) <= 50_000_000
        else _chunked_distances(Z, centers)
    )
    d = np.where(np.isnan(d), np.inf, d)
    distance = np.where(own >= 0, d[np.arange(n), np.maximum(own, 0)], np.nan)
    runner_up = np.full(n, -1, dtype=np.int64)
    margin = np.zeros(n, dtype=np.float32)
    if len(clusters) < 2:
        return Membership(runner_up, np.ones(n, np.float32), distance.astype(np.float32), "distances")
    if proba is not None and proba.shape == (n, len(clusters)):
        p = np.asarray(proba, np.float64).copy()
        mine = np.where(own >= 0, p[np.arange(n), np.maximum(own, 0)], 0.0)
        p[np.arange(n)[own >= 0], own[own >= 0]] = -np.inf
        second = p.argmax(axis=1)
        runner_up = np.asarray(clusters)[second]
        margin = np.clip(mine - p[np.arange(n), second], 0, 1).astype(np.float32)
        source = "probabilities"
    else:
        # distance to the bisecting plane of (own centre, centre j): (d_j^2 - d_own^2) / (2 |c_j - c_own|)
        gap = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
        own_or_nearest = np.where(own >= 0, own, d.argmin(axis=1))
        sep = gap[own_or_nearest]  # (n, k): from each row's centre to every other centre
        with np.errstate(invalid="ignore", divide="ignore"):
            plane = (d**2 - (d[np.arange(n), own_or_nearest] ** 2)[:, None]) / (2 * sep)
        plane[np.arange(n), own_or_nearest] = np.inf
        plane = np.where(np.isfinite(plane), plane, np.inf)
        second = plane.argmin(axis=1)
        runner_up = np.asarray(clusters)[second]
        half = sep[np.arange(n), second] / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = np.clip(np.nan_to_num(plane[np.arange(n), second] / half, nan=0.0, posinf=1.0), 0, 1).astype(
                np.float32
            )
        source = "distances"
    noise = own < 0
    margin[noise] = 0.0
    return Membership(runner_up.astype(np.int64), margin, distance.astype(np.float32), source)


def _chunked_distances(Z: np.ndarray, centers: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    out = np.empty((len(Z), len(centers)), np.float32)
    for s in range(0, len(Z), chunk):
        part = Z[s : s + chunk]
        out[s : s + chunk] = np.sqrt(np.maximum(((part[:, None, :] - centers[None]) ** 2).sum(-1), 0))
    return out


def typical_and_borderline(
    labels: np.ndarray, m: Membership, cluster: int, count: int = 8
) -> tuple[list[int], list[int]]:
    """(row indices of the ``count`` members nearest the centre, of the ``count`` members with the
    smallest margin) of ``cluster``; the borderline list leaves out rows already typical."""
    rows = np.flatnonzero(labels == cluster)
    if not len(rows):
        return [], []
    typical = rows[np.argsort(m.distance[rows], kind="stable")[:count]]
    rest = np.setdiff1d(rows, typical)
    far = np.nan_to_num(m.distance[rest], nan=0.0)
    borderline = rest[np.lexsort((-far, m.margin[rest]))[:count]]  # smallest margin; ties: farthest from the centre
    return [int(i) for i in typical], [int(i) for i in borderline]
