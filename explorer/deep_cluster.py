"""DEC and IDEC: refine an autoencoder's encoder and the cluster centres together.

DEC (Xie, Girshick, Farhadi 2016): soft assignments q_ij by a Student-t kernel between codes z_i and
centres mu_j, started from k-means; a sharpened target p_ij = q_ij^2 / f_j (normalised), recomputed
every ``dec_update_interval`` batches; minimise KL(P || Q). IDEC (Guo et al. 2017) adds the
autoencoder's reconstruction loss so the code keeps the data's local structure:
L = L_rec + gamma * KL(P || Q). Training stops when fewer than ``dec_tol`` of the labels change
between two target updates, after ``dec_max_iter`` batches, or when ``should_stop()`` says so.
"""
from __future__ import annotations

import numpy as np

from .cluster import DEEP_METHODS, ClusterConfig, ClusterResult
from .errors import InputError
from .events import StepCallback, StopCheck


def soft_assign(z, centers, alpha: float = 1.0):
    """Student-t soft assignment q (n, k) of codes z (n, d) to centres (k, d); rows sum to 1."""
    import torch

    d2 = torch.cdist(z, centers).pow(2)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q):
    """DEC's sharpened target: p_ij = q_ij^2 / f_j, normalised per row (f_j = sum_i q_ij)."""
    weight = q.pow(2) / q.sum(dim=0, keepdim=True)
    return weight / weight.sum(dim=1, keepdim=True)


def refine(
    reducer,
    X: np.ndarray,
    start: ClusterResult,
    cfg: ClusterConfig,
    *,
    should_stop: StopCheck | None = None,
    on_progress: StepCallback | None = None,
    batch_size: int = 256,
    lr: float = 1e-4,
) -> ClusterResult:
    """Run DEC (``cfg.method == "dec"``) or IDEC ("idec") from the ``start`` clustering.

    ``reducer`` is a fitted :class:`~explorer.reducers.Autoencoder`; its encoder is trained in place
    (so ``reducer.transform`` gives the refined codes afterwards). X is (n, d). Returns the labels,
    the refined centres (k, latent) and the soft assignment q (n, k).
    """
    import torch
    import torch.nn.functional as F

    from .device import seed_everything
    from .train import place_data

    if cfg.method not in DEEP_METHODS:
        raise InputError(f"refine() runs 'dec' or 'idec', not '{cfg.method}'.")
    if start.k < 2:
        raise InputError("DEC/IDEC need at least 2 clusters to start from.")
    seed_everything(cfg.random_state)
    module = reducer.module_
    device = torch.device(reducer.device_)
    data = place_data(np.ascontiguousarray(X, np.float32), device)
    n = data.shape[0]
    Z0 = reducer.transform(X)
    labels0 = start.labels
    centers0 = np.stack([Z0[labels0 == j].mean(0) if (labels0 == j).any() else Z0[0] for j in range(start.k)])
    centers = torch.nn.Parameter(torch.from_numpy(centers0.astype(np.float32)).to(device))
    opt = torch.optim.Adam(list(module.parameters()) + [centers], lr=lr)
    gen = torch.Generator().manual_seed(cfg.random_state)
    idec = cfg.method == "idec"

    def all_q() -> torch.Tensor:
        module.eval()
        with torch.no_grad():
            chunks = [soft_assign(module.encode(data[i : i + 4096].to(device)), centers) for i in range(0, n, 4096)]
        module.train()
        return torch.cat(chunks)

    q = all_q()
    labels = q.argmax(1)
    p = target_distribution(q)
    iterations, delta, stopped = 0, 1.0, "max_iter"
    perm = torch.randperm(n, generator=gen).to(data.device)
    pos = 0
    module.train()
    while iterations < cfg.dec_max_iter:
        if iterations > 0 and iterations % cfg.dec_update_interval == 0:
            q = all_q()
            new_labels = q.argmax(1)
            delta = float((new_labels != labels).float().mean())
            labels = new_labels
            p = target_distribution(q)
            if on_progress is not None:
                on_progress(iterations / cfg.dec_max_iter, f"{cfg.method.upper()} batch {iterations}: {delta:.2%} of labels changed")
            if delta < cfg.dec_tol:
                stopped = "converged"
                break
        if should_stop is not None and should_stop():
            stopped = "stopped"
            break
        if pos >= n:
            perm, pos = torch.randperm(n, generator=gen).to(data.device), 0
        idx = perm[pos : pos + batch_size]
        pos += batch_size
        xb = data[idx].to(device)
        zb = module.encode(xb)
        qb = soft_assign(zb, centers)
        loss = F.kl_div(qb.clamp_min(1e-12).log(), p[idx.to(p.device)], reduction="batchmean")
        if idec:
            loss = cfg.idec_gamma * loss + F.mse_loss(module.decode(zb), xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        iterations += 1
    module.eval()
    q = all_q()
    final = q.argmax(1).cpu().numpy().astype(np.int64)
    return ClusterResult(
        labels=final,
        k=int(start.k),
        method=cfg.method,
        centers=centers.detach().cpu().numpy().astype(np.float32),
        proba=q.cpu().numpy().astype(np.float32),
        embedding=None,
        sweep=start.sweep,
        info={"iterations": iterations, "last_label_change": delta, "stop_reason": stopped, "start": "kmeans"},
    )

