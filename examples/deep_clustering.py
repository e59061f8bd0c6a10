"""
Deep clustering: the latent space
=================================

:class:`gaussmix.deep.DeepGaussianMixtureClustering` trains an autoencoder
whose codes follow a Gaussian-mixture prior (variational deep embedding),
started from clusters found by gaussmix's EM in a t-SNE embedding of the
images. With
two-dimensional codes the latent space can be drawn directly: here five of
scikit-learn's handwritten digits (8×8 images), each point a code coloured
by its true digit, with the latent mixture's 1σ and 2σ ellipses.

The networks are tiny and trained for few epochs so that the example runs
in seconds; see the class's documentation for the settings that reach high
accuracy on the full digits data.
"""

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from gaussmix.deep import DeepGaussianMixtureClustering
from gaussmix.plot import covariance_ellipse

torch.manual_seed(0)
torch.set_num_threads(1)

digits = load_digits()
keep = digits.target < 5
X, y = digits.data[keep] / 16.0, digits.target[keep]

model = DeepGaussianMixtureClustering(
    n_clusters=5,
    latent_dim=2,
    hidden_layer_sizes=(64, 32),
    pretrain_epochs=15,
    max_epochs=30,
    n_init=2,
    random_state=0,
).fit(X)
labels = model.predict(X)
codes = model.transform(X)
print(f"{len(X)} images, adjusted Rand index {adjusted_rand_score(y, labels):.3f}")
print(f"evidence lower bound per image: {model.lower_bound_:.2f}")

# %%
# Left, the codes and the latent mixture (``weights_``, ``means_`` and the
# full ``covariances_``). Right, joint training: each image reconstructs one
# of its neighbours (the training loss is the negative bound of those
# targets), and the bound of the images themselves (``bound_curve_``, epoch
# 0 being the start) decides when training stops and which weights are
# kept: those where it was highest.

fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
for digit in range(5):
    rows = y == digit
    axes[0].scatter(*codes[rows].T, s=6, label=str(digit))
for mean, covariance in zip(model.means_, model.covariances_, strict=True):
    for n_std in (1.0, 2.0):
        axes[0].add_patch(
            covariance_ellipse(mean, covariance, n_std, fill=False, color="k")
        )
axes[0].set(title="codes by true digit, latent mixture", xlabel="z1", ylabel="z2")
axes[0].legend(title="digit", markerscale=3)

kept = max(range(len(model.bound_curve_)), key=model.bound_curve_.__getitem__)
axes[1].plot(model.bound_curve_, label="images' own bound")
axes[1].plot(kept, model.bound_curve_[kept], "ko", label="kept")
axes[1].set(
    title="joint training", xlabel="epoch", ylabel="evidence lower bound per image"
)
axes[1].legend()
plt.show()
