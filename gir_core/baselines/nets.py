"""The two line networks: a 3-layer SRCNN (acceptance) and a deep residual network (excellence).

Both map ``[N, 3, H, W]`` RGB in [0, 1] to the same shape, for any H and W of at least 5 pixels,
so one trained net restores test images of any size and exports to ONNX with dynamic H and W.

Choices (the paper names the families, not the layer details):

- **Acceptance** follows SRCNN (Dong et al., ref. [31]) in its 9-5-5 form: 9×9 conv to 64 maps,
  ReLU, 5×5 conv to 32 maps, ReLU, 5×5 conv to 3 channels. It is *plain*: no skip connection,
  no normalisation, exactly three conv layers, so it stays the "simple deep model" the paper means.
- **Excellence** reads the paper's "deep residual network [43]" (ResNet) the way restoration work
  usually does (SRResNet / EDSR): a 3×3 head conv, ``blocks`` residual blocks (conv-ReLU-conv plus
  identity), a 3×3 conv closing the trunk with a long skip, a 3×3 conv to RGB, and a global skip
  that adds the input, so the net learns the correction. No batch norm, as in EDSR: it hurts
  restoration and makes train and eval behave differently. The ``paper`` profile uses 16 blocks of
  64 channels (SRResNet's size); the ``demo`` profile a few blocks of 32.
- **Padding** is by reflection in every conv, so output size equals input size and border pixels
  see image-like context: the line PSNR is computed without a border crop.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

LineKind = Literal["acceptance", "excellence"]
KINDS: tuple[LineKind, ...] = ("acceptance", "excellence")


def _conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, padding_mode="reflect")


class AcceptanceNet(nn.Module):
    """SRCNN 9-5-5: feature extraction, non-linear mapping, reconstruction (three convs).

    Example:
        >>> net = AcceptanceNet()
        >>> tuple(net(torch.zeros(1, 3, 12, 20)).shape)
        (1, 3, 12, 20)
    """

    def __init__(self, features: int = 64, mapping: int = 32) -> None:
        super().__init__()
        self.extract = _conv(3, features, 9)
        self.map = _conv(features, mapping, 5)
        self.reconstruct = _conv(mapping, 3, 5)

    def forward(self, x: Tensor) -> Tensor:
        """Restore a batch ``[N, 3, H, W]``; not clipped, so training keeps its gradients."""
        x = torch.relu(self.extract(x))
        x = torch.relu(self.map(x))
        out: Tensor = self.reconstruct(x)
        return out


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip (EDSR's block, no batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(channels, channels, 3)
        self.conv2 = _conv(channels, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        """x + conv2(relu(conv1(x)))."""
        out: Tensor = x + self.conv2(torch.relu(self.conv1(x)))
        return out


class ExcellenceNet(nn.Module):
    """A residual trunk with a long skip and a global input skip (SRResNet/EDSR shape, same size).

    Example:
        >>> net = ExcellenceNet(blocks=2, channels=8)
        >>> tuple(net(torch.zeros(2, 3, 16, 8)).shape)
        (2, 3, 16, 8)
    """

    def __init__(self, blocks: int = 16, channels: int = 64) -> None:
        super().__init__()
        self.head = _conv(3, channels, 3)
        self.trunk = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.trunk_end = _conv(channels, channels, 3)
        self.tail = _conv(channels, 3, 3)

    def forward(self, x: Tensor) -> Tensor:
        """Restore a batch ``[N, 3, H, W]``: input plus a learned correction (not clipped)."""
        features = self.head(x)
        features = features + self.trunk_end(self.trunk(features))
        out: Tensor = x + self.tail(features)
        return out


def conv_layer_count(model: nn.Module) -> int:
    """Number of 2-D convolution layers, e.g. to check the acceptance net stays 3 layers deep."""
    return sum(isinstance(module, nn.Conv2d) for module in model.modules())


def parameter_count(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "KINDS",
    "AcceptanceNet",
    "ExcellenceNet",
    "LineKind",
    "ResidualBlock",
    "conv_layer_count",
    "parameter_count",
]
