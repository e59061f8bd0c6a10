"""Examples sections for public docstrings that do not have one yet.

The API reference appends each text below (numpydoc's doctest format) to the
docstring of the named object when that docstring has no Examples section.
Once a docstring gains its own section, the build says so and the entry here
should go. ``python docs/check_examples.py`` runs every Examples section.
"""

from __future__ import annotations

EXTRA_EXAMPLES: dict[str, str] = {}

EXTRA_EXAMPLES["gaussmix.GaussianMixture"] = """
>>> import numpy as np
>>> from gaussmix import GaussianMixture
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(-3, 1, size=(100, 2)), rng.normal(3, 1, size=(100, 2))])
>>> gmm = GaussianMixture(n_components=2, random_state=0).fit(X)
>>> np.sort(gmm.means_[:, 0]).round()
array([-3.,  3.])
>>> gmm.predict([[-3.0, -3.0], [3.0, 3.0]]).shape
(2,)
>>> gmm.predict_proba([[0.0, 0.0]]).sum().round(6)
np.float64(1.0)

Any of mclust's covariance models, by name:

>>> GaussianMixture(2, covariance_type="VEV", random_state=0).fit(X).converged_
True

A uniform noise component takes the scattered rows (``predict`` gives them
-1):

>>> noisy = np.vstack([X, rng.uniform(-15, 15, size=(20, 2))])
>>> with_noise = GaussianMixture(2, noise=True, random_state=0).fit(noisy)
>>> bool(0 < with_noise.noise_proportion_ < 0.2)
True

A fitted mixture from known parameters:

>>> known = GaussianMixture.from_params(
...     weights=[0.3, 0.7],
...     means=[[0.0, 0.0], [3.0, 3.0]],
...     covariances=[np.eye(2), 2 * np.eye(2)],
... )
>>> known.score_samples([[0.0, 0.0]]).round(3)
array([-3.029])
"""

EXTRA_EXAMPLES["gaussmix.BayesianGaussianMixture"] = """
Ten components offered, three used:

>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> from gaussmix import BayesianGaussianMixture
>>> X, _ = make_blobs(n_samples=600, centers=[[-5, 0], [0, 5], [5, 0]], random_state=5)
>>> bgm = BayesianGaussianMixture(
...     n_components=10, weight_concentration_prior=1e-3, random_state=0
... ).fit(X)
>>> bgm.effective_n_components()
3
>>> bgm.predictive_proba(X[:2]).shape  # under the posterior predictive
(2, 10)
"""

EXTRA_EXAMPLES["gaussmix.StudentMixture"] = """
Three groups and 10% scattered noise:

>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> from gaussmix import StudentMixture
>>> X, _ = make_blobs(n_samples=900, centers=[[0, 0], [8, 0], [0, 8]], random_state=0)
>>> X[:90] = np.random.default_rng(0).uniform(-60, 70, size=(90, 2))
>>> tm = StudentMixture(n_components=3, random_state=0).fit(X)
>>> tm.means_[np.lexsort(tm.means_.T)].round().astype(int)  # the true centres
array([[0, 0],
       [8, 0],
       [0, 8]])
>>> bool(tm.outlier_weights(X[:90]).mean() < tm.outlier_weights(X[90:]).mean())
True
"""

EXTRA_EXAMPLES["gaussmix.GaussianMixtureOutlierDetector"] = """
Two clusters and 60 scattered rows:

>>> import numpy as np
>>> from gaussmix import GaussianMixtureOutlierDetector
>>> rng = np.random.default_rng(0)
>>> clusters = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (300, 2))])
>>> X = np.vstack([clusters, rng.uniform(-40, 48, (60, 2))])
>>> detector = GaussianMixtureOutlierDetector(
...     2, contamination=0.1, noise=True, random_state=0
... ).fit(X)
>>> labels = detector.predict(X)  # +1 inlier, -1 outlier
>>> round(float(np.mean(labels == -1)), 2)
0.1
>>> bool(np.mean(labels[-60:] == -1) > 0.9)  # the scattered rows
True
>>> detector.decision_function(X[:2]).shape  # score_samples - offset_
(2,)
"""

EXTRA_EXAMPLES["gaussmix.GaussianMixtureClassifier"] = """
>>> from sklearn.datasets import load_iris
>>> from gaussmix import GaussianMixtureClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = GaussianMixtureClassifier(n_components=[1, 2], random_state=0).fit(X, y)
>>> clf.predict(X[:3])
array([0, 0, 0])
>>> clf.predict_proba(X[:1]).shape
(1, 3)

With ``unlabeled_label=-1``, rows labelled -1 take part through EM over
their unknown classes:

>>> import numpy as np
>>> y_partial = np.where(np.arange(len(y)) % 3 == 0, y, -1)
>>> semi = GaussianMixtureClassifier(covariance_type="diag", unlabeled_label=-1)
>>> semi.fit(X, y_partial).classes_
array([0, 1, 2])
"""

EXTRA_EXAMPLES["gaussmix.GaussianMixtureRegressor"] = """
>>> import numpy as np
>>> from gaussmix import GaussianMixtureRegressor
>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(0, 6, size=(500, 1))
>>> y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(500)
>>> reg = GaussianMixtureRegressor(n_components=6, random_state=0).fit(x, y)
>>> mean, std = reg.predict([[1.5], [4.5]], return_std=True)
>>> mean.round(1)
array([ 1., -1.])
>>> distribution = reg.predict_distribution([[1.5]])  # the whole p(y | x)
>>> distribution.n_components
6
"""

EXTRA_EXAMPLES["gaussmix.select_model"] = """
>>> from sklearn.datasets import load_iris
>>> import gaussmix
>>> X = load_iris().data
>>> result = gaussmix.select_model(
...     X, n_components=range(1, 4), covariance_types=["VII", "VEV", "VVV"]
... )
>>> result.best_model.covariance_type, result.best_model.n_components
('VEV', 2)
>>> result.bic.shape  # models x K, lower is better
(3, 3)
"""

EXTRA_EXAMPLES["gaussmix.ModelSelectionResult"] = """
>>> from sklearn.datasets import load_iris
>>> import gaussmix
>>> result = gaussmix.select_model(
...     load_iris().data, n_components=[1, 2, 3], covariance_types=["EEE", "VEV"]
... )
>>> print(result.summary())  # doctest: +NORMALIZE_WHITESPACE
Best BIC values (mclust convention, higher is better):
...
>>> result.best_model.predict(load_iris().data[:3])
array([0, 0, 0])
"""

_MIXTURE = """
>>> import numpy as np
>>> from gaussmix import GaussianMixture
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(-2, 1, size=(150, 2)), rng.normal(2, 0.7, size=(150, 2))])
>>> gmm = GaussianMixture(2, random_state=0).fit(X)
"""

EXTRA_EXAMPLES["gaussmix.plot.plot_clusters"] = (
    _MIXTURE
    + """>>> from gaussmix.plot import plot_clusters
>>> ax = plot_clusters(gmm, X, n_std=(1.0, 2.0), feature_names=["a", "b"])
>>> ax.get_xlabel()
'a'
"""
)

EXTRA_EXAMPLES["gaussmix.plot.plot_density"] = (
    _MIXTURE
    + """>>> from gaussmix.plot import plot_density
>>> ax = plot_density(gmm, X, levels=8)
"""
)

EXTRA_EXAMPLES["gaussmix.plot.plot_uncertainty"] = (
    _MIXTURE
    + """>>> from gaussmix.plot import plot_uncertainty
>>> ax = plot_uncertainty(gmm, X)
"""
)

EXTRA_EXAMPLES["gaussmix.plot.plot_pairs"] = """
>>> from sklearn.datasets import load_iris
>>> from gaussmix import GaussianMixture
>>> from gaussmix.plot import plot_pairs
>>> iris = load_iris()
>>> gmm = GaussianMixture(2, random_state=0).fit(iris.data)
>>> figure = plot_pairs(gmm, iris.data, feature_names=iris.feature_names)
"""

EXTRA_EXAMPLES["gaussmix.plot.plot_pca"] = """
>>> from sklearn.datasets import load_iris
>>> from gaussmix import GaussianMixture
>>> from gaussmix.plot import plot_pca
>>> X = load_iris().data
>>> ax = plot_pca(GaussianMixture(3, random_state=0).fit(X), X)
"""

EXTRA_EXAMPLES["gaussmix.plot.plot_bic"] = """
>>> from sklearn.datasets import load_iris
>>> import gaussmix
>>> from gaussmix.plot import plot_bic
>>> result = gaussmix.select_model(
...     load_iris().data, n_components=range(1, 5), covariance_types=["EII", "VVV"]
... )
>>> ax = plot_bic(result)  # lower is better; convention="mclust" flips the sign
"""

EXTRA_EXAMPLES["gaussmix.plot.plot_bic_curve"] = """
BIC values computed elsewhere, one list per model (None for a failed fit):

>>> from gaussmix.plot import plot_bic_curve
>>> ax = plot_bic_curve(
...     [1, 2, 3], {"full": [820.0, 610.5, 630.2], "diag": [850.1, 700.0, None]}
... )
"""

EXTRA_EXAMPLES["gaussmix.plot.plot_weights"] = """
>>> from sklearn.datasets import make_blobs
>>> from gaussmix import BayesianGaussianMixture
>>> from gaussmix.plot import plot_weights
>>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
>>> bgm = BayesianGaussianMixture(
...     n_components=8, weight_concentration_prior=1e-3, random_state=0
... ).fit(X)
>>> ax = plot_weights(bgm, threshold=0.01)
"""

EXTRA_EXAMPLES["gaussmix.plot.covariance_ellipse"] = """
>>> import matplotlib.pyplot as plt
>>> import numpy as np
>>> from gaussmix.plot import covariance_ellipse
>>> ellipse = covariance_ellipse(
...     [0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]], n_std=2.0, fill=False
... )
>>> float(ellipse.width), float(ellipse.height)  # 2 * n_std * sqrt(eigenvalue)
(8.0, 4.0)
>>> fig, ax = plt.subplots()
>>> _ = ax.add_patch(ellipse)
"""
