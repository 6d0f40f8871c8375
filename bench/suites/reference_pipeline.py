"""The product's default pipeline written plainly: torch + umap-learn + scikit-learn, nothing from explorer.

Same steps as ``explorer.pipeline.run_pipeline`` with the default config: a dense autoencoder
d-500-500-2000-z (Glorot init, ReLU, MSE, Adam, a 10% validation split with early stopping that keeps
the best weights; for images, trained on randomly shifted and rotated copies of each batch), its code Z,
UMAP of Z to k dimensions (min_dist 0), a full-covariance Gaussian mixture with 10 restarts on that (N2D),
and a 2-D UMAP of Z for display. The settings come in as
arguments (``bench/measure/speed.py`` passes the product's defaults), so both run the same epochs,
architecture and batch size. Used only to measure the product's overhead.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class ReferenceSettings:
    k: int
    latent_dim: int = 10
    hidden: tuple[int, ...] = (500, 500, 2000)
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    val_fraction: float = 0.1
    patience: int = 10
    umap_neighbors: int = 20
    umap_min_dist: float = 0.0
    gmm_restarts: int = 10
    display_neighbors: int = 15
    display_min_dist: float = 0.1
    device: str = "cpu"
    seed: int = 0
    loader: str = "slicing"  # "slicing": index a tensor on the device; "dataloader": TensorDataset + DataLoader
    augment_shape: tuple[int, int, int] | None = None  # images (h, w, c): train on shifted / rotated copies


def autoencoder(d: int, hidden: tuple[int, ...], latent: int):
    """(encoder, decoder) as plain nn.Sequential stacks, Glorot-uniform weights, zero biases."""
    from torch import nn

    def stack(sizes):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    enc, dec = stack([d, *hidden, latent]), stack([latent, *reversed(hidden), d])
    for m in [*enc, *dec]:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return enc, dec


def shift_rotate(x, shape: tuple[int, int, int], max_shift: float = 0.1, max_degrees: float = 10.0):
    """Each flat HWC image of the batch x (n, h*w*c) moved by up to 10% of its side and turned by up to 10 degrees."""
    import math

    import torch
    import torch.nn.functional as F

    h, w, c = shape
    imgs = x.reshape(len(x), h, w, c).permute(0, 3, 1, 2)
    a = (torch.rand(len(x), device=x.device) * 2 - 1) * math.radians(max_degrees)
    t = (torch.rand(len(x), 2, device=x.device) * 2 - 1) * 2 * max_shift
    theta = torch.stack([torch.stack([a.cos(), -a.sin(), t[:, 0]], 1), torch.stack([a.sin(), a.cos(), t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(imgs.dtype), list(imgs.shape), align_corners=False)
    out = F.grid_sample(imgs, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(len(x), -1)


def train_autoencoder(X: np.ndarray, s: ReferenceSettings):
    """Train and return the encoder (best validation epoch's weights) and the number of epochs run."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(s.seed)
    dev = torch.device(s.device)
    enc, dec = autoencoder(X.shape[1], s.hidden, s.latent_dim)
    model = torch.nn.Sequential(enc, dec).to(dev)
    data = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    gen = torch.Generator().manual_seed(s.seed)
    order = torch.randperm(len(data), generator=gen)
    n_val = round(len(data) * s.val_fraction)
    val, train = data[order[:n_val]].to(dev), data[order[n_val:]]
    if s.loader == "dataloader":
        from torch.utils.data import DataLoader, TensorDataset

        batches = DataLoader(TensorDataset(train), batch_size=s.batch_size, shuffle=True, generator=gen)
    else:
        train = train.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    best, best_state, bad, epochs_run = float("inf"), None, 0, 0
    for _ in range(s.epochs):
        model.train()
        if s.loader == "dataloader":
            it = (xb.to(dev, non_blocking=True) for (xb,) in batches)
        else:
            perm = torch.randperm(len(train), generator=gen).to(dev)
            it = (train[perm[i : i + s.batch_size]] for i in range(0, len(train), s.batch_size))
        for xb in it:
            if s.augment_shape is not None:
                xb = shift_rotate(xb, s.augment_shape)
            with amp:
                loss = F.mse_loss(model(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epochs_run += 1
        if not n_val:
            continue
        model.eval()
        with torch.no_grad(), amp:
            v = (
                sum(
                    float(F.mse_loss(model(val[i : i + s.batch_size]), val[i : i + s.batch_size]))
                    * len(val[i : i + s.batch_size])
                    for i in range(0, n_val, s.batch_size)
                )
                / n_val
            )
        if v < best * (1 - 1e-4):
            best, best_state, bad = v, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= s.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return enc.eval(), epochs_run


def encode(enc, X: np.ndarray, device: str) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate(
            [
                enc(torch.from_numpy(X[i : i + 4096]).float().to(device)).float().cpu().numpy()
                for i in range(0, len(X), 4096)
            ]
        )


def run_reference(X: np.ndarray, s: ReferenceSettings) -> dict:
    """The pipeline on X (n, d): {"labels", "embedding", "timings": {"train", "cluster", "project"}, "epochs_run"}."""
    import umap
    from sklearn.mixture import GaussianMixture

    timings = {}
    t0 = time.perf_counter()
    enc, epochs_run = train_autoencoder(X, s)
    Z = encode(enc, X, s.device)
    timings["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    E = umap.UMAP(
        n_components=s.k,
        n_neighbors=s.umap_neighbors,
        min_dist=s.umap_min_dist,
        random_state=s.seed,
        low_memory=True,
        n_jobs=1,
    ).fit_transform(Z)
    E64 = E.astype(np.float64)
    gm = GaussianMixture(s.k, covariance_type="full", n_init=s.gmm_restarts, random_state=s.seed).fit(E64)
    labels = gm.predict(E64)
    timings["cluster"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    Y = umap.UMAP(
        n_components=2,
        n_neighbors=s.display_neighbors,
        min_dist=s.display_min_dist,
        random_state=s.seed,
        low_memory=True,
        n_jobs=1,
    ).fit_transform(Z)
    timings["project"] = time.perf_counter() - t0
    return {"labels": labels, "embedding": Y, "timings": timings, "epochs_run": epochs_run}
