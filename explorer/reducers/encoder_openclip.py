"""An open_clip model's image tower as a frozen image encoder (``open_clip:<arch>/<tag>``).

open_clip is imported here only, when such an encoder is asked for. The weights of the pretrained tag are found
in the Hugging Face hub cache (the ``hf_hub`` of open_clip's pretrained config; the safetensors file when the
repository has one, else its ``.bin`` read with ``torch.load(weights_only=True)``), or are a local safetensors
file. open_clip then builds the architecture and loads that file strictly (``pretrained=<path>``), with the
tag's activation (``quick_gelu``) and preprocessing (mean, std, interpolation) passed as the tag would set them.
The features are ``encode_image``'s, before normalization (this module normalizes every encoder's features).
"""

from __future__ import annotations

import posixpath

from explorer.errors import InputError
from explorer.reducers.efficientnet_lite import file_sha256
from explorer.reducers.encoder_spec import (
    EncoderSpec,
    LoadedEncoder,
    Preprocessing,
    hub_file,
    local_weights,
    missing_library,
    offline,
)

PACKAGE = "open_clip_torch"
HUB_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def hub_filenames(filename: str) -> tuple[str, ...]:
    """The files to look for in the cache: safetensors first (open_clip's own preference), then the named file."""
    if not filename:
        return HUB_WEIGHTS
    if filename.endswith((".bin", ".pth")):
        return (filename[:-4] + ".safetensors", filename)
    return (filename,)


def load_open_clip(spec: EncoderSpec, *, allow_download: bool = False) -> LoadedEncoder:
    """open_clip's ``spec.name`` with the weights of ``spec.tag`` (or ``spec.weights``), in eval mode;
    InputError when open_clip is missing, the names are unknown or the weights are not on this machine."""
    try:
        import open_clip
    except ImportError as exc:
        raise missing_library(spec, PACKAGE) from exc
    if open_clip.get_model_config(spec.name) is None:
        raise InputError(f"open_clip has no architecture {spec.name!r}; open_clip.list_models() lists them.")
    cfg = dict(open_clip.get_pretrained_cfg(spec.name, spec.tag) or {}) if spec.tag else {}
    if spec.tag and not cfg:
        raise InputError(
            f"open_clip has no pretrained tag {spec.tag!r} for {spec.name}; "
            f"open_clip.list_pretrained_tags_by_model({spec.name!r}) lists them."
        )
    if spec.weights:
        path = local_weights(spec)
    else:
        hub = str(cfg.get("hf_hub") or "")
        if not hub:
            raise InputError(
                f"open_clip's {spec.label} has no weights on the Hugging Face hub to find in the cache; save them "
                "as a .safetensors file and give that file as the encoder's weights."
            )
        repo, filename = posixpath.split(hub)
        path = hub_file(spec, repo, hub_filenames(filename), allow_download=allow_download)
    sha = file_sha256(path)
    kwargs = {
        "force_quick_gelu": bool(cfg.get("quick_gelu", False)),
        "image_mean": cfg.get("mean"),
        "image_std": cfg.get("std"),
        "image_interpolation": cfg.get("interpolation"),
        "load_weights_only": True,  # a .bin is read as tensors only, never an arbitrary unpickle
    }
    with offline():  # the weights are a local file now: nothing to fetch
        try:
            model, _, _ = open_clip.create_model_and_transforms(spec.name, pretrained=str(path), **kwargs)
        except TypeError as exc:
            raise InputError(
                f"this open_clip is too old to load weights as tensors only; pip install -U {PACKAGE}."
            ) from exc
        except (RuntimeError, KeyError, ValueError) as exc:
            raise InputError(
                f"the weights {path.name} do not fit open_clip's {spec.name} ({str(exc).splitlines()[0][:200]}); "
                "give the weights saved from that architecture."
            ) from exc
    pp = open_clip.get_model_preprocess_cfg(model)
    prep = Preprocessing.from_model(pp["size"], pp["mean"], pp["std"], pp.get("interpolation"))
    model.eval()
    return LoadedEncoder(model, model.encode_image, prep, sha, str(path))
