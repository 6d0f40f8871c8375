"""The torch modules behind the autoencoders: encoders and decoders only, no training logic."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import cast

import torch
from torch import nn


def _init_dense(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases, the initialisation of the DEC / N2D reference code."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def mlp(sizes: list[int], *, last_activation: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DenseNet(nn.Module):
    """d -> hidden... -> z -> reversed(hidden)... -> d, ReLU between layers, linear code and output.

    With ``variational=True`` the encoder outputs a mean and a log-variance (2z units).
    """

    def __init__(self, n_features: int, hidden: list[int], latent_dim: int, variational: bool = False):
        super().__init__()
        self.variational = variational
        out = 2 * latent_dim if variational else latent_dim
        self.encoder = mlp([n_features, *hidden, out])
        self.decoder = mlp([latent_dim, *reversed(hidden), n_features])
        _init_dense(self)

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(x)
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-12.0, 12.0)
        return h, None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_params(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class ConvNet(nn.Module):
    """Convolutional autoencoder for (c, h, w) images given as flat rows (n, h*w*c) in HWC order.

    Three stride-2 convolutions (32, 64, 128 channels, as in DEC-DA's CAE) then a linear code; the
    decoder mirrors it with transposed convolutions and crops to the input size.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, channels=(32, 64, 128), variational=False):
        super().__init__()
        h, w, c = image_shape
        self.image_shape = (h, w, c)
        self.variational = variational
        convs: list[nn.Module] = []
        cin = c
        for cout in channels:
            convs += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
            cin = cout
        self.conv = nn.Sequential(*convs)
        fh, fw = h, w
        for _ in channels:
            fh, fw = math.ceil(fh / 2), math.ceil(fw / 2)
        self.feat_shape = (channels[-1], fh, fw)
        flat = channels[-1] * fh * fw
        self.to_code = nn.Linear(flat, 2 * latent_dim if variational else latent_dim)
        self.from_code = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU())
        deconvs: list[nn.Module] = []
        rev = list(reversed(channels))
        for a, b in pairwise(rev):
            deconvs += [nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
        deconvs.append(nn.ConvTranspose2d(rev[-1], c, 3, stride=2, padding=1, output_padding=1))
        self.deconv = nn.Sequential(*deconvs)
        _init_dense(self)

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, w, c = self.image_shape
        img = x.view(-1, h, w, c).permute(0, 3, 1, 2)
        code = self.to_code(self.conv(img).flatten(1))
        if self.variational:
            mu, logvar = code.chunk(2, dim=1)
            return mu, logvar.clamp(-12.0, 12.0)
        return code, None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_params(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h, w, c = self.image_shape
        feats = self.from_code(z).view(-1, *self.feat_shape)
        img = self.deconv(feats)[:, :, :h, :w]
        return img.permute(0, 2, 3, 1).reshape(-1, h * w * c)


class Ensemble(nn.Module):
    """Several autoencoders of one architecture, each from its own starting weights, side by side
    (never variational ones: ``ModelConfig.validate`` refuses them, a VAE generates from one latent space).

    The code is the members' codes next to each other, each divided by its spread on the training rows
    (``scale``, set after training by :meth:`set_scale`), so no member outweighs the others in the
    distances the clustering sees; ``decode`` splits a code back into the members' parts and averages
    their reconstructions. Each member trains on its own loss (see ``Autoencoder._loss_fn``), so the
    members stay independent models: where one of them folds two groups together, the others mostly
    keep them apart, and their joined code keeps them apart too.
    """

    scale: torch.Tensor  # a buffer: saved with the weights, not trained

    def __init__(self, members: list[DenseNet | ConvNet], latent_dim: int):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.latent_dim = int(latent_dim)
        self.register_buffer("scale", torch.ones(len(members)))

    def nets(self) -> list[DenseNet | ConvNet]:
        """The members with their own type (a ModuleList hands out plain Modules)."""
        return cast("list[DenseNet | ConvNet]", list(self.members))  # built from DenseNet / ConvNet only

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.encode(x) / s for m, s in zip(self.nets(), self.scale, strict=True)], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        parts = z.split(self.latent_dim, dim=1)
        return torch.stack([m.decode(p * s) for m, p, s in zip(self.nets(), parts, self.scale, strict=True)]).mean(0)

    @torch.no_grad()
    def set_scale(self, x: torch.Tensor) -> None:
        """Each member's code spread (the root mean square of its coordinates' standard deviations) on
        the rows ``x``, so the joined code weighs the members alike."""
        for i, m in enumerate(self.nets()):
            z = m.encode(x).float()
            self.scale[i] = torch.sqrt(torch.mean(z.var(dim=0, unbiased=False))).clamp_min(1e-8)
