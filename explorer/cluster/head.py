"""A clustering head trained on frozen features, SCAN's first step (Van Gansbeke et al. 2020, "SCAN: Learning to
Classify Images without Labels"): mine each row's nearest neighbours in the feature space, then train a softmax
head so that a row and a neighbour are put in the same cluster, while the clusters stay used (an entropy term on
the batch's mean assignment). It follows the neighbourhoods of the features where k-means cuts the space into
round cells around centres: on a pretrained image encoder's features, photos of one kind are more often near
each other than near the centre of their kind.

Neighbours in a weak feature space are often of another kind (of a CIFAR-10 photo's 5 nearest photos in
EfficientNet-Lite0's features, ~62% share its class), and one head trained on them lands in one of many
local optima. So several heads are trained at once from different starts; the half with the lowest loss
are matched to the best one's clusters (Hungarian, on their labels) and their assignments averaged.

The head is linear: what assigns a new row is the heads' weights, plain arrays saved with the run
(``assign.npz``): the same softmax the fit used. Mining the neighbours costs n^2 d, so the head is fitted on
at most ``HEAD_MAX_ROWS`` rows (the pipeline assigns the others with the head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.cluster.methods import member_means, refit_with
from explorer.cluster.registry import Assigned, FitInputs, MethodSpec, State, register
from explorer.cluster.types import ClusterConfig, ClusterResult
from explorer.errors import Stopped
from explorer.events import StopCheck

HEAD_MAX_ROWS = 20_000  # the neighbour search is n^2 d: 20,000 x 1,280 features ~1 TFLOP, a minute on 2 cores


@dataclass(frozen=True)
class HeadSettings:
    """How the head is trained; the defaults are measured on 3,000 CIFAR-10 photos' EfficientNet-Lite0 features
    (bench/measure/photos.py): 5 neighbours (62% of them share the photo's class, 56% of 20), a softmax
    temperature of 0.5 (1.0 left the clusters soft and the loss flat: ACC 0.48 against 0.56), 10 heads."""

    neighbors: int = 5
    heads: int = 10
    temperature: float = 0.5
    entropy_weight: float = 5.0  # SCAN's weight of the clusters' entropy term
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    steps: int = 1_200  # optimizer steps in all (100 epochs of 3,000 rows); epochs = steps / batches, 20 to 100


HEAD = HeadSettings()


def _neighbours(X: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int64: each row's k nearest other rows of X (n, d), exact."""
    from explorer.neighbors import torch_knn

    idx, _ = torch_knn(X, X, min(k + 1, len(X)), "cpu", chunk=2048)
    own = idx == np.arange(len(X))[:, None]
    keep = np.where(own.any(1, keepdims=True), ~own, np.arange(idx.shape[1])[None, :] < idx.shape[1] - 1)
    return idx[keep].reshape(len(X), -1)[:, :k]


def _match(reference: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k,) the permutation of ``labels``' clusters that best matches ``reference``'s: column order for
    a head's outputs."""
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((k, k))
    np.add.at(counts, (reference, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    order = np.empty(k, dtype=np.int64)
    order[rows] = cols
    return order


def train_heads(
    X: np.ndarray, k: int, seed: int | None, settings: HeadSettings = HEAD, should_stop: StopCheck | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``settings.heads`` linear heads on X (n, d) float32: (weights (h, k, d), biases (h, k), losses (h,))
    of the kept heads, their clusters matched to the best head's, best first."""
    import torch

    n, d = X.shape
    generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    nb = torch.from_numpy(_neighbours(X, min(settings.neighbors, n - 1)))
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    h, t = settings.heads, settings.temperature
    linear = torch.nn.Linear(d, h * k)
    with torch.no_grad():  # torch's default init, drawn from this fit's generator (a seed gives one answer)
        bound = 1.0 / d**0.5
        linear.weight.uniform_(-bound, bound, generator=generator)
        linear.bias.uniform_(-bound, bound, generator=generator)
    opt = torch.optim.Adam(linear.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    batches = max(1, -(-n // settings.batch_size))
    epochs = int(np.clip(settings.steps // batches, 20, 100))
    losses = torch.zeros(h)
    for _ in range(epochs):
        if should_stop is not None and should_stop():
            raise Stopped("the clustering head's training was stopped.")
        order = torch.randperm(n, generator=generator)
        losses.zero_()
        for lo in range(0, n, settings.batch_size):
            a = order[lo : lo + settings.batch_size]
            b = nb[a, torch.randint(0, nb.shape[1], (len(a),), generator=generator)]
            pa = (linear(Xt[a]) / t).view(-1, h, k).softmax(-1)
            pb = (linear(Xt[b]) / t).view(-1, h, k).softmax(-1)
            agree = -torch.log((pa * pb).sum(-1).clamp_min(1e-7)).mean(0)  # (h,): a row and its neighbour agree
            mean = pa.mean(0)
            spread = (mean * torch.log(mean.clamp_min(1e-7))).sum(-1)  # (h,): minus the clusters' entropy
            loss = agree + settings.entropy_weight * spread
            losses += loss.detach()
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
    W = linear.weight.detach().view(h, k, d).numpy()
    B = linear.bias.detach().view(h, k).numpy()
    kept = np.argsort(losses.numpy(), kind="stable")[: max(1, h // 2)]
    logits = np.einsum("nd,hkd->hnk", X, W[kept]) + B[kept][:, None, :]
    reference = logits[0].argmax(1)
    Ws, Bs = [], []
    for j, head in enumerate(kept):
        order_k = _match(reference, logits[j].argmax(1), k)
        Ws.append(W[head][order_k])
        Bs.append(B[head][order_k])
    return np.stack(Ws).astype(np.float32), np.stack(Bs).astype(np.float32), losses.numpy()[kept] / batches


def head_proba(state: State, Z: np.ndarray) -> np.ndarray:
    """(m, k) float32: the mean of the heads' softmax (``state``: weights (h, k, d), biases (h, k),
    temperature (1,)) at the rows Z (m, d)."""
    W, B, t = state["weights"], state["biases"], float(np.asarray(state["temperature"]).reshape(-1)[0])
    logits = (np.einsum("md,hkd->hmk", np.asarray(Z, np.float32), W) + B[:, None, :]) / t
    logits -= logits.max(-1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(-1, keepdims=True)
    return p.mean(0).astype(np.float32)


def _fit_head(Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs()) -> ClusterResult:
    """The heads on Z (n, d): labels (n,), proba (n, k), the members' means as centres, the heads as state."""
    X = np.ascontiguousarray(Z, dtype=np.float32)
    W, B, losses = train_heads(X, k, cfg.random_state, HEAD, inputs.should_stop)
    state: State = {"weights": W, "biases": B, "temperature": np.array([HEAD.temperature], np.float32)}
    proba = head_proba(state, X)
    labels = proba.argmax(1).astype(np.int64)
    info = {
        "neighbors": HEAD.neighbors,
        "heads_trained": HEAD.heads,
        "heads_kept": len(W),
        "temperature": HEAD.temperature,
        "best_loss": round(float(losses[0]), 4),
    }
    found = len(np.unique(labels))
    if found < k:
        info["n_empty_clusters"] = k - found
    return ClusterResult(labels, k, "head", member_means(Z, labels, k), proba, info=info, state=state)


def _head_state(result: ClusterResult, Z: np.ndarray, cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> State:
    if result.state is None:
        raise ValueError("a clustering head's result carries its heads (state).")
    return dict(result.state)


def _assign_head(state: State, Z_new: np.ndarray) -> Assigned:
    proba = head_proba(state, Z_new)
    return Assigned(proba.argmax(1).astype(np.int64), proba, "the saved clustering heads' softmax")


register(
    MethodSpec(
        "head",
        "clustering head on the features (SCAN: neighbours agree)",
        "the clustering head",
        _fit_head,
        refit_with(_fit_head, lambda c: f"the clustering head ({HEAD.heads} heads, {HEAD.neighbors} neighbours)"),
        assign_state=_head_state,
        assign=_assign_head,
        soft=True,
        max_rows=HEAD_MAX_ROWS,
    )
)
