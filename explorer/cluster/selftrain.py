"""Self-labelling after the clustering, for images: an image and its shifted or rotated copy belong to
the same cluster.

The idea of DEC-DA (Guo et al. 2018: the clustering of an augmented image should match the original's)
done as SCAN's self-labelling step (Van Gansbeke et al. 2020): a classifier, a copy of the trained
encoder with a linear layer to k outputs, learns each cluster from the rows the clustering is surest
of, every batch randomly shifted and rotated; every row is then relabelled by the classifier's
prediction averaged over the image and a few augmented copies. Repeated for ``rounds`` rounds, each
taking as targets the rows the classifier itself is surest of. Label-free throughout.

The classifier learns what the clusters have in common beyond the autoencoder's code: strokes drawn
a little higher or at a slant land in one cluster, where UMAP of the code could split them. The
guard: the start's labels are kept when self-labelling empties a cluster or shrinks one below
``MIN_SHARE`` of its size (a classifier trained on its own guesses can drift into a degenerate
partition). ``info`` says which was kept, and how many rows changed cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from explorer.events import StepCallback, StopCheck
from explorer.validation import Real, Whole, check_params

MIN_SHARE = 0.3  # a cluster may not shrink below this share of its starting size


@dataclass
class SelfTrainConfig:
    """How the self-labelling runs. Recorded in a run's config under ``cluster.selftrain``."""

    rounds: int = 3
    steps: int = 300  # optimiser steps per round, on batches of the confident rows
    confident: float = 0.5  # share of each cluster's rows (the surest) taken as targets
    views: int = 4  # augmented copies averaged with the image when relabelling
    lr: float = 1e-4  # the encoder's; the new linear layer learns 10x faster
    batch_size: int = 256

    def validate(self) -> None:
        check_params(
            self,
            {
                "rounds": Whole(1, 20),
                "steps": Whole(1, 100_000),
                "confident": Real(0.05, 1),
                "views": Whole(0, 16),
                "lr": Real(0, open_low=True),
                "batch_size": Whole(2),
            },
        )

    def to_dict(self) -> dict:
        return asdict(self)


def surest_rows(labels: np.ndarray, confidence: np.ndarray, k: int, share: float) -> np.ndarray:
    """Indices of the ``share`` most confident rows of each cluster (at least one per non-empty cluster):
    the same share of every cluster, so no cluster is drowned by the others as targets."""
    picked = []
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        if len(rows):
            take = max(1, round(share * len(rows)))
            picked.append(rows[np.argsort(-confidence[rows], kind="stable")[:take]])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def self_train(
    reducer,
    X: np.ndarray,
    image_shape: tuple[int, int, int],
    labels: np.ndarray,
    confidence: np.ndarray,
    k: int,
    cfg: SelfTrainConfig | None = None,
    *,
    seed: int = 0,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(labels (n,), proba (n, k) float32 or None, info) after self-labelling from ``labels`` / ``confidence``
    (None, and ``labels`` as given, when the start is kept: ``info["kept"] == "start"``).

    ``reducer``: the fitted dense or convolutional :class:`~explorer.reducers.Autoencoder` whose encoder
    the classifier starts from (the reducer itself is not changed). Rows are flat HWC images in [0, 1].
    """
    import copy

    import torch
    import torch.nn.functional as F

    from explorer.device import seed_everything
    from explorer.reducers.autoencoder import random_affine
    from explorer.reducers.train import place_data

    cfg = cfg or SelfTrainConfig()
    cfg.validate()
    seed_everything(seed)
    device = torch.device(getattr(reducer, "device_", "cpu"))
    encoder = copy.deepcopy(reducer.module_).to(device)
    latent = int(reducer.code_dim_)
    head = torch.nn.Linear(latent, k).to(device)
    data = place_data(X, device)
    _nearest_centre_head(head, encoder, data, labels, k, device)
    opt = torch.optim.Adam(
        [{"params": encoder.parameters(), "lr": cfg.lr}, {"params": head.parameters(), "lr": 10 * cfg.lr}]
    )
    gen = torch.Generator().manual_seed(seed)
    shape = (int(image_shape[0]), int(image_shape[1]), int(image_shape[2]))
    start = np.asarray(labels, np.int64)
    start_sizes = np.bincount(start[start >= 0], minlength=k)
    current, conf = start.copy(), np.asarray(confidence, np.float32)
    proba = None
    report = on_progress or (lambda fraction, message: None)

    def logits(x):
        return head(encoder.encode(x))

    for r in range(cfg.rounds):
        if should_stop is not None and should_stop():
            break
        targets_idx = surest_rows(current, conf, k, cfg.confident)
        idx_t = torch.from_numpy(targets_idx).to(data.device)
        y_t = torch.from_numpy(current[targets_idx]).to(device)
        encoder.train(), head.train()
        for step in range(cfg.steps):
            if step % 50 == 0 and should_stop is not None and should_stop():
                break
            b = torch.randint(len(idx_t), (min(cfg.batch_size, len(idx_t)),), generator=gen).to(data.device)
            xb = random_affine(data[idx_t[b]].to(device), shape)
            loss = F.cross_entropy(logits(xb), y_t[b.to(device)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        proba = _predict(logits, encoder, head, data, device, shape, cfg.views, cfg.batch_size * 8)
        current, conf = proba.argmax(1).astype(np.int64), proba.max(1)
        report(
            (r + 1) / cfg.rounds,
            f"self-labelling round {r + 1}/{cfg.rounds}: {int((current != start).sum()):,} rows changed cluster",
        )
    info = {"rounds_run": r + 1 if cfg.rounds else 0, "moved": int((current != start).sum()), **cfg.to_dict()}
    if proba is None:
        info.update(kept="start", why="stopped before the first round")
        return start, None, info
    sizes = np.bincount(current, minlength=k)
    shrunk = [c for c in range(k) if start_sizes[c] and sizes[c] < MIN_SHARE * start_sizes[c]]
    if shrunk:
        info.update(
            kept="start",
            why=f"self-labelling shrank cluster(s) {', '.join(map(str, shrunk))} below {MIN_SHARE:.0%} of their size",
        )
        return start, None, info
    info["kept"] = "selftrain"
    return current, proba.astype(np.float32), info


def _nearest_centre_head(head, encoder, data, labels: np.ndarray, k: int, device) -> None:
    """Start the linear layer as the nearest-centre rule in the code space: logit_c = 2 z.mu_c - |mu_c|^2
    (= |z|^2 - |z - mu_c|^2), scaled so the logits span a few units; mu_c the mean code of cluster c."""
    import torch

    encoder.eval()
    with torch.no_grad():
        Z = torch.cat([encoder.encode(data[i : i + 4096].to(device)) for i in range(0, data.shape[0], 4096)]).float()
        lab = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
        mu = torch.stack([Z[lab == c].mean(0) if (lab == c).any() else Z.mean(0) for c in range(k)])
        W, b = 2 * mu, -(mu * mu).sum(1)
        scale = 4.0 / max(float((Z @ W.T + b).std()), 1e-6)
        head.weight.copy_(W * scale)
        head.bias.copy_(b * scale)


def _predict(logits, encoder, head, data, device, shape, views: int, batch: int) -> np.ndarray:
    """Softmax of the classifier averaged over each image and ``views`` augmented copies."""
    import torch

    from explorer.reducers.autoencoder import random_affine

    encoder.eval(), head.eval()
    out = []
    with torch.no_grad():
        for i in range(0, data.shape[0], batch):
            xb = data[i : i + batch].to(device)
            p = torch.softmax(logits(xb), 1)
            for _ in range(views):
                p += torch.softmax(logits(random_affine(xb, shape)), 1)
            out.append((p / (views + 1)).float().cpu().numpy())
    return np.concatenate(out)
