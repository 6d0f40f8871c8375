"""A clustering head trained on frozen features, SCAN's first step (Van Gansbeke et al. 2020, "SCAN: Learning to
Classify Images without Labels"): mine each row's nearest neighbours in the feature space, then train a softmax
head so that a row and a neighbour are put in the same cluster, while the clusters stay used (an entropy term on
the batch's mean assignment). It follows the neighbourhoods of the features where k-means cuts the space into
round cells around centres: on a pretrained image encoder's features, photos of one kind are more often near
each other than near the centre of their kind.

Neighbours in a weak feature space are often of another kind (of a CIFAR-10 photo's 5 nearest photos in
EfficientNet-Lite2's features, ~64% share its class), and one head trained on them lands in one of many
local optima. So several heads are trained at once from different starts; the half with the lowest loss
are matched to the best one's clusters (Hungarian, on their labels) and their assignments averaged.

The head is linear: what assigns a new row is the heads' weights, plain arrays saved with the run
(``assign.npz``): the same softmax the fit used. Mining the neighbours costs n^2 d, so the head is fitted on
at most ``HEAD_MAX_ROWS`` rows (the pipeline assigns the others with the head).

Without k, :func:`sweep_head_k` chooses it (the modularity of the heads' clusters on the neighbour graph); the
per-cluster stability refits a lighter head (``HEAD_REFIT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from explorer.cluster.methods import member_means
from explorer.cluster.registry import Assigned, FitInputs, MethodSpec, Refit, State, register
from explorer.cluster.types import ClusterConfig, ClusterResult, KSweep
from explorer.errors import InputError, Stopped
from explorer.events import StepCallback, StopCheck
from explorer.neighbors import neighbours

if TYPE_CHECKING:  # pragma: no cover
    pass

HEAD_MAX_ROWS = 20_000  # the neighbour search is n^2 d: 20,000 x 1,280 features ~1 TFLOP, a minute on 2 cores


@dataclass(frozen=True)
class HeadSettings:
    """How the head is trained; the defaults were measured on 3,000 CIFAR-10 photos' EfficientNet-Lite0 features
    (bench/measure/photos.py; they hold on Lite2's, the default since): 5 neighbours (62% of them share the photo's
    class, 56% of 20), a softmax temperature of 0.5 (1.0 left the clusters soft and the loss flat: ACC 0.48 against
    0.56), 10 heads."""

    neighbors: int = 5
    heads: int = 10
    temperature: float = 0.5
    entropy_weight: float = 5.0  # SCAN's weight of the clusters' entropy term
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    steps: int = 8_000  # optimizer steps at most; epochs = steps / batches, 20 to 100: 100 epochs up to
    # HEAD_MAX_ROWS. 1,200 steps (100 epochs of 3,000 rows, 30 of 10,000) left the head on all 10,000 CIFAR-10 test
    # photos at ACC 0.614, +0.04 over k-means; 100 epochs: 0.659 (3 seeds, bench/measure/photos.py --per-class 1000)


HEAD = HeadSettings()
HEAD_REFIT = replace(HEAD, heads=6, steps=600)  # the refits of per-cluster stability (explorer.explain.resample):
# 20 refits of the whole head took ~100 s for 3,000 photos; 6 heads of 600 steps are 0.6 x the work at 1,000 rows
# and 0.36 x from ~1,500 (fewer epochs); on 1,000 CIFAR-10 photos the mean Jaccard was 0.621 against 0.635
# (4 heads: 0.593), every cluster within 0.05 of its full-head value
HEAD_SWEEP = replace(HEAD, steps=600)  # the k sweep's heads: 600 steps, half of 3,000 rows' 100 epochs (on 3,000
# CIFAR-10 photos it picked k = 10 as with all of them; sets under ~1,500 rows train 100 epochs either way)
SWEEP_HEADS = 4  # heads trained per k in the head's own k sweep, their modularity averaged (on the clip art the
# lower-loss of 2 heads per k picked 5, 6 and 14 with three seeds; the mean of 6 picked 6 with five)
MODULARITY = "modularity"  # the k sweep's criterion for the head (KSweep.criterion)
MODULARITY_TIE = 0.01  # modularities this close to the best tie, and the tie goes to the most clusters: on CIFAR-10
# photos the curve is flat from 5 to 11 clusters, the maximum fell anywhere in it, and k = 10 scores higher than 5;
# fine clusters can be merged afterwards (Explore), a group left whole is harder to see


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


def _train(
    X: np.ndarray,
    nb: np.ndarray,
    sizes: Sequence[int],
    seed: int | None,
    settings: HeadSettings,
    should_stop: StopCheck | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train one linear head per entry of ``sizes`` (its number of clusters) at once on X (n, d), each row's
    neighbours ``nb`` (n, m): (weights (h, K, d), biases (h, K), mean loss per batch (h,)), K = max(sizes); a head
    of fewer clusters has its other outputs masked off (they stay out of its softmax). The heads share nothing but
    the batches: training them together is training each alone, in one pass."""
    import torch

    n, d = X.shape
    h, K, t = len(sizes), int(max(sizes)), settings.temperature
    generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    nbt = torch.from_numpy(nb)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    mask = torch.from_numpy(np.where(np.arange(K)[None, :] < np.asarray(sizes)[:, None], 0.0, -1e4).astype(np.float32))
    linear = torch.nn.Linear(d, h * K)
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
            b = nbt[a, torch.randint(0, nbt.shape[1], (len(a),), generator=generator)]
            pa = (linear(Xt[a]).view(-1, h, K) / t + mask).softmax(-1)
            pb = (linear(Xt[b]).view(-1, h, K) / t + mask).softmax(-1)
            agree = -torch.log((pa * pb).sum(-1).clamp_min(1e-7)).mean(0)  # (h,): a row and its neighbour agree
            mean = pa.mean(0)
            spread = (mean * torch.log(mean.clamp_min(1e-7))).sum(-1)  # (h,): minus the clusters' entropy
            loss = agree + settings.entropy_weight * spread
            losses += loss.detach()
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
    W = linear.weight.detach().view(h, K, d).numpy()
    B = linear.bias.detach().view(h, K).numpy()
    return W, B, losses.numpy() / batches


def train_heads(
    X: np.ndarray,
    k: int,
    seed: int | None,
    settings: HeadSettings = HEAD,
    should_stop: StopCheck | None = None,
    nb: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``settings.heads`` linear heads on X (n, d) float32: (weights (h, k, d), biases (h, k), losses (h,))
    of the kept heads, their clusters matched to the best head's, best first. ``nb``: each row's neighbours,
    mined already (:func:`explorer.neighbors.neighbours`)."""
    nb = neighbours(X, settings.neighbors) if nb is None else nb
    W, B, losses = _train(X, nb, [k] * settings.heads, seed, settings, should_stop)
    kept = np.argsort(losses, kind="stable")[: max(1, settings.heads // 2)]
    logits = np.einsum("nd,hkd->hnk", X, W[kept]) + B[kept][:, None, :]
    reference = logits[0].argmax(1)
    Ws, Bs = [], []
    for j, head in enumerate(kept):
        order_k = _match(reference, logits[j].argmax(1), k)
        Ws.append(W[head][order_k])
        Bs.append(B[head][order_k])
    return np.stack(Ws).astype(np.float32), np.stack(Bs).astype(np.float32), losses[kept]


def modularity(nb: np.ndarray, labels: np.ndarray) -> float:
    """Newman's modularity of ``labels`` (n,) on the graph of each row's neighbours ``nb`` (n, m), made symmetric:
    the share of the graph's links inside clusters less the share expected were links drawn at random between
    rows of the same degrees. High where clusters keep neighbours together and are not just one big cluster."""
    from scipy.sparse import csr_matrix

    n, m = nb.shape
    A = csr_matrix((np.ones(n * m), (np.repeat(np.arange(n), m), nb.ravel())), shape=(n, n))
    A = ((A + A.T) > 0).astype(np.float64)
    degree = np.asarray(A.sum(1)).ravel()
    _, lab = np.unique(labels, return_inverse=True)
    M = csr_matrix((np.ones(n), (np.arange(n), lab)), shape=(n, lab.max() + 1))
    inside = (M.T @ A @ M).diagonal()
    total = degree.sum()
    return float((inside / total - (M.T @ degree / total) ** 2).sum())


def sweep_head_k(
    Z: np.ndarray,
    k_range: tuple[int, int],
    *,
    random_state: int | None = 0,
    settings: HeadSettings = HEAD_SWEEP,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
) -> KSweep:
    """The head's own k: ``SWEEP_HEADS`` heads for each k in ``k_range`` (inclusive, the top capped at n - 1),
    all trained at once on Z (n, d), and the k whose heads' clusters have the highest mean modularity on the
    graph of the neighbours the head mines (:func:`modularity`), near-ties to the most clusters. Why modularity:
    the head's loss is its cousin (neighbours in one cluster, clusters of even use), and it lands near the true
    number of kinds where k-means' silhouette on the features, nearly flat, does not: seeds 0-2 picked 8, 9, 6 on
    the bundled clip art (5 kinds; the silhouette 14), 9, 10, 9 on 1,000 CIFAR-10 photos and 10, 8, 8 on 3,000
    (10 classes; the silhouette 4 and 3) (bench/measure/photo_k.py). A stop raises :class:`Stopped`."""
    from explorer.cluster.types import KSweep, check_k_range

    X = np.ascontiguousarray(Z, dtype=np.float32)
    lo, hi = check_k_range(k_range)
    ks = list(range(lo, min(hi, len(X) - 1) + 1))
    if not ks:
        raise InputError(f"k_range starts at {lo}, but with {len(X)} rows k must be at most {len(X) - 1}.")
    report = on_progress or (lambda fraction, message: None)
    report(0.0, f"training {SWEEP_HEADS} clustering heads for each k from {ks[0]} to {ks[-1]}")
    nb = neighbours(X, settings.neighbors)
    sizes = [k for k in ks for _ in range(SWEEP_HEADS)]
    W, B, _ = _train(X, nb, sizes, random_state, settings, should_stop)
    scores = []
    for i, k in enumerate(ks):  # the mean over the k's heads: one head's modularity varies with its start
        heads = range(i * SWEEP_HEADS, (i + 1) * SWEEP_HEADS)
        scores.append(float(np.mean([modularity(nb, (X @ W[j, :k].T + B[j, :k]).argmax(1)) for j in heads])))
    best = int(np.argmax(scores))
    pick = max(i for i in range(len(ks)) if scores[i] >= scores[best] - MODULARITY_TIE)  # ties: the finest
    ru = best if pick != best else max((i for i in range(len(ks)) if i != pick), key=lambda i: scores[i], default=None)
    if pick != best:
        why = (
            f"k = {ks[pick]}: its clustering heads keep neighbouring rows together (modularity {scores[pick]:.3f}) "
            f"within {MODULARITY_TIE} of the best, k = {ks[best]} ({scores[best]:.3f}), and a tie goes to the most "
            "clusters — a close call."
        )
    else:
        why = f"k = {ks[pick]}: the clustering head's clusters keep neighbouring rows together best (modularity "
        why += f"{scores[pick]:.3f}" + (f"; runner-up k = {ks[ru]}, {scores[ru]:.3f}" if ru is not None else "") + ")"
        margin = scores[pick] - scores[ru] if ru is not None else 1.0
        why += " — a clear choice." if margin > 0.02 else " — a fair margin." if margin > MODULARITY_TIE else ""
        why += "" if margin > MODULARITY_TIE else " — a close call."
    report(1.0, why)
    nan = [float("nan")] * len(ks)
    return KSweep(
        ks,
        nan,
        list(nan),
        ks[pick],
        MODULARITY,
        runner_up=ks[ru] if ru is not None else None,
        reason=why,
        modularity=scores,
    )


def head_proba(state: State, Z: np.ndarray) -> np.ndarray:
    """(m, k) float32: the mean of the heads' softmax (``state``: weights (h, k, d), biases (h, k),
    temperature (1,)) at the rows Z (m, d)."""
    W, B, t = state["weights"], state["biases"], float(np.asarray(state["temperature"]).reshape(-1)[0])
    logits = (np.einsum("md,hkd->hmk", np.asarray(Z, np.float32), W) + B[:, None, :]) / t
    logits -= logits.max(-1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(-1, keepdims=True)
    return p.mean(0).astype(np.float32)


def _fit_head(
    Z: np.ndarray, k: int, cfg: ClusterConfig, inputs: FitInputs = FitInputs(), settings: HeadSettings = HEAD
) -> ClusterResult:
    """The heads on Z (n, d): labels (n,), proba (n, k), the members' means as centres, the heads as state."""
    X = np.ascontiguousarray(Z, dtype=np.float32)
    W, B, losses = train_heads(X, k, cfg.random_state, settings, inputs.should_stop)
    state: State = {"weights": W, "biases": B, "temperature": np.array([settings.temperature], np.float32)}
    proba = head_proba(state, X)
    labels = proba.argmax(1).astype(np.int64)
    info = {
        "neighbors": settings.neighbors,
        "heads_trained": settings.heads,
        "heads_kept": len(W),
        "temperature": settings.temperature,
        "best_loss": round(float(losses[0]), 4),
    }
    found = len(np.unique(labels))
    if found < k:
        info["n_empty_clusters"] = k - found
    return ClusterResult(labels, k, "head", member_means(Z, labels, k), proba, info=info, state=state)


def _refit_head(cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> tuple[Refit, str]:
    """The head again on a subsample (per-cluster stability), trained as ``HEAD_REFIT`` says: fewer heads, fewer
    steps, the same neighbours, temperature and loss."""

    def again(X: np.ndarray, seed: int) -> np.ndarray:
        return _fit_head(X, int(cfg.k or 2), replace(cfg, random_state=seed), FitInputs(), HEAD_REFIT).labels

    what = (
        f"the clustering head ({HEAD_REFIT.heads} heads, {HEAD_REFIT.neighbors} neighbours, {HEAD_REFIT.steps} steps)"
    )
    return again, what


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
        _refit_head,
        assign_state=_head_state,
        assign=_assign_head,
        soft=True,
        max_rows=HEAD_MAX_ROWS,
        k_criterion=MODULARITY,
        sweep=sweep_head_k,
    )
)
