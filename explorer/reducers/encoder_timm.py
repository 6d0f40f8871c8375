"""Any timm model as a frozen image encoder (``timm:<model>``): its pooled features, its own preprocessing.

timm is imported here only, when such an encoder is asked for (it is not a dependency of the app). The weights
are a safetensors file: the ``model.safetensors`` of the model's Hugging Face repository (``hf_hub_id`` in
timm's pretrained config), found in the hub cache, or a local file; timm reads it through
``pretrained_cfg_overlay=dict(file=...)``, so its own key conversions apply, and the load is strict (the
classifier included: a file with another head does not fit). The classifier is then removed
(``reset_classifier(0)``): the model gives the features its classifier would have read.
"""

from __future__ import annotations

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

HUB_WEIGHTS = ("model.safetensors",)  # what timm's repositories on the Hugging Face hub hold


def load_timm(spec: EncoderSpec, *, allow_download: bool = False) -> LoadedEncoder:
    """The timm model ``spec.name`` with its cached (or ``spec.weights``) weights, in eval mode; InputError when
    timm is missing, the name is unknown or the weights are not on this machine."""
    try:
        import timm
        import timm.data
    except ImportError as exc:
        raise missing_library(spec, "timm") from exc
    with offline(allow_download):
        if not timm.is_model(spec.name):
            raise InputError(
                f"timm {getattr(timm, '__version__', '')} has no model {spec.name!r}; "
                "timm.list_pretrained('pattern*') lists the names with weights."
            )
        try:
            cfg = timm.get_pretrained_cfg(spec.name)
        except RuntimeError as exc:  # timm's error for an architecture with another pretrained tag
            raise InputError(f"timm has no pretrained weights {spec.name!r} ({exc}).") from exc
    if spec.weights:
        path = local_weights(spec)
    else:
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        if not hub_id:
            raise InputError(
                f"timm's {spec.name} has no weights on the Hugging Face hub to find in the cache; save the weights "
                "as a .safetensors file and give that file as the encoder's weights."
            )
        path = hub_file(spec, str(hub_id), HUB_WEIGHTS, allow_download=allow_download)
    sha = file_sha256(path)
    with offline():  # the weights are a local file now: nothing to fetch
        try:
            model = timm.create_model(spec.name, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
        except (RuntimeError, KeyError, ValueError) as exc:
            raise InputError(
                f"the weights {path.name} do not fit timm's {spec.name} ({str(exc).splitlines()[0][:200]}); "
                "give the weights saved from that model."
            ) from exc
        model.reset_classifier(0)
        data = timm.data.resolve_data_config(model=model)
    prep = Preprocessing.from_model(data["input_size"], data["mean"], data["std"], data.get("interpolation"))
    model.eval()
    return LoadedEncoder(model, model, prep, sha, str(path))
