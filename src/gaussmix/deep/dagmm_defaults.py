"""Sizes and training length of DAGMM's defaults, from the data's shape.

Each rule is a pure function of the numbers it names, so that the sizes a
fit used can be stated and checked: the code's width from the features, the
mixture's components from the rows, the correlation shrinkage from the
batch, and the passes from the rows and the batch size.
"""

from __future__ import annotations

from gaussmix.nn.training import steps_per_epoch


def default_latent_dim(n_features: int) -> int:
    """Code width for ``n_features`` inputs: one per six features, in [1, 10]."""
    return int(min(10, max(1, n_features // 6)))


def default_n_components(n_samples: int, dimension: int) -> int:
    """Components the rows can support: at most 4, one per ten rows a parameter.

    A full-covariance component over ``dimension`` features has
    ``dimension * (dimension + 3) / 2`` free parameters; with fewer than ten
    training rows for each, extra components fit noise, so small samples get
    a single Gaussian.
    """
    parameters = dimension * (dimension + 3) // 2
    return int(min(4, max(1, n_samples // (10 * parameters))))


def default_shrinkage(batch_rows: int, dimension: int) -> float:
    """Correlation shrinkage for a covariance estimated from ``batch_rows``.

    ``dimension / (dimension + batch_rows)``: a sample correlation from B
    rows errs by about ``1 / sqrt(B)``, and the network can line up a few
    rows' features at will, so the smaller the batch relative to the
    features' dimension, the more the correlations are shrunk.

    Examples
    --------
    >>> from gaussmix.deep.dagmm_defaults import default_shrinkage
    >>> round(default_shrinkage(30, 4), 3), round(default_shrinkage(128, 7), 3)
    (0.118, 0.052)
    """
    return dimension / (dimension + batch_rows)


#: Default training length: at most this many optimiser steps ...
DEFAULT_STEPS = 2000
#: ... and at most this many passes over the rows.
DEFAULT_EPOCHS = 500


def default_max_epochs(n_samples: int, batch_size: int) -> int:
    """Passes over ``n_samples`` rows for about ``DEFAULT_STEPS`` Adam steps.

    At most ``DEFAULT_EPOCHS`` passes: a few dozen rows (one batch) get 500
    steps, 300 rows 1,500 and 1,000 rows ``DEFAULT_STEPS``; large data a few
    passes, so the cost of a default fit stops growing with the rows.

    Examples
    --------
    >>> from gaussmix.deep.dagmm_defaults import default_max_epochs
    >>> default_max_epochs(90, 128), default_max_epochs(1000, 128)
    (500, 250)
    >>> default_max_epochs(1_000_000, 128)  # 7,813 steps a pass
    1
    """
    steps = steps_per_epoch(n_samples, batch_size)
    return int(min(DEFAULT_EPOCHS, max(1, round(DEFAULT_STEPS / steps))))
