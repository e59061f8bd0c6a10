"""Which commands take missing values, and why the others do not.

Missing cells are read as NaN. A maximum-likelihood GaussianMixture takes
them, with or without a noise component: EM marginalises them, and scores
and labels use each row's observed columns. The other models refuse them
with the first one's column and line, as every command does with
``--no-missing``.
"""

from __future__ import annotations

from typing import Any


def fit_refuses_missing(no_missing: bool, bayesian: bool) -> str | None:
    """None when the fit takes missing values, else why it does not ("" for
    --no-missing, which asks for the plain refusal)."""
    if no_missing:
        return ""
    if bayesian:
        return "--bayesian does not take missing values"
    return None


def model_refuses_missing(model: Any, no_missing: bool) -> str | None:
    """None when ``model`` scores and labels rows with missing values, else
    why not ("" for --no-missing)."""
    from gaussmix import GaussianMixture

    if no_missing:
        return ""
    if type(model) is not GaussianMixture:
        return f"a {type(model).__name__} does not take missing values"
    if hasattr(model, "noise_proportion_") and not hasattr(model, "noise_extents_"):
        # files written before the columns' extents were kept
        return (
            "this noise mixture's file has no noise_extents_ (refit it) and "
            "does not take missing values"
        )
    return None
