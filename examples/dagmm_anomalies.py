"""
Anomaly detection with DAGMM
============================

:class:`gaussmix.deep.DAGMM` compresses each row with an autoencoder,
appends two reconstruction errors to the code, and scores the row by its
energy (minus its log-density) under a Gaussian mixture estimated inside the
network. It follows scikit-learn's outlier detectors: ``score_samples`` is
higher for normal rows and ``predict`` returns +1 or -1.

Trained on images of the digit 0 only, it finds the other digits unusual.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from gaussmix.deep import DAGMM

torch.manual_seed(0)
torch.set_num_threads(1)

digits = load_digits()
X, y = digits.data / 16.0, digits.target
rng = np.random.default_rng(0)
zeros = rng.permutation(np.flatnonzero(y == 0))
train, validation = zeros[:100], zeros[100:130]
others = rng.choice(np.flatnonzero(y != 0), 300, replace=False)
test = np.concatenate([zeros[130:], others])
is_zero = y[test] == 0

detector = DAGMM(contamination=0.05, max_epochs=30, random_state=0).fit(X[train])
scores = detector.score_samples(X[test])
print(f"AUROC, zeros against the other digits: {roc_auc_score(is_zero, scores):.3f}")

# %%
# ``predict`` flags the rows below ``offset_``, the score exceeded by 95% of
# the training rows (``contamination=0.05``). A network trained on a hundred
# images knows them better than new ones, so that threshold is strict: a
# threshold taken from held-out normal images (their 5% quantile) keeps more
# of the new zeros.

flagged = detector.predict(X[test]) == -1
print(
    f"offset_: flags {flagged[is_zero].mean():.2f} of the new zeros "
    f"and {flagged[~is_zero].mean():.2f} of the other digits"
)
held_out = np.quantile(detector.score_samples(X[validation]), 0.05)
flagged = scores < held_out
print(
    f"held-out threshold: flags {flagged[is_zero].mean():.2f} of the new zeros "
    f"and {flagged[~is_zero].mean():.2f} of the other digits"
)

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
bins = np.linspace(scores.min(), scores.max(), 40)
ax.hist(scores[is_zero], bins=bins, alpha=0.7, label="new zeros")
ax.hist(scores[~is_zero], bins=bins, alpha=0.7, label="other digits")
ax.axvline(detector.offset_, color="k", ls="--", label="offset_ (training rows)")
ax.axvline(held_out, color="C3", ls=":", lw=2, label="held-out threshold")
ax.set(xlabel="score_samples (minus the energy)", ylabel="images", title="DAGMM")
ax.legend()
plt.show()
