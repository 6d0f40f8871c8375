"""The clustering methods, each declared once: what it can do, how it is fitted, the state it keeps to
assign new rows and how it is fitted again on a subsample (scikit-learn's estimator tags, as data).

A method is one :class:`MethodSpec`, registered beside its fit function: :mod:`explorer.cluster.methods`
(k-means, GMM, the mixture, HDBSCAN, agglomerative, N2D), :mod:`explorer.cluster.genie` (Genie) and
:mod:`explorer.cluster.deep` (DEC, IDEC). ``explorer/cluster/__init__`` imports them, and Python runs a
package's ``__init__`` before any of its modules, so the registry is complete once anything under
``explorer.cluster`` has been imported.
Everything else asks it: ``spec(name).soft``, ``method_names()`` (the choices of ``ClusterConfig.method``,
the CLI and the pages), ``spec(name).label``. Adding a method is one ``register(MethodSpec(...))``.

New rows are assigned from arrays the method keeps at fit time, as hdbscan's ``PredictionData``:
``assign_state(result, Z, cfg, groups)`` gives them (plain arrays, saved in a run's ``assign.npz``) and
``assign(state, Z_new)`` uses nothing else. A method with no such rule (``assign`` None: HDBSCAN,
agglomerative, Genie) has its new rows assigned by the vote of their nearest training rows
(:mod:`explorer.neighbors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from explorer.errors import InputError
from explorer.events import StopCheck
from explorer.validation import Constraint

if TYPE_CHECKING:  # pragma: no cover
    from explorer.cluster.types import ClusterConfig, ClusterResult, KSweep
    from explorer.neighbors import Neighbors

State = dict[str, np.ndarray]  # what assigns new rows: plain numeric arrays (saved in assign.npz, never pickled)
Refit = Callable[[np.ndarray, int], np.ndarray]  # (sample (m, d), seed) -> labels (m,)
Partition = Callable[[np.ndarray, int, int], tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]]
"""A clustering as the stability sweep asks it: (rows X (m, d), k, seed) -> (the rule that assigns rows (r, d) to
the k clusters fitted on X, labels (r,); their centres (k, d))."""
STABILITY_EM_STEPS = 30  # a method's own fits in the stability sweep (sweep_partition: the mixture's EM from k-means'
# start) take at most these many steps (its fit: 200). Where the groups come back it converges in 10 to 15 (words and
# dates, k = 4); the cap keeps the sweep's time down (the planted customers, 8,000 rows drawn: 62 s against 228 s with
# 200 steps, load 5)


@dataclass(frozen=True)
class FitInputs:
    """What a fit may use beside Z, k and the config."""

    groups: Sequence[np.ndarray] = ()  # the one-hot columns of each categorical column of Z (the mixture)
    knn: Neighbors | None = None  # the run's nearest-neighbour graph of Z's rows (a UMAP inside the method)
    embedding: np.ndarray | None = None  # the method's UMAP of Z, made already by the k sweep (``embeds``)
    should_stop: StopCheck | None = None  # ends a step with nothing partial to keep (a UMAP)
    em_steps: int = 200  # the most EM steps of a mixture (MixedMixture's max_iter); the k sweep's fits on halves take
    # fewer (STABILITY_EM_STEPS)


class Assigned(NamedTuple):
    """New rows assigned by a method's rule: labels (m,) int64, proba (m, k) float32 or None, the rule in words."""

    labels: np.ndarray
    proba: np.ndarray | None
    how: str


@dataclass(frozen=True)
class MethodSpec:
    """One clustering method: what it can do and the functions that do it.

    fit(Z (n, d), k, cfg, inputs) -> ClusterResult; None where the method is not fitted on Z alone
        (DEC / IDEC train the autoencoder: :func:`explorer.cluster.deep.refine`). ``k`` is None only
        for a method that finds k itself.
    refit(cfg, groups) -> (fit again: (sample (m, d), seed) -> labels (m,), what it fits, in words): the
        method as the run configured it (``cfg.k``: the clusters the run found), on a subsample of the
        space it clustered (per-cluster stability, :mod:`explorer.explain.resample`).
    assign_state(result, Z (n, d), cfg, groups) -> the arrays that assign new rows: the fitted model's
        own where the fit kept them (``ClusterResult.state``), else rebuilt from the result.
    assign(state, Z_new (m, d)) -> :class:`Assigned`, from those arrays alone (rows in the space the
        method clusters: for a method that ``embeds``, their place in its embedding).
    """

    name: str  # ClusterConfig.method, as saved in a run's config.json
    label: str  # for people: the pages' and the CLI's choices
    short: str  # in sentences: "HDBSCAN's noise has no cluster ..."
    fit: Callable[[np.ndarray, Any, ClusterConfig, FitInputs], ClusterResult] | None
    refit: Callable[[ClusterConfig, Sequence[np.ndarray]], tuple[Refit, str]]
    assign_state: Callable[[ClusterResult, np.ndarray, ClusterConfig, Sequence[np.ndarray]], State] | None = None
    assign: Callable[[State, np.ndarray], Assigned] | None = None  # None: new rows by their neighbours' vote
    needs_k: bool = True  # takes a number of clusters (from the k sweep when the config gives none)
    finds_k: bool = False  # finds the number of clusters itself (the config's k is ignored)
    soft: bool = False  # gives soft assignments (ClusterResult.proba)
    noise: bool = False  # may label rows -1 (noise), a label of no cluster
    refines_model: bool = False  # trains the autoencoder further while clustering (a model to copy first)
    embeds: bool = False  # clusters its own UMAP of Z (ClusterResult.embedding): k swept there, new rows placed there
    max_rows: int | None = None  # the most rows it can be fitted on (the pipeline fits a sample above)
    k_criterion: str = "silhouette"  # the k sweep's rule when the config names none
    sweep: Callable[..., KSweep] | None = None  # the method's own k sweep, its k_criterion's: (Z, k_range, *,
    # random_state, should_stop, on_progress) -> KSweep (the clustering head's modularity); None: the shared sweeps
    settings: tuple[str, ...] = ()  # the ClusterConfig fields it reads beside k (the pages show their widgets)

    def __post_init__(self) -> None:
        if self.needs_k and self.finds_k:
            raise ValueError(f"method '{self.name}': needs_k and finds_k exclude each other.")
        if (self.assign is None) != (self.assign_state is None):
            raise ValueError(f"method '{self.name}': assign and assign_state come together (or neither: the vote).")


def sweep_partition(method: MethodSpec, cfg: ClusterConfig, groups: Sequence[np.ndarray] = ()) -> Partition | None:
    """The clustering whose stability picks k (a :data:`Partition`): ``method`` itself, as
    ``cfg`` configures it (with at most ``STABILITY_EM_STEPS`` EM steps), where stability is its own k rule
    (``k_criterion``: the mixture) and it has a rule to assign rows, unless the documents' rule is asked for
    (``cfg.nested_k``: calibrated on k-means); None (k-means) otherwise."""
    fit, assign_state, assign = method.fit, method.assign_state, method.assign
    if method.k_criterion != "stability" or cfg.nested_k or fit is None or assign_state is None or assign is None:
        return None
    from dataclasses import replace

    inputs = FitInputs(groups=groups, em_steps=STABILITY_EM_STEPS)

    def partition(X: np.ndarray, k: int, seed: int) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
        c = replace(cfg, k=k, random_state=seed)
        result = fit(X, k, c, inputs)
        state = assign_state(result, X, c, groups)
        assert result.centers is not None, "a method with an assign rule keeps its centres"
        return (lambda rows: assign(state, rows).labels), np.asarray(result.centers)

    return partition


_SPECS: dict[str, MethodSpec] = {}


def register(method: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add ``method`` to the registry (``replace``: over one of the same name); returns it."""
    if method.name in _SPECS and not replace:
        raise ValueError(f"a clustering method named '{method.name}' is registered already.")
    _SPECS[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method (a test's own, registered for the test)."""
    _SPECS.pop(name, None)


def spec(name: str) -> MethodSpec:
    """The registered method called ``name``; InputError naming the known ones otherwise."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise InputError(f"method {name!r} is not known; choose one of: {', '.join(_SPECS)}.") from None


def specs() -> tuple[MethodSpec, ...]:
    """Every registered method, in the order registered."""
    return tuple(_SPECS.values())


def method_names() -> tuple[str, ...]:
    """The registered methods' names, in the order registered (the choices people are offered)."""
    return tuple(_SPECS)


def method_labels() -> dict[str, str]:
    """name -> the label people read."""
    return {s.name: s.label for s in _SPECS.values()}


class RegisteredMethod(Constraint):
    """The name of a registered clustering method (checked against the registry when a config is validated)."""

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in _SPECS

    def describe(self) -> str:
        return "one of: " + ", ".join(_SPECS)

    def message(self, name: str, value: Any) -> str:
        return f"{name} {value!r} is not known; choose one of: {', '.join(_SPECS)}."
