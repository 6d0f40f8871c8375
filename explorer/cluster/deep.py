"""DEC and IDEC: refine an autoencoder's encoder and the cluster centres together.

DEC (Xie, Girshick, Farhadi 2016): soft assignments q_ij by a Student-t kernel between codes z_i and
centres mu_j, started from k-means; a sharpened target p_ij = q_ij^2 / f_j (normalised), recomputed
every ``dec_update_interval`` batches; minimise KL(P || Q). IDEC (Guo et al. 2017) adds the
autoencoder's reconstruction loss so the code keeps the data's local structure:
L = L_rec + gamma * KL(P || Q). Training stops when fewer than ``dec_tol`` of the labels change
between two target updates, after ``dec_max_iter`` batches, or when ``should_stop()`` says so.

With ``image_shape`` every batch is a randomly shifted and rotated copy of its images (DEC-DA: Guo et
al. 2018, "Deep Embedded Clustering with Data Augmentation"): the encoder learns that a digit moved a
little is the same digit, and the clustering loss pulls each augmented copy to its original's cluster.
The pipeline's augmented refinement (``ClusterConfig.refine``) runs IDEC this way started from another
method's clusters (N2D's), then clusters the refined code again (:func:`explorer.pipeline.run_pipeline`).
Measured on MNIST-test (docs/BENCHMARKS.md): without the augmentation the same loop makes N2D's
clusters worse; with it, better.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from explorer.cluster.methods import centres_state
from explorer.cluster.predict import student_t
from explorer.cluster.registry import Assigned, MethodSpec, Refit, State, register, spec
from explorer.cluster.types import ClusterConfig, ClusterResult
from explorer.errors import InputError
from explorer.events import StepCallback, StopCheck

MIN_BATCHES = 500  # a time budget never cuts the refinement below this many batches


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
    image_shape: tuple[int, int, int] | None = None,
    time_budget: float | None = None,
    mixed_precision: bool = True,
) -> ClusterResult:
    """Run DEC (``cfg.method == "dec"``) or IDEC ("idec") from the ``start`` clustering.

    ``reducer`` is a fitted :class:`~explorer.reducers.Autoencoder`; its encoder is trained in place
    (so ``reducer.transform`` gives the refined codes afterwards). X is (n, d). Returns the labels,
    the refined centres (k, latent) and the soft assignment q (n, k). The centres start at the means
    of ``start``'s clusters in the code. ``image_shape``: augment every batch (see the module's text).
    ``time_budget`` (seconds of work, :mod:`explorer.reducers.clock`): after the first target update, the
    batches that fit at the measured speed are planned once (never fewer than ``MIN_BATCHES``); None:
    ``dec_max_iter``. Runs under bf16 autocast where training does (:func:`explorer.reducers.train.uses_bf16`).
    """
    import torch
    import torch.nn.functional as F

    from explorer.device import seed_everything
    from explorer.reducers.autoencoder import random_affine
    from explorer.reducers.clock import WorkClock
    from explorer.reducers.train import autocast, place_data, uses_bf16

    if not spec(cfg.method).refines_model:
        raise InputError(f"refine() runs 'dec' or 'idec', not '{cfg.method}'.")
    if start.k < 2:
        raise InputError("DEC/IDEC need at least 2 clusters to start from.")
    # random_state None: a different result each run, as for the other methods (a fresh seed drawn here)
    seed = int(np.random.default_rng().integers(2**31 - 1)) if cfg.random_state is None else int(cfg.random_state)
    seed_everything(seed)
    module = reducer.module_
    device = torch.device(reducer.device_)
    data = place_data(np.ascontiguousarray(X, np.float32), device)
    n = data.shape[0]
    Z0 = reducer.transform(X)
    labels0 = start.labels
    centers0 = np.stack([Z0[labels0 == j].mean(0) if (labels0 == j).any() else Z0[0] for j in range(start.k)])
    centers = torch.nn.Parameter(torch.from_numpy(centers0.astype(np.float32)).to(device))
    opt = torch.optim.Adam([*module.parameters(), centers], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    idec = cfg.method == "idec"
    bf16 = uses_bf16(device, mixed_precision)
    shape = None if image_shape is None else (int(image_shape[0]), int(image_shape[1]), int(image_shape[2]))
    planned = int(cfg.dec_max_iter)

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
    began = time.perf_counter()
    clock = WorkClock.for_device(device.type)  # the budget counts the work done, not time others took
    started = clock.read()
    while iterations < planned:
        if iterations > 0 and iterations % cfg.dec_update_interval == 0:
            if time_budget is not None and iterations == cfg.dec_update_interval:
                planned = batches_in_time(planned, iterations, clock.work(started, clock.read()), time_budget)
            q = all_q()
            new_labels = q.argmax(1)
            delta = float((new_labels != labels).float().mean())
            labels = new_labels
            p = target_distribution(q)
            if on_progress is not None:
                on_progress(
                    iterations / planned,
                    f"{cfg.method.upper()} batch {iterations}/{planned}: {delta:.2%} of labels changed",
                )
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
        if shape is not None:
            xb = random_affine(xb, shape)
        with autocast(device, bf16):  # the networks in bf16 where training used it; the assignment in float32
            zb = module.encode(xb)
            recon = reconstruction_loss(module, zb, xb) if idec else None
        qb = soft_assign(zb.float(), centers)
        loss = F.kl_div(qb.clamp_min(1e-12).log(), p[idx.to(p.device)], reduction="batchmean")
        if recon is not None:
            loss = cfg.idec_gamma * loss + recon.float()
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
        info={
            "iterations": iterations,
            "planned": planned,
            "last_label_change": delta,
            "stop_reason": stopped,
            "start": start.method,
            "augmented": shape is not None,
            "seconds": round(time.perf_counter() - began, 2),
        },
    )


def batches_in_time(planned: int, done: int, elapsed: float, budget: float) -> int:
    """How many batches to run in all: ``planned``, or as many as fit in ``budget`` seconds at the speed
    of the ``done`` batches that took ``elapsed`` seconds; never fewer than ``MIN_BATCHES`` (or ``done``)."""
    if done <= 0 or elapsed <= 0:
        return planned
    fit = int(budget / (elapsed / done))
    return max(min(planned, fit), min(planned, max(MIN_BATCHES, done)))


def reconstruction_loss(module, z, x):
    """IDEC's reconstruction term: the mean squared error of decoding the code ``z`` of ``x``; for an
    ensemble (:class:`~explorer.reducers.networks.Ensemble`) each member's own, averaged, so the members
    keep reconstructing alone as they were trained to."""
    import torch.nn.functional as F

    members = getattr(module, "members", None)
    if members is None:
        return F.mse_loss(module.decode(z), x)
    parts = z.split(module.latent_dim, dim=1)
    return sum(F.mse_loss(m.decode(p * s), x) for m, p, s in zip(members, parts, module.scale, strict=True)) / len(
        members
    )


# -- DEC and IDEC in the registry ----------------------------------------------------------------------
def _assign_student_t(state: State, Z_new: np.ndarray) -> Assigned:
    """New rows' codes (m, d) by DEC's soft assignment to the saved centres."""
    proba = student_t(state["centers"], Z_new)
    return Assigned(proba.argmax(axis=1).astype(np.int64), proba, "DEC's soft assignment to the saved centres")


def _refit_start(cfg: ClusterConfig, groups: Sequence[np.ndarray]) -> tuple[Refit, str]:
    # the refinement itself trains the autoencoder: on a sample of codes, its k-means start is what refits
    again, what = spec("kmeans").refit(cfg, groups)
    return again, f"{what} on the codes ({cfg.method.upper()} starts from it)"


_DEC_SETTINGS = ("dec_max_iter", "dec_tol", "dec_update_interval")
register(
    MethodSpec(
        "dec",
        "DEC (refines the autoencoder)",
        "DEC",
        None,
        _refit_start,
        assign_state=centres_state,
        assign=_assign_student_t,
        soft=True,
        refines_model=True,
        settings=_DEC_SETTINGS,
    )
)
register(
    MethodSpec(
        "idec",
        "IDEC (DEC that keeps reconstructing)",
        "IDEC",
        None,
        _refit_start,
        assign_state=centres_state,
        assign=_assign_student_t,
        soft=True,
        refines_model=True,
        settings=(*_DEC_SETTINGS, "idec_gamma"),
    )
)
