"""Plots of fitted mixtures (matplotlib, imported when a plot is drawn)."""

from gaussmix.plot.selection import plot_bic

__all__ = ["plot_bic"]
