"""Default networks of the deep estimators, and a small convolutional encoder.

An encoder maps rows ``(batch, n_features)`` to features ``(batch, width)``
of any width; the estimators add their own linear heads on top. A decoder
maps latent codes ``(batch, latent_dim)`` back to ``(batch, n_features)``.
Any ``torch.nn.Module`` following these shapes can replace the defaults.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}


def default_hidden_sizes(n_features: int) -> tuple[int, ...]:
    """Widths of the default encoder, widest last as in deep clustering nets.

    Grows with the input dimension within [64, 500] so that small tables get
    small, fast networks and images get the usual 500-500-2000 shape scaled
    down.
    """
    width = int(min(500, max(64, 4 * n_features)))
    return (width, width, min(2000, 2 * width))


def mlp(
    sizes: Sequence[int], activation: str = "relu", *, final_activation: bool = True
) -> nn.Sequential:
    """Linear layers of widths ``sizes[0] -> sizes[1] -> ...``.

    Parameters
    ----------
    sizes : sequence of int
        Input width followed by every layer's output width.
    activation : {'relu', 'tanh', 'gelu', 'silu', 'elu'}, default='relu'
    final_activation : bool, default=True
        Whether the last layer is followed by the activation too.

    Examples
    --------
    >>> from gaussmix.deep import mlp
    >>> mlp([4, 16, 2], activation="tanh", final_activation=False)
    Sequential(
      (0): Linear(in_features=4, out_features=16, bias=True)
      (1): Tanh()
      (2): Linear(in_features=16, out_features=2, bias=True)
    )
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp needs an input and an output width, got {sizes!r}.")
    layers: list[nn.Module] = []
    for index, (width_in, width_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(width_in, width_out))
        if final_activation or index < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """A small convolutional encoder for images given as flat rows.

    Rows of length ``channels * height * width`` are reshaped to images,
    passed through stride-2 3x3 convolutions, flattened and projected to
    ``out_features``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image, as its row is laid out
        (C-order: ``row.reshape(channels, height, width)``).
    conv_channels : sequence of int, default=(32, 64)
        Output channels of each convolution.
    out_features : int, default=128
        Width of the features handed to the estimator's heads.
    activation : str, default='relu'

    Examples
    --------
    >>> import torch
    >>> from gaussmix.deep import ConvEncoder
    >>> encoder = ConvEncoder((1, 8, 8), conv_channels=(8, 16), out_features=32)
    >>> encoder(torch.rand(5, 64)).shape  # five flat 8x8 images
    torch.Size([5, 32])

    Such an encoder can replace the default one of
    :class:`~gaussmix.deep.DeepGaussianMixtureClustering` (``encoder=``).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        conv_channels: Sequence[int] = (32, 64),
        out_features: int = 128,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(
                f"image_shape must be (channels, height, width), got {image_shape!r}."
            )
        self.image_shape = tuple(int(s) for s in image_shape)
        layers: list[nn.Module] = [nn.Unflatten(1, self.image_shape)]
        channels = self.image_shape[0]
        for out_channels in conv_channels:
            layers += [
                nn.Conv2d(channels, out_channels, 3, stride=2, padding=1),
                ACTIVATIONS[activation](),
            ]
            channels = out_channels
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            probe = torch.zeros(1, int(torch.tensor(self.image_shape).prod()))
            width = self.features(probe).shape[1]
        self.project = nn.Sequential(
            nn.Linear(width, out_features), ACTIVATIONS[activation]()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))


def output_width(module: nn.Module, n_features: int) -> int:
    """Width of ``module``'s output for rows of ``n_features`` (one probe row)."""
    parameter = next(module.parameters(), None)
    options = {}
    if parameter is not None:
        options = {"dtype": parameter.dtype, "device": parameter.device}
    with torch.no_grad():
        out = module(torch.zeros(2, n_features, **options))
    if out.dim() != 2 or out.shape[0] != 2:
        raise ValueError(
            f"the encoder must map rows (batch, {n_features}) to (batch, width); "
            f"it returned shape {tuple(out.shape)}."
        )
    return int(out.shape[1])


def check_decoder(module: nn.Module, latent_dim: int, n_features: int) -> None:
    """Raise a clear ValueError unless ``module`` maps codes to rows.

    One probe batch of codes ``(2, latent_dim)`` must come back as
    ``(2, n_features)``; a wrong width would otherwise fail deep inside the
    first training step, naming tensor sizes only.
    """
    parameter = next(module.parameters(), None)
    options = {}
    if parameter is not None:
        options = {"dtype": parameter.dtype, "device": parameter.device}
    try:
        with torch.no_grad():
            out = module(torch.zeros(2, latent_dim, **options))
    except RuntimeError as error:
        raise ValueError(
            f"the decoder must map codes (batch, latent_dim={latent_dim}) to rows "
            f"(batch, {n_features}); it failed on codes of that width: {error}"
        ) from error
    if tuple(out.shape) != (2, n_features):
        raise ValueError(
            f"the decoder must map codes (batch, latent_dim={latent_dim}) to rows "
            f"(batch, {n_features}); it returned shape {tuple(out.shape)} for a "
            "batch of 2. Make its last layer output n_features values."
        )
