"""The two line networks, built as the authors built them: SRCNN (acceptance) and SRResNet
(excellence).

Both map ``[N, 3, H, W]`` RGB in [0, 1] to the same shape, for any H and W, so one trained net
restores test images of any size and exports to ONNX with dynamic H and W.

- **Acceptance** is SRCNN (Dong et al., ref. [31]) in its 9-5-5 form: 9×9 conv to 64 maps, ReLU,
  5×5 conv to 32 maps, ReLU, 5×5 conv to 3 channels. It is *plain*: no skip connection, no
  normalisation, exactly three convs, zero padding like the authors' convolutions (the border
  then sees zeros, which is why the authors' PSNR crops 4 pixels from every side).
- **Excellence** is basicsr's ``MSRResNet`` as used in MiOIR (``basicsr/archs/srresnet_arch.py``,
  ``num_feat=64, num_block=16, upscale=1``), layer for layer: ``conv_first`` 3×3 → LeakyReLU(0.1)
  → ``num_block`` residual blocks without batch norm (conv–ReLU–conv plus identity) →
  ``conv_hr`` 3×3 → LeakyReLU(0.1) → ``conv_last`` 3×3 to RGB, plus the input added to the output
  (``upscale=1`` makes their bilinear "base" the input itself). Zero padding; basicsr's
  ``default_init_weights``: Kaiming-normal weights scaled by 0.1 and zero biases for every conv
  (so the net starts close to the identity). 64 features and 16 blocks hold 1,222,147 parameters.

Smaller profiles shrink the widths and depth (and say so in the line's ``network`` text,
:func:`network_name`); the layer pattern never changes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

LineKind = Literal["acceptance", "excellence"]
KINDS: tuple[LineKind, ...] = ("acceptance", "excellence")

INIT_SCALE = 0.1
"""basicsr's ``default_init_weights(..., 0.1)`` scale for every SRResNet conv."""


def _conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)


def basicsr_init(convs: list[nn.Conv2d], scale: float = INIT_SCALE) -> None:
    """basicsr's ``default_init_weights``: Kaiming-normal (fan-in, gain √2) × ``scale``, bias 0.

    Draws from torch's global RNG, so seed it (``torch.manual_seed``) for reproducible weights.
    """
    with torch.no_grad():
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight)
            conv.weight.mul_(scale)
            if conv.bias is not None:
                conv.bias.zero_()


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


def start_at_identity(net: AcceptanceNet) -> None:
    """Set SRCNN's weights so that it starts as the identity on inputs in [0, 1].

    Three channels of each conv pass the input through by their centre tap (ReLU keeps values
    ≥ 0); the other channels keep their random start and feed the output through zero weights,
    which training grows. A short CPU profile (``demo``) uses it so the plain net starts at the
    degraded input's PSNR instead of spending most of its steps learning to copy its input; the
    layers stay SRCNN's, and the line's profile says the start differs from the authors'.
    """
    with torch.no_grad():
        net.reconstruct.weight.zero_()
        for conv in (net.extract, net.map, net.reconstruct):
            centre = conv.kernel_size[0] // 2
            conv.weight[:3].zero_()
            if conv.bias is not None:
                conv.bias[:3].zero_()
            for channel in range(3):
                conv.weight[channel, channel, centre, centre] = 1.0


class ResidualBlockNoBN(nn.Module):
    """basicsr's ``ResidualBlockNoBN``: x + conv2(relu(conv1(x))), convs basicsr-initialised."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(channels, channels, 3)
        self.conv2 = _conv(channels, channels, 3)
        basicsr_init([self.conv1, self.conv2])

    def forward(self, x: Tensor) -> Tensor:
        """x + conv2(relu(conv1(x)))."""
        out: Tensor = x + self.conv2(torch.relu(self.conv1(x)))
        return out


class ExcellenceNet(nn.Module):
    """SRResNet (basicsr ``MSRResNet``, ``upscale=1``): the input plus a learned correction.

    Example:
        >>> net = ExcellenceNet(blocks=2, channels=8)
        >>> tuple(net(torch.zeros(2, 3, 16, 8)).shape)
        (2, 3, 16, 8)
        >>> parameter_count(ExcellenceNet())
        1222147
    """

    def __init__(self, blocks: int = 16, channels: int = 64) -> None:
        super().__init__()
        self.conv_first = _conv(3, channels, 3)
        self.body = nn.Sequential(*(ResidualBlockNoBN(channels) for _ in range(blocks)))
        self.conv_hr = _conv(channels, channels, 3)
        self.conv_last = _conv(channels, 3, 3)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1)
        basicsr_init([self.conv_first, self.conv_hr, self.conv_last])

    def forward(self, x: Tensor) -> Tensor:
        """Restore a batch ``[N, 3, H, W]`` (not clipped, so training keeps its gradients)."""
        features = self.body(self.lrelu(self.conv_first(x)))
        out: Tensor = self.conv_last(self.lrelu(self.conv_hr(features))) + x
        return out


def network_name(kind: LineKind, *, features: tuple[int, int], blocks: int, channels: int) -> str:
    """The network's kind and layout as recorded with a line, e.g. ``srresnet-64x16``.

    Example:
        >>> network_name("acceptance", features=(64, 32), blocks=16, channels=64)
        'srcnn-9-5-5-64-32'
    """
    if kind == "acceptance":
        return f"srcnn-9-5-5-{features[0]}-{features[1]}"
    return f"srresnet-{channels}x{blocks}"


def conv_layer_count(model: nn.Module) -> int:
    """Number of 2-D convolution layers, e.g. to check the acceptance net stays 3 layers deep."""
    return sum(isinstance(module, nn.Conv2d) for module in model.modules())


def parameter_count(model: nn.Module) -> int:
    """Number of trainable scalars (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "INIT_SCALE",
    "KINDS",
    "AcceptanceNet",
    "ExcellenceNet",
    "LineKind",
    "ResidualBlockNoBN",
    "basicsr_init",
    "conv_layer_count",
    "network_name",
    "parameter_count",
    "start_at_identity",
]
