"""Round groups or chained ones: the table default's choice between the mixture's partition and Genie's.

The mixture (k-means refined) cuts the rows into round pieces; Genie (:mod:`explorer.cluster.genie`)
follows a group along its nearest neighbours, however it curves. Which partition the data bear out is
read from the rows' own nearest-neighbour graph, without labels: the share of its edges (each row to
its ``SHAPE_NEIGHBORS`` nearest) whose two rows a partition puts in different clusters. A partition that
follows the groups cuts few edges, where the data thin out; one that cuts through a curved or
ring-shaped group cuts many, where it is dense. Genie's partition is kept when it cuts under
``SHAPE_CUT_FACTOR`` times the mixture's share; on blob-like segments the two cut alike (or the mixture
less) and the mixture's is kept. Measured on a battery of shapes, real sets and the table suite
(``python -m bench.measure.shapes``): it keeps the mixture on every real and suite table and takes Genie
on moons, circles, spirals and chained rings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from explorer.cluster.registry import FitInputs, spec
from explorer.cluster.types import ClusterConfig, ClusterResult
from explorer.sampling import sample_rows

SHAPE_NEIGHBORS = 10  # the nearest neighbours of each row whose edges a partition may cut
SHAPE_CUT_FACTOR = 0.5  # Genie's partition is kept when it cuts under this share of the mixture's cut edges
SHAPE_SAMPLE = 5_000  # the two partitions are compared on at most this many rows (Genie's tree in many columns
# costs ~n^2: on 20,000 rows x 24 columns over a minute, on 5,000 a few seconds); Genie is fitted on all when kept


def cut_fraction(neighbours: np.ndarray, labels: np.ndarray) -> float:
    """Share of the edges row -> neighbour (``neighbours`` (n, m) row indices) whose rows have different labels (n,)."""
    return float((labels[neighbours] != labels[:, None]).mean())


def nearest_rows(Z: np.ndarray, m: int = SHAPE_NEIGHBORS) -> np.ndarray:
    """(n, m) the indices of each row's ``m`` nearest other rows of Z (n, d)."""
    from sklearn.neighbors import NearestNeighbors

    m = min(m, len(Z) - 1)
    return NearestNeighbors(n_neighbors=m + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]


def prefer_shape(Z: np.ndarray, result: ClusterResult, cfg: ClusterConfig) -> ClusterResult:
    """``result`` (the mixture's clusters of Z (n, d)), or Genie's with the same k where they cut clearly
    fewer of the nearest-neighbour graph's edges (compared on a seeded sample of ``SHAPE_SAMPLE`` rows);
    ``info["shape"]`` records both shares and the reason in words (``why``). Not tried for one cluster, or
    above Genie's ``max_rows``."""
    genie = spec("genie")
    n = len(Z)
    if result.k < 2 or (genie.max_rows is not None and n > genie.max_rows):
        why = (
            "one group: nothing to compare"
            if result.k < 2
            else f"{n:,} rows: more than Genie takes ({genie.max_rows:,}), so the mixture's round groups are kept"
        )
        return replace(result, info={**result.info, "shape": {"kept": result.method, "why": why}})
    assert genie.fit is not None
    drawn = sample_rows(n, SHAPE_SAMPLE, cfg.random_state)
    on_sample = genie.fit(Z[drawn], result.k, cfg, FitInputs())
    neighbours = nearest_rows(Z[drawn])
    cut_mix, cut_genie = cut_fraction(neighbours, result.labels[drawn]), cut_fraction(neighbours, on_sample.labels)
    shape: dict[str, Any] = {
        "cut_mixture": cut_mix,
        "cut_genie": cut_genie,
        "neighbors": int(neighbours.shape[1]),
        "rows_compared": len(drawn),
    }
    if cut_genie < SHAPE_CUT_FACTOR * cut_mix:
        other = on_sample if len(drawn) == n else genie.fit(Z, result.k, cfg, FitInputs())
        shape.update(
            kept="genie",
            why=(
                f"the groups are chained or curved rather than round: Genie's clusters, which follow the rows' nearest "
                f"neighbours, separate {cut_genie:.1%} of the links between each row and its {shape['neighbors']} "
                f"nearest, against {cut_mix:.1%} for the mixture's round clusters, so Genie's are kept"
            ),
        )
        return replace(other, sweep=result.sweep, info={**other.info, "shape": shape, "mixture": result.info})
    shape.update(
        kept=result.method,
        why=(
            f"the groups are round rather than chained: the mixture's clusters separate {cut_mix:.1%} of the links "
            f"between each row and its {shape['neighbors']} nearest, Genie's {cut_genie:.1%} (Genie's are kept only "
            f"under {SHAPE_CUT_FACTOR:g} of the mixture's), so the mixture's are kept"
        ),
    )
    return replace(result, info={**result.info, "shape": shape})
