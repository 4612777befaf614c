"""The line networks layer for layer against the authors' description (issue #10 §4).

The expected lists are written out from basicsr's ``MSRResNet`` (``num_feat=64, num_block=16,
upscale=1``) and SRCNN 9-5-5, not derived from our modules, so a changed layer fails here.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gir_core.baselines.nets import (
    AcceptanceNet,
    ExcellenceNet,
    ResidualBlockNoBN,
    network_name,
    parameter_count,
)


def conv_rows(net: nn.Module) -> list[tuple[str, int, int, int, int, str]]:
    """(name, in, out, kernel, padding, padding mode) of every conv, in definition order."""
    return [
        (name, m.in_channels, m.out_channels, m.kernel_size[0], int(m.padding[0]), m.padding_mode)
        for name, m in net.named_modules()
        if isinstance(m, nn.Conv2d)
    ]


def test_srresnet_layer_list_matches_basicsr_msrresnet() -> None:
    expected = [("conv_first", 3, 64, 3, 1, "zeros")]
    for block in range(16):
        expected += [
            (f"body.{block}.conv1", 64, 64, 3, 1, "zeros"),
            (f"body.{block}.conv2", 64, 64, 3, 1, "zeros"),
        ]
    expected += [("conv_hr", 64, 64, 3, 1, "zeros"), ("conv_last", 64, 3, 3, 1, "zeros")]
    net = ExcellenceNet()
    assert conv_rows(net) == expected
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert net.lrelu.negative_slope == 0.1


def test_srresnet_has_1222147_parameters_biases_included() -> None:
    by_hand = (
        (3 * 64 * 9 + 64) + 16 * 2 * (64 * 64 * 9 + 64) + (64 * 64 * 9 + 64) + (64 * 3 * 9 + 3)
    )
    assert by_hand == 1_222_147
    assert parameter_count(ExcellenceNet()) == 1_222_147


def test_srresnet_forward_is_the_authors_graph() -> None:
    """conv_last(lrelu(conv_hr(body(lrelu(conv_first(x)))))) + x, computed here by hand."""
    torch.manual_seed(0)
    net = ExcellenceNet(blocks=2, channels=8).eval()
    x = torch.rand(1, 3, 10, 12)

    def lrelu(t: torch.Tensor) -> torch.Tensor:
        return torch.where(t > 0, t, 0.1 * t)

    feat = lrelu(net.conv_first(x))
    for block in net.body:
        assert isinstance(block, ResidualBlockNoBN)
        feat = feat + block.conv2(torch.relu(block.conv1(feat)))
    expected = net.conv_last(lrelu(net.conv_hr(feat))) + x
    assert torch.allclose(net(x), expected, atol=1e-6)


def test_srresnet_uses_basicsr_init_scaled_kaiming_and_zero_bias() -> None:
    torch.manual_seed(1)
    net = ExcellenceNet()
    block = net.body[3]
    assert isinstance(block, ResidualBlockNoBN)
    conv = block.conv1
    # Kaiming normal, fan-in 64·9, gain √2: std √(2/576); basicsr scales it by 0.1.
    assert float(conv.weight.detach().std()) == pytest.approx(0.1 * math.sqrt(2 / 576), rel=0.05)
    assert float(net.conv_first.weight.detach().std()) == pytest.approx(
        0.1 * math.sqrt(2 / 27), rel=0.1
    )
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            assert m.bias is not None and not m.bias.any()
    # Near the identity at the start (the 0.1 scale), unlike a default-initialised trunk.
    x = torch.rand(1, 3, 32, 32)
    assert float((net(x) - x).abs().mean()) < 0.05


def test_srcnn_is_three_plain_zero_padded_convs() -> None:
    net = AcceptanceNet()
    assert conv_rows(net) == [
        ("extract", 3, 64, 9, 4, "zeros"),
        ("map", 64, 32, 5, 2, "zeros"),
        ("reconstruct", 32, 3, 5, 2, "zeros"),
    ]
    assert parameter_count(net) == (9 * 9 * 3 * 64 + 64) + (5 * 5 * 64 * 32 + 32) + (
        5 * 5 * 32 * 3 + 3
    )
    # Zero padding: a zero image gives each output pixel only the biases' response (no reflection).
    assert tuple(net(torch.zeros(1, 3, 7, 9)).shape) == (1, 3, 7, 9)


def test_network_names_record_the_layout() -> None:
    assert network_name("excellence", features=(64, 32), blocks=16, channels=64) == "srresnet-64x16"
    assert (
        network_name("acceptance", features=(32, 16), blocks=4, channels=32) == "srcnn-9-5-5-32-16"
    )
