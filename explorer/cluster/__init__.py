"""Clustering a latent space ``Z``: the methods and their settings, the k sweep and k by stability, the
mixture for numbers and categories, Genie, the clustering head on frozen features (SCAN), and the deep
methods that refine an autoencoder (DEC, IDEC, DEC-DA).

``cluster(Z, ClusterConfig(...)) -> ClusterResult`` is the one call; the submodules are its parts.
Each method is registered where it is defined (:mod:`explorer.cluster.registry`): importing ``methods``,
``genie``, ``head`` and ``deep`` here fills the registry before any module of the package is used.
"""

from explorer.cluster import (
    deep,  # noqa: F401  (registers DEC and IDEC)
    genie,  # noqa: F401  (registers Genie)
    head,  # noqa: F401  (registers the clustering head)
)
from explorer.cluster.methods import cluster
from explorer.cluster.sweep import sweep_k
from explorer.cluster.types import ClusterConfig, ClusterResult, KSweep, cluster_sizes
from explorer.project import umap_embed

__all__ = ["ClusterConfig", "ClusterResult", "KSweep", "cluster", "sweep_k", "cluster_sizes", "umap_embed"]
