"""The pipeline: Dataset -> reducer -> latent Z -> clusters -> projection -> metrics.

- :mod:`explorer.pipeline.types`: :class:`PipelineConfig` and :class:`RunResult`, importable without the rest;
- :mod:`explorer.pipeline.defaults`: the product's defaults for each kind of data, and why (:func:`default_reason`);
- :mod:`explorer.pipeline.stages`: each stage as a function;
- :mod:`explorer.pipeline.run`: :func:`run_pipeline`, the whole run as one call (the dashboard and the CLI use it).
"""

from explorer.anomaly import anomaly_scores
from explorer.cluster.types import ClusterConfig
from explorer.pipeline.defaults import default_config, default_reason, replace_nested
from explorer.pipeline.run import run_pipeline
from explorer.pipeline.stages import (
    RunContext,
    cluster_latent,
    evaluate_run,
    fit_representation,
    project_for_display,
    reproject,
)
from explorer.pipeline.types import PipelineConfig, RunResult
from explorer.project import ProjectionConfig
from explorer.reducers.config import ModelConfig

__all__ = [
    "ModelConfig",
    "PipelineConfig",
    "ProjectionConfig",
    "ClusterConfig",
    "RunResult",
    "default_config",
    "default_reason",
    "replace_nested",
    "run_pipeline",
    "fit_representation",
    "cluster_latent",
    "project_for_display",
    "anomaly_scores",
    "evaluate_run",
    "reproject",
    "RunContext",
]
