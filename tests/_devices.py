"""The torch devices that device-agnostic tests run on.

The CPU always; a CUDA GPU where torch sees one, so that one test run on a
GPU machine checks the same behaviour there (``pytest -k cuda`` runs those
cases alone). Without a GPU the CUDA cases are reported as skipped.
"""

from __future__ import annotations

import pytest

try:
    import torch
except ImportError:  # modules that need torch skip themselves
    torch = None

HAS_CUDA = torch is not None and torch.cuda.is_available()

TORCH_DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
    ),
]


def host(value):
    """A tensor's values as a numpy array, from whichever device holds them."""
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def random_streams() -> list:
    """The states of torch's global generators: the CPU's and every GPU's."""
    states = [torch.get_rng_state()]
    if HAS_CUDA:
        states.extend(torch.cuda.get_rng_state_all())
    return states


def assert_same_streams(before: list, after: list) -> None:
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert torch.equal(old, new)
