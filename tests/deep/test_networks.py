"""Default networks and the convolutional encoder."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gaussmix.deep import ConvEncoder, mlp  # noqa: E402
from gaussmix.deep.networks import default_hidden_sizes, output_width  # noqa: E402
from tests._devices import TORCH_DEVICES  # noqa: E402


def test_mlp_widths_and_final_activation():
    net = mlp((5, 7, 3), "tanh", final_activation=False)
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(5, 7), (7, 3)]
    assert not isinstance(net[-1], torch.nn.Tanh)
    assert isinstance(mlp((5, 3))[-1], torch.nn.ReLU)
    with pytest.raises(ValueError, match="input and an output width"):
        mlp((5,))


def test_default_sizes_grow_with_features_within_bounds():
    assert default_hidden_sizes(4) == (64, 64, 128)
    assert default_hidden_sizes(64) == (256, 256, 512)
    assert default_hidden_sizes(10_000) == (500, 500, 1000)


@pytest.mark.parametrize("device", TORCH_DEVICES)
def test_conv_encoder_maps_flat_images_to_features(device):
    encoder = ConvEncoder((1, 8, 8), conv_channels=(4, 8), out_features=6)
    encoder = encoder.to(device)
    features = encoder(torch.zeros(3, 64, device=device))
    assert features.shape == (3, 6) and features.device.type == device
    assert output_width(encoder, 64) == 6
    with pytest.raises(ValueError, match="channels, height, width"):
        ConvEncoder((8, 8))


def test_output_width_rejects_an_encoder_that_does_not_keep_rows():
    with pytest.raises(ValueError, match=r"\(batch, width\)"):
        output_width(torch.nn.Flatten(0), 4)
