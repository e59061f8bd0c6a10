"""DeepGaussianMixtureClustering: clusters under a Gaussian mixture latent prior."""

from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from torch import nn

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.gross_outliers import rows_to_train_on
from gaussmix.deep import _common as common
from gaussmix.deep.clustering_training import train_clustering
from gaussmix.deep.networks import (
    ACTIVATIONS,
    check_decoder,
    default_hidden_sizes,
    mlp,
    output_width,
)
from gaussmix.deep.variational import VariationalClusteringNetwork
from gaussmix.io import register_estimator
from gaussmix.io.checks_deep import check_deep_clustering
from gaussmix.models import validation as check


@dataclass(frozen=True)
class ClusteringSettings(common.NetworkSettings):
    """DeepGaussianMixtureClustering's hyperparameters, validated once per use.

    The modules ``encoder`` and ``decoder`` are checked but not held: they
    are copied from the estimator when the networks are built.
    """

    n_clusters: int
    latent_dim: int
    hidden_layer_sizes: tuple[int, ...] | None
    activation: str
    reconstruction: str
    noise_variance: str
    covariance_type: str
    pretrain_epochs: int
    max_epochs: int | str
    learning_rate: float
    batch_size: int
    n_init: int
    init_components: int | None
    n_autoencoders: int
    n_neighbors: int
    init_method: str
    init_smoothing: int
    input_dropout: float
    n_iter_no_change: int | str
    tol: float


@register_estimator(validate=check_deep_clustering)
class DeepGaussianMixtureClustering(
    common.PlainStateNetworkMixin, ClusterMixin, TransformerMixin, BaseEstimator
):
    """Deep clustering with a Gaussian mixture prior on an autoencoder's codes.

    The variational deep embedding of Jiang et al. (2017, "VaDE"): ``fit``

    1. pretrains ``n_autoencoders`` encoder-decoder pairs from different
       starts as autoencoders (denoising ones with ``input_dropout``),
    2. finds the starting clusters in a two-dimensional t-SNE embedding of
       the rows (``init_method='tsne'``; of their 50 leading principal
       components when there are more; started from their principal axes
       and from the Laplacian eigenmaps of their nearest-neighbour graph,
       keeping the run of lower t-SNE cost): gaussmix's EM
       (:class:`gaussmix.GaussianMixture`, best of ``n_init`` starts) fits
       ``init_components`` components there (merged pairwise down to
       ``n_clusters`` if more); where the embedding's nearest-neighbour
       graph falls into exactly ``n_clusters`` pieces that match the
       clusters one to one, each piece becomes its cluster (two arcs that
       Gaussian blobs would cut stay whole); and one M-step moves these
       responsibilities to each network's codes,
    3. keeps the network whose mixture gives the highest evidence lower
       bound on the training rows (the model's own objective), and trains
       its encoder, decoder and mixture (a
       :class:`gaussmix.nn.GaussianMixtureDensity`) together by maximising
       that bound for a neighbour of each row, stopping when the rows' own
       bound has not improved for ``n_iter_no_change`` epochs and keeping
       the weights where it was highest (the start's, if training never
       raised it).

    A row's cluster is the component most responsible for its code.

    With the Gaussian model, rows holding a gross outlier (a value more
    than 30 robust spreads from its column's median; at most 2% of the
    rows) neither set the scaling nor train the networks, and get their
    clusters as new rows do: one such value would otherwise set the common
    scale and, through the noise variance, the whole reconstruction term
    (a value of 1e6 among blobs of spread 10 put every other row in one
    cluster). Rows so far out that float32 networks cannot score them at
    the other rows' scale are refused by name.

    Departures from the VaDE paper: the reconstruction target is a random
    neighbour of the row (``n_neighbors``), not the row itself, in both the
    pretraining and the lower bound; the bound's posterior over clusters is
    its maximiser in closed form (the softmax of each component's log-weight
    plus its expected log-density under the code's posterior), not the
    prior's responsibilities at one drawn code; and the initial mixture
    comes from a neighbour embedding of the rows, not from EM on the codes.
    An autoencoder's codes keep each digit, say, on a curved and elongated
    set that no Gaussian fits and EM cuts across: on the 5,000 MNIST images
    of the benchmark, EM on the codes of several autoencoders started near
    0.6 accuracy, and t-SNE of one autoencoder's codes reached 0.79 to 0.86
    over seeds, while t-SNE of the rows' 50 principal components gave 0.88
    on every seed (and 0.95 on digits, 0.94 on breast_cancer, 0.95 on wine).
    The full-covariance mixture fitted to such a partition by one M-step on
    the codes keeps it within about 0.01; a diagonal one lost about 0.08.
    t-SNE sees only distances to each row's nearest neighbours (perplexity
    30), so it adapts to the data's size and dimension by itself; at most
    10,000 rows, drawn at random, are embedded.

    Parameters
    ----------
    n_clusters : int, default=8
    latent_dim : int, default=10
        Dimension of the codes.
    encoder : torch.nn.Module, optional
        Maps rows ``(batch, n_features)`` to features ``(batch, width)``; two
        linear heads giving the mean and log-variance of the code are added.
        Default: an MLP of widths ``hidden_layer_sizes``. Copied, never
        modified.
    decoder : torch.nn.Module, optional
        Maps codes ``(batch, latent_dim)`` to ``(batch, n_features)``.
        Default: the mirror MLP of the default encoder.
    hidden_layer_sizes : tuple of int, optional
        Widths of the default encoder (the decoder reverses them); None sizes
        them from the number of features (``networks.default_hidden_sizes``).
    activation : {'relu', 'tanh', 'gelu', 'silu', 'elu'}, default='gelu'
        Of the default networks. The codes of smooth activations suited the
        latent mixture better than the piecewise-linear codes of ReLU
        networks: on the digits benchmark (five seeds, 100 joint epochs,
        ``init_components=10``, other settings default) the mean accuracy
        was 0.896 with ``'gelu'``, 0.897 with ``'elu'`` (less even across
        seeds: 0.86 to 0.94) and 0.889 with ``'relu'``.
    reconstruction : {'gaussian', 'bernoulli'}, default='gaussian'
        Observation model. ``'gaussian'`` centres the features, divides them
        by one common scale and has Gaussian noise (``noise_variance``)
        whose variance is set at every step to its maximum-likelihood value
        for the batch (a calibrated decoder), and at the end to that of the
        training rows; ``'bernoulli'`` needs data in [0, 1] (pixel
        intensities) and is not rescaled.
    noise_variance : {'per_feature', 'shared'}, default='per_feature'
        The Gaussian decoder's noise: one variance per feature, each the
        mean squared reconstruction error of that feature (held to at least
        a tenth of their mean, so that a feature reconstructed almost
        exactly, such as a pixel that is nearly always blank, cannot
        dominate), or one variance for all, their mean. Per feature, a
        column the codes reproduce closely weighs more in the bound than
        one they cannot; shared, every column weighs alike, and the columns
        reconstructed worst, outliers' columns among them, decide the
        variance. On the panel of ``benchmarks/deep_clustering.py`` (five
        seeds; accuracy shared -> per feature) per feature raised glass
        from 0.461 to 0.521 and iris from 0.855 to 0.884, lowered Pima from
        0.729 to 0.707, MNIST from 0.846 to 0.835 and digits from 0.939 to
        0.935, and left wine, breast_cancer, penguins, crabs, the rings and
        the moons within 0.005. ``'shared'`` suits features in one unit,
        such as pixels.
    covariance_type : {'diag', 'spherical', 'full'}, default='full'
        Covariances of the latent mixture's components. Full covariances
        hold the starting partition when it is moved onto the codes (within
        about 0.01 accuracy on the MNIST benchmark, where diagonal ones lost
        about 0.08), because an autoencoder's clusters are elongated along
        directions that are not the codes' axes.
    pretrain_epochs : int, default=50
        Epochs of each autoencoder's pretraining. Unlike joint training it
        is not lengthened for small data: on the 178 wine rows (100 Adam
        steps), 200 and 500 epochs lowered the final accuracy from 0.970 to
        0.952 and 0.937 (ten seeds, with a learned noise variance); with
        the calibrated decoder, 200 epochs lowered it from 0.972 to 0.955
        on wine and from 0.856 to 0.787 on iris (five seeds).
    max_epochs : int or 'auto', default='auto'
        Most epochs of joint training (see ``n_iter_no_change``). ``'auto'``
        is 100 epochs, or as many as 1,500 Adam steps take where an epoch
        has fewer than 15 batches (``clustering_training.joint_budget``):
        an epoch of a small table is a few steps, too few for the bound to
        settle in 100 epochs.
    learning_rate : float, default=1e-3
        Adam's step size, in both phases.
    batch_size : int, default=128
    n_init : int, default=10
        EM starts of the initial latent mixture.
    init_components : int, optional
        Components of the initial EM fit (step 2), at least ``n_clusters``;
        None fits ``n_clusters`` with the t-SNE start (its clusters are
        compact blobs) and ``2 * n_clusters`` with the codes start. More
        components than clusters are merged two at a time down to
        ``n_clusters``, each time the pair whose union, refitted as one
        diagonal Gaussian, loses the least classification log-likelihood
        (the criterion of model-based agglomerative clustering), so that a
        cluster that is not Gaussian (curved, or of several modes) can be
        made of several components. On the t-SNE embeddings of the panel,
        fitting the clusters directly gave 0.88 / 0.95 / 0.94 / 0.95
        (MNIST, digits, breast_cancer, wine; mean of three seeds) against
        0.89 / 0.94 / 0.91 / 0.94 with twice as many merged.
    n_autoencoders : int, default=1
        Autoencoders pretrained from different starts; each receives the
        starting mixture and only the one whose bound is highest (the
        model's own objective) is trained further, so the cost grows by
        ``pretrain_epochs`` per extra autoencoder. 1 is VaDE's single
        pretraining. With ``init_method='codes'`` their codes are also
        clustered side by side.
    n_neighbors : int, default=10
        Each row's nearest rows in the (scaled) input space. In both phases
        the decoder reconstructs a row drawn at random from the row and its
        neighbours instead of the row itself, which pulls the codes of
        neighbouring rows together (0: plain reconstruction).
    init_method : {'tsne', 'codes'}, default='tsne'
        Where the starting clusters are found: in a t-SNE embedding of the
        rows (perplexity 30, lower for tiny data), or in the pretrained
        codes themselves, averaged over neighbours ``init_smoothing``
        times.
    init_smoothing : int, default=3
        With ``init_method='codes'``, passes of neighbour averaging of the
        codes before the initial EM fit:
        each pass replaces every code by the mean of its row's and its
        ``n_neighbors`` neighbours' codes, which removes much of the noise
        that traps EM in poor local optima. The responsibilities found on
        the averaged codes then give the mixture's starting parameters on
        the raw codes by one M-step. 0, or ``n_neighbors=0``, fits the raw
        codes.
    input_dropout : float, default=0.0
        Fraction of the input features zeroed at random (the others scaled
        by ``1 / (1 - input_dropout)``) in every pretraining batch, so that
        the autoencoders learn to reconstruct rows from incomplete copies
        (denoising autoencoders, as in DEC's pretraining). Joint training
        and the fitted networks see whole rows. 0 pretrains plain
        autoencoders. On the digits benchmark, with ReLU networks and 100
        joint epochs, it did not help: the mean accuracy over five seeds was
        0.889 with 0, 0.887 with 0.3 and 0.877 with 0.5.
    n_iter_no_change : int or 'auto', default='auto'
        Joint training stops after this many epochs without an improvement
        of the training rows' own bound (:attr:`bound_curve_`) by more than
        ``tol`` (nats per row, in the scaled units), and keeps the weights
        where it was highest. ``'auto'`` is 10
        epochs, or 150 Adam steps where an epoch has fewer than 15 batches.
    tol : float, default=0.0
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the batches, the draws of codes and the EM starts;
        a seed gives the same fit on the CPU with the same number of threads
        (torch's and BLAS's: another count may round differently, and
        training carries the difference on).
    device : str or torch.device, default=None
        Where to train; None is the CPU.
    verbose : int, default=0
        1 shows a progress bar per phase, 2 also logs every epoch.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Clusters of the rows given to ``fit``. When fewer than ``n_clusters`` of
        them hold a row, a ``ConvergenceWarning`` says so (as k-means
        does): the trained bound merged clusters, which it can do where
        the data support fewer.
    weights_ : ndarray of shape (n_clusters,)
    means_ : ndarray of shape (n_clusters, latent_dim)
    covariances_ : ndarray
        The latent mixture, in scikit-learn's layout for its covariance
        type: (n_clusters, latent_dim, latent_dim) for 'full' (the default),
        (n_clusters, latent_dim) for 'diag', (n_clusters,) for 'spherical'.
    network_state_ : dict of str to ndarray
        Every trained weight; see Notes.
    x_offset_ : ndarray of shape (n_features_in_,)
    x_scale_ : float
        The rows are ``(X - x_offset_) / x_scale_`` inside the networks.
    pretrain_loss_curve_ : list of float
    loss_curve_ : list of float
        Negative evidence lower bound per epoch of joint training: the
        training loss, of each row's neighbour target and one drawn code.
    bound_curve_ : list of float
        Average evidence lower bound of the training rows themselves, in
        the units of :attr:`lower_bound_`, before joint training and after
        each epoch (``n_iter_ + 1`` values). Training stops when it has not
        risen for ``n_iter_no_change`` epochs and keeps the weights where
        it was highest, which may be the start.
    n_iter_ : int
        Epochs of joint training run.
    lower_bound_ : float
        Average evidence lower bound of the training rows at the fitted
        model (:meth:`score`; gross outliers, which do not train, are not
        among them): the model's own objective, comparable between fits of
        the same data, and the highest value of :attr:`bound_curve_`.
    n_features_in_ : int

    Notes
    -----
    The fitted state is plain (arrays and numbers). ``_build_networks()``
    rebuilds the untrained modules from the hyperparameters and
    ``n_features_in_``, and ``network_state_`` loads into them; the
    estimator does this itself on first use after being restored.

    Examples
    --------
    A quick fit (tiny networks and few epochs; the defaults train far longer):

    >>> from sklearn.datasets import make_blobs
    >>> from gaussmix.deep import DeepGaussianMixtureClustering
    >>> X, _ = make_blobs(n_samples=300, centers=3, n_features=6, random_state=0)
    >>> model = DeepGaussianMixtureClustering(
    ...     n_clusters=3,
    ...     latent_dim=2,
    ...     hidden_layer_sizes=(16,),
    ...     pretrain_epochs=3,
    ...     max_epochs=3,
    ...     n_autoencoders=1,
    ...     n_init=1,
    ...     random_state=0,
    ... ).fit(X)
    >>> model.predict(X).shape, model.transform(X).shape
    ((300,), (300, 2))
    >>> model.means_.shape  # the latent mixture
    (3, 2)
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        latent_dim: int = 10,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
        hidden_layer_sizes: tuple[int, ...] | None = None,
        activation: str = "gelu",
        reconstruction: str = "gaussian",
        noise_variance: str = "per_feature",
        covariance_type: str = "full",
        pretrain_epochs: int = 50,
        max_epochs: int | str = "auto",
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        n_init: int = 10,
        init_components: int | None = None,
        n_autoencoders: int = 1,
        n_neighbors: int = 10,
        init_method: str = "tsne",
        init_smoothing: int = 3,
        input_dropout: float = 0.0,
        n_iter_no_change: int | str = "auto",
        tol: float = 0.0,
        random_state: RandomStateLike = None,
        device: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.encoder = encoder
        self.decoder = decoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.reconstruction = reconstruction
        self.noise_variance = noise_variance
        self.covariance_type = covariance_type
        self.pretrain_epochs = pretrain_epochs
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_init = n_init
        self.init_components = init_components
        self.n_autoencoders = n_autoencoders
        self.n_neighbors = n_neighbors
        self.init_method = init_method
        self.init_smoothing = init_smoothing
        self.input_dropout = input_dropout
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------
    def _settings(self) -> ClusteringSettings:
        for name in ("encoder", "decoder"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, nn.Module):
                raise TypeError(
                    f"{name} must be a torch.nn.Module or None, got "
                    f"{type(value).__name__}."
                )
        sizes = common.check_hidden_sizes(self.hidden_layer_sizes)
        return ClusteringSettings(
            n_clusters=check.check_int("n_clusters", self.n_clusters, 1),
            latent_dim=check.check_int("latent_dim", self.latent_dim, 1),
            hidden_layer_sizes=sizes,
            activation=check.check_choice(
                "activation", self.activation, sorted(ACTIVATIONS)
            ),
            reconstruction=check.check_choice(
                "reconstruction", self.reconstruction, ["gaussian", "bernoulli"]
            ),
            noise_variance=check.check_choice(
                "noise_variance", self.noise_variance, ["shared", "per_feature"]
            ),
            covariance_type=check.check_choice(
                "covariance_type",
                self.covariance_type,
                ["diag", "spherical", "full"],
            ),
            pretrain_epochs=check.check_int("pretrain_epochs", self.pretrain_epochs, 0),
            max_epochs=_check_epochs("max_epochs", self.max_epochs, 0),
            learning_rate=check.check_float(
                "learning_rate", self.learning_rate, 0.0, inclusive=False
            ),
            batch_size=check.check_int("batch_size", self.batch_size, 1),
            n_init=check.check_int("n_init", self.n_init, 1),
            init_components=_check_init_components(
                self.init_components, self.n_clusters
            ),
            n_autoencoders=check.check_int("n_autoencoders", self.n_autoencoders, 1),
            n_neighbors=check.check_int("n_neighbors", self.n_neighbors, 0),
            init_method=check.check_choice(
                "init_method", self.init_method, ["tsne", "codes"]
            ),
            init_smoothing=check.check_int("init_smoothing", self.init_smoothing, 0),
            input_dropout=_check_fraction("input_dropout", self.input_dropout),
            n_iter_no_change=_check_epochs(
                "n_iter_no_change", self.n_iter_no_change, 1
            ),
            tol=check.check_float("tol", self.tol, 0.0, inclusive=True),
            verbose=check.check_int("verbose", self.verbose, 0),
            device=common.resolve_device(self.device),
        )

    def _build_networks(
        self, noise_variance: str | None = None
    ) -> VariationalClusteringNetwork:
        """Untrained modules for ``n_features_in_`` rows (weights from torch's
        global generator; seed it for repeatable weights).

        ``noise_variance`` None (rebuilding the fitted networks) takes the
        decoder's noise from the fitted state, whatever the hyperparameter
        says now (a model saved before it existed has a shared one).
        """
        settings = self._settings()
        if noise_variance is None:
            state = getattr(self, "network_state_", {})
            if "log_noise_variance" in state:
                per_feature = np.ndim(state["log_noise_variance"]) == 1
                noise_variance = "per_feature" if per_feature else "shared"
            else:
                noise_variance = settings.noise_variance
        n_features, latent = self.n_features_in_, settings.latent_dim
        sizes = settings.hidden_layer_sizes or default_hidden_sizes(n_features)
        activation = settings.activation
        if self.encoder is None:
            encoder = mlp((n_features, *sizes), activation)
        else:
            encoder = copy.deepcopy(self.encoder)
        if self.decoder is None:
            widths = (latent, *reversed(sizes), n_features)
            decoder = mlp(widths, activation, final_activation=False)
        else:
            decoder = copy.deepcopy(self.decoder)
            check_decoder(decoder, latent, n_features)
        return VariationalClusteringNetwork(
            encoder,
            decoder,
            output_width(encoder, n_features),
            latent,
            settings.n_clusters,
            settings.covariance_type,
            settings.reconstruction,
            noise_variance,
            n_features,
        )

    # ------------------------------------------------------------------
    def fit(self, X: Array, y: Any = None) -> DeepGaussianMixtureClustering:
        """Pretrain, initialise the latent mixture by EM, and train jointly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : DeepGaussianMixtureClustering
        """
        settings = self._settings()
        X = common.check_rows(self, X, reset=True)
        if len(X) < settings.n_clusters:
            raise ValueError(
                f"n_clusters={settings.n_clusters} needs at least as many rows; "
                f"X has {len(X)}. Lower n_clusters or give more rows."
            )
        training = X[_training_rows(X, settings)]
        self._set_scaling(training, settings.reconstruction)
        self._train_seeded(training, settings)
        # the rows left out of training get their clusters as new rows do
        self.labels_ = self._responsibilities(self._scaled(X)).argmax(axis=1)
        _warn_if_clusters_empty(self.labels_, settings.n_clusters)
        return self

    def _train(self, X: np.ndarray, settings: ClusteringSettings, seed: int) -> None:
        rows = common.as_tensor(self._scaled(X), settings.device)
        build = functools.partial(self._build_networks, settings.noise_variance)
        trained = train_clustering(build, rows, settings, seed)
        self.pretrain_loss_curve_ = trained.pretrain_losses
        self.loss_curve_ = trained.losses
        self.n_iter_ = len(trained.losses)
        jacobian = self.n_features_in_ * np.log(self.x_scale_)
        self.bound_curve_ = [float(bound - jacobian) for bound in trained.bounds]
        self._store(trained.network)
        self.lower_bound_ = float(np.mean(self._scores(self._scaled(X))))

    def _set_scaling(self, X: np.ndarray, reconstruction: str) -> None:
        if reconstruction == "bernoulli":
            _check_unit_interval(X)
            self.x_offset_ = np.zeros(X.shape[1])
            self.x_scale_ = 1.0
            return
        self.x_offset_, self.x_scale_ = common.centre_and_scale(X)

    def _store(self, network: VariationalClusteringNetwork) -> None:
        self.network_state_ = common.state_to_numpy(network)
        self._remember_network(network)
        with torch.no_grad():
            prior = network.prior
            weights = prior.weights.to("cpu", torch.float64).numpy()
            # a float32 softmax sums to one only to float32 rounding
            self.weights_ = weights / weights.sum()
            self.means_ = prior.means.to("cpu", torch.float64).numpy()
            self.covariances_ = prior.covariances.to("cpu", torch.float64).numpy()

    # ------------------------------------------------------------------
    def _checked(self, X: Array) -> np.ndarray:
        check_is_fitted(self, "network_state_")
        X = common.check_rows(self, X, reset=False)
        if self.reconstruction == "bernoulli":
            # the Bernoulli likelihood of a value outside [0, 1] is no density
            _check_unit_interval(X)
        return self._scaled(X)

    def transform(self, X: Array) -> np.ndarray:
        """Latent codes: the means of ``q(z | x)``, shape (n_samples, latent_dim)."""
        network = self._network()
        codes = common.batched(
            lambda x: network.encode(x)[0],
            self._checked(X),
            common.module_device(network),
        )
        return common.refuse_unrepresentable(codes, "The codes")

    def predict_proba(self, X: Array) -> np.ndarray:
        """Cluster responsibilities at each row's code, (n_samples, n_clusters)."""
        return self._responsibilities(self._checked(X))

    def _responsibilities(self, scaled: np.ndarray) -> np.ndarray:
        network = self._network()

        def proba(x: torch.Tensor) -> torch.Tensor:
            return network.prior.log_responsibilities(network.encode(x)[0]).exp()

        resp = common.batched(proba, scaled, common.module_device(network))
        return common.refuse_unrepresentable(resp, "The cluster responsibilities")

    def predict(self, X: Array) -> np.ndarray:
        """The most responsible cluster of each row, shape (n_samples,)."""
        return self.predict_proba(X).argmax(axis=1)

    def score_samples(self, X: Array) -> np.ndarray:
        """Evidence lower bound of each row at its posterior-mean code.

        In the units of the rows as given (the scaling's Jacobian is taken
        into account for the Gaussian model), shape (n_samples,). The
        reconstruction term is evaluated at the code's mean rather than
        averaged over draws, so the value is deterministic.
        """
        return self._scores(self._checked(X))

    def _scores(self, scaled: np.ndarray) -> np.ndarray:
        network = self._network()
        values = common.batched(network.elbo, scaled, common.module_device(network))
        values = common.refuse_unrepresentable(values, "The evidence lower bound")
        return values - self.n_features_in_ * np.log(self.x_scale_)

    def score(self, X: Array, y: Any = None) -> float:
        """Average of :meth:`score_samples`."""
        return float(np.mean(self.score_samples(X)))


def _check_unit_interval(X: np.ndarray) -> None:
    if X.min() < 0 or X.max() > 1:
        raise ValueError(
            "reconstruction='bernoulli' needs every value in [0, 1]; X "
            f"ranges over [{X.min():.4g}, {X.max():.4g}]. Divide by the "
            "largest intensity or use reconstruction='gaussian'."
        )


def _training_rows(X: np.ndarray, settings: ClusteringSettings) -> np.ndarray:
    """Rows that train the networks (:func:`rows_to_train_on`): gross
    outliers are left out for the Gaussian model; Bernoulli data lie in
    [0, 1] and keep every row."""
    if settings.reconstruction == "bernoulli":
        return np.ones(len(X), dtype=bool)
    minimum = max(settings.n_clusters, settings.n_neighbors + 1)
    return rows_to_train_on(X, minimum, "DeepGaussianMixtureClustering")


def _warn_if_clusters_empty(labels: np.ndarray, n_clusters: int) -> None:
    held = np.unique(labels)
    if len(held) < n_clusters:
        empty = sorted(set(range(n_clusters)) - set(held.tolist()))
        warnings.warn(
            f"Number of clusters holding a training row ({len(held)}) is smaller "
            f"than n_clusters ({n_clusters}); cluster(s) {empty} are empty. "
            "Training merged them into others: the data may support fewer "
            "clusters (compare lower_bound_ across n_clusters).",
            ConvergenceWarning,
            # the caller of fit
            stacklevel=3,
        )


def _check_epochs(name: str, value: Any, minimum: int) -> int | str:
    if isinstance(value, str) and value == "auto":
        return value
    try:
        return check.check_int(name, value, minimum)
    except ValueError:
        raise check.InvalidParameterError(
            f"The {name!r} parameter must be 'auto' or an int in the range "
            f"[{minimum}, inf). Got {value!r} instead."
        ) from None


def _check_fraction(name: str, value: Any) -> float:
    value = check.check_float(name, value, 0.0, inclusive=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}; 0 turns it off.")
    return value


def _check_init_components(value: Any, n_clusters: Any) -> int | None:
    if value is None:
        return None
    value = check.check_int("init_components", value, 1)
    if isinstance(n_clusters, int) and value < n_clusters:
        raise ValueError(
            f"init_components={value} must be at least n_clusters={n_clusters}; "
            "None fits twice as many."
        )
    return value
