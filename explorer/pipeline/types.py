"""The types of a run: its configuration and its result, apart from the code that makes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.cluster.types import ClusterConfig, ClusterResult
from explorer.dataset import Dataset
from explorer.explain import ExplainConfig, Explanation
from explorer.project import ProjectionConfig
from explorer.reducers import ModelConfig, Reducer

if TYPE_CHECKING:  # pragma: no cover
    pass


@dataclass
class PipelineConfig:
    """Every choice of a run. Saved whole in the run's config.json."""

    model: ModelConfig = field(default_factory=ModelConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    device: str = "auto"
    seed: int = 0
    explain: ExplainConfig | None = field(default_factory=ExplainConfig)  # None: clusters are not explained
    reproducible: bool = True  # False: UMAP and its neighbour search unseeded, on every core (faster, runs differ)

    @property
    def umap_seed(self) -> int | None:
        """The seed the UMAPs and the neighbour graph take: None (parallel, unseeded) unless reproducible."""
        return self.seed if self.reproducible else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineConfig:
        clus = dict(d.get("cluster", {}))
        if "k_range" in clus:
            clus["k_range"] = tuple(clus["k_range"])
        return cls(
            model=ModelConfig.from_dict(dict(d.get("model", {}))),
            cluster=ClusterConfig(**clus),
            projection=ProjectionConfig(**d.get("projection", {})),
            device=d.get("device", "auto"),
            seed=int(d.get("seed", 0)),
            reproducible=bool(d.get("reproducible", True)),
            explain=ExplainConfig(**d["explain"])
            if d.get("explain")
            else (ExplainConfig() if "explain" not in d else None),
        )


@dataclass
class RunResult:
    """Everything a run produced. Saved by :func:`explorer.runs.files.save_run`, loaded back identical."""

    config: PipelineConfig
    dataset: Dataset
    reducer: Reducer | None  # None when the model kind is "none"
    Z: np.ndarray  # (n, latent) float32
    clusters: ClusterResult
    embedding: np.ndarray  # (n, 2) or (n, 3) float32, the projection shown
    anomaly: np.ndarray  # (n,) float32, reconstruction error (higher = more anomalous)
    metrics: dict[str, Any]
    history: list[dict]
    device: str
    device_description: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None
    created: str | None = None
    explanation: Explanation | None = None  # what each cluster is (explorer.explain); None when not asked for
    fitted: np.ndarray | None = (
        None  # (n,) bool: rows the costly stages fitted on (explorer.neighbors); None: every row
    )
    preprocessing: dict | None = None  # preprocess.json (explorer.data.preprocessing); set by save_run / load_run
    assignment: dict | None = None  # arrays that assign new rows to the clusters (explorer.apply.assign)

    @property
    def labels(self) -> np.ndarray:
        return self.clusters.labels
