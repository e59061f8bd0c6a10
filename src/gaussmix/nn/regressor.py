"""MixtureDensityRegressor: a scikit-learn estimator of p(y | x) by an MDN."""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from torch import nn

from gaussmix._typing import Array, RandomStateLike
from gaussmix.core.gross_outliers import rows_to_train_on
from gaussmix.io import register_estimator
from gaussmix.io.checks_nn import check_mixture_density_regressor
from gaussmix.io.torch_modules import restore_with_module, state_with_module
from gaussmix.models import validation as check
from gaussmix.models.tensors import check_device
from gaussmix.nn.conditional import ConditionalMixtureDensity
from gaussmix.nn.density import COVARIANCE_TYPES
from gaussmix.nn.mdn import MixtureDensityHead
from gaussmix.nn.training import evaluate, train

logger = logging.getLogger("gaussmix")

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}

#: Rows per forward pass at prediction time.
PREDICT_BATCH = 4096


@dataclass(frozen=True)
class MDNSettings:
    """MixtureDensityRegressor's hyperparameters, validated once per use."""

    n_components: int
    covariance_type: str
    hidden_layer_sizes: tuple[int, ...]
    activation: str
    learning_rate: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    n_iter_no_change: int
    tol: float
    verbose: int
    device: torch.device
    validation_fraction: float


class MixtureDensityNetwork(nn.Module):
    """A multilayer perceptron body followed by a :class:`MixtureDensityHead`.

    Examples
    --------
    >>> import torch
    >>> from gaussmix.nn import MixtureDensityNetwork
    >>> network = MixtureDensityNetwork(
    ...     in_features=3,
    ...     out_features=2,
    ...     n_components=4,
    ...     covariance_type="full",
    ...     hidden_layer_sizes=(16,),
    ...     activation="tanh",
    ... )
    >>> mixtures = network(torch.randn(5, 3))  # one mixture over y per row of x
    >>> mixtures.means.shape
    torch.Size([5, 4, 2])
    >>> mixtures.nll(torch.randn(5, 2)).shape
    torch.Size([])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        n_components: int,
        covariance_type: str,
        hidden_layer_sizes: tuple[int, ...],
        activation: str,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = MixtureDensityHead(
            width, out_features, n_components, covariance_type
        )

    def forward(self, x: torch.Tensor) -> ConditionalMixtureDensity:
        return self.head(self.body(x))


@register_estimator(validate=check_mixture_density_regressor)
class MixtureDensityRegressor(RegressorMixin, BaseEstimator):
    """Conditional density estimation with a mixture density network.

    A small multilayer perceptron maps ``x`` to a Gaussian mixture over
    ``y`` (Bishop's mixture density network), trained by minimising the
    negative log-likelihood with Adam on minibatches. Inputs and targets are
    standardised internally; every prediction is in the original units.
    Rows holding a gross outlier in x or y (a value more than 30 robust
    spreads from its column's median; at most 2% of the rows) neither set
    the standardisation nor train: one target of 1e6 among values of order
    one made every other prediction wrong by hundreds.

    Parameters
    ----------
    n_components : int, default=5
        Mixture components per input.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Covariances of the components over the targets.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Widths of the hidden layers; ``()`` makes the parameters linear in x.
    activation : {'tanh', 'relu', 'gelu', 'silu'}, default='tanh'
    learning_rate : float, default=3e-3
    weight_decay : float, default=0.0
    batch_size : int, default=128
    max_epochs : int, default=300
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when their
        negative log-likelihood has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the best epoch's weights are kept.
        Without it the training loss is monitored the same way.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=20
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the validation split and the shuffling; the same
        seed gives the same fit on the CPU with the same number of threads
        (torch's and BLAS's: another count may round differently).
    device : str or torch.device, default=None
        Where to train (``'cuda'``...); None trains on the CPU.
    verbose : int, default=0
        1 shows a progress bar over epochs, 2 also logs every epoch.

    Attributes
    ----------
    network_ : MixtureDensityNetwork
        The trained torch module (in standardised units).
    n_features_in_ : int
    n_outputs_ : int
    n_epochs_ : int
    best_epoch_ : int
    loss_curve_ : list of float
        Training loss (standardised units) per epoch.
    validation_loss_curve_ : list of float
        Held-out negative log-likelihood (standardised units) per epoch.

    Notes
    -----
    ``score`` is the average log-likelihood of ``y`` given ``x`` (higher is
    better), not scikit-learn's R²: a density model is judged by its
    likelihood, and R² only sees the conditional mean.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.nn import MixtureDensityRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(300, 1))
    >>> y = np.where(rng.random(300) < 0.5, 1.0, -1.0) * x[:, 0]  # two branches
    >>> mdn = MixtureDensityRegressor(
    ...     2, hidden_layer_sizes=(16,), max_epochs=20, random_state=0
    ... ).fit(x, y)
    >>> mdn.predict(x[:3]).shape, mdn.predict_mode(x[:3]).shape
    ((3,), (3,))
    >>> mixtures = mdn.predict_distribution(x[:3])  # p(y | x) for each row
    >>> mixtures.weights.shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_components: int = 5,
        *,
        covariance_type: str = "full",
        hidden_layer_sizes: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        learning_rate: float = 3e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        max_epochs: int = 300,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 20,
        tol: float = 1e-4,
        random_state: RandomStateLike = None,
        device: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _check_hyperparameters(self) -> MDNSettings:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        try:
            sizes = tuple(check.check_int("hidden_layer_sizes", s, 1) for s in sizes)
        except TypeError:
            raise TypeError(
                "hidden_layer_sizes must be a tuple of positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            ) from None
        settings = MDNSettings(
            n_components=check.check_int("n_components", self.n_components, 1),
            covariance_type=check.check_choice(
                "covariance_type", self.covariance_type, list(COVARIANCE_TYPES)
            ),
            hidden_layer_sizes=sizes,
            activation=check.check_choice(
                "activation", self.activation, sorted(ACTIVATIONS)
            ),
            learning_rate=check.check_float(
                "learning_rate", self.learning_rate, 0.0, inclusive=False
            ),
            weight_decay=check.check_float(
                "weight_decay", self.weight_decay, 0.0, inclusive=True
            ),
            batch_size=check.check_int("batch_size", self.batch_size, 1),
            max_epochs=check.check_int("max_epochs", self.max_epochs, 1),
            n_iter_no_change=check.check_int(
                "n_iter_no_change", self.n_iter_no_change, 1
            ),
            tol=check.check_float("tol", self.tol, 0.0, inclusive=True),
            verbose=check.check_int("verbose", self.verbose, 0),
            device=check_device("cpu" if self.device is None else self.device),
            validation_fraction=check.check_float(
                "validation_fraction", self.validation_fraction, 0.0, inclusive=False
            ),
        )
        fraction = settings.validation_fraction
        if self.early_stopping and fraction >= 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}.")
        return settings

    # ------------------------------------------------------------------
    def fit(self, X: Array, y: Array) -> MixtureDensityRegressor:
        """Train the network on rows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : MixtureDensityRegressor
        """
        settings = self._check_hyperparameters()
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=np.float64
        )
        self._y_is_1d = y.ndim == 1
        Y = y.reshape(len(y), -1).astype(np.float64)
        self.n_outputs_ = Y.shape[1]
        # enough rows left to split into training and validation
        kept = rows_to_train_on(
            np.hstack([X, Y]), max(2, len(X) // 2), "MixtureDensityRegressor"
        )
        self.x_mean_, self.x_scale_ = _location_scale(X[kept])
        self.y_mean_, self.y_scale_ = _location_scale(Y[kept])
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        device = settings.device

        train_rows, validation_rows = self._split(len(X), settings, rng)
        train_rows = train_rows[kept[train_rows]]
        if validation_rows is not None:
            validation_rows = validation_rows[kept[validation_rows]]
        inputs = self._tensor((X - self.x_mean_) / self.x_scale_)
        targets = self._tensor((Y - self.y_mean_) / self.y_scale_)
        with torch.random.fork_rng(devices=[]):
            # the weights are drawn on the CPU; torch.manual_seed would also
            # reseed every GPU's generator, which this fork does not restore
            torch.random.default_generator.manual_seed(seed)
            network = self._new_network(settings).to(device)

        def loss(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return network(x).nll(t)

        validation = (
            None
            if validation_rows is None
            else (inputs[validation_rows], targets[validation_rows])
        )
        result = train(
            network,
            loss,
            (inputs[train_rows], targets[train_rows]),
            validation,
            learning_rate=settings.learning_rate,
            weight_decay=settings.weight_decay,
            batch_size=settings.batch_size,
            max_epochs=settings.max_epochs,
            n_iter_no_change=settings.n_iter_no_change,
            tol=settings.tol,
            generator=torch.Generator().manual_seed(seed),
            verbose=settings.verbose,
            description="MDN",
        )
        network.eval()
        self.network_ = network
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.loss_curve_ = result.train_losses
        self.validation_loss_curve_ = result.validation_losses
        if validation is not None:
            best = evaluate(loss, validation, PREDICT_BATCH)
            logger.info(
                "MDN kept epoch %d of %d (validation NLL %.4f, standardised)",
                result.best_epoch,
                result.n_epochs,
                best,
            )
        return self

    def _new_network(self, settings: MDNSettings) -> MixtureDensityNetwork:
        """An untrained network for ``n_features_in_`` inputs, on the CPU."""
        return MixtureDensityNetwork(
            self.n_features_in_,
            self.n_outputs_,
            settings.n_components,
            settings.covariance_type,
            settings.hidden_layer_sizes,
            settings.activation,
        )

    # model files hold arrays, never a pickled module: the network is saved as
    # its weights and rebuilt from the hyperparameters (gaussmix.io)
    def __gaussmix_state__(self) -> dict[str, Any]:
        return state_with_module(self, "network_")

    def __gaussmix_restore__(self, state: dict[str, Any]) -> None:
        settings = self._check_hyperparameters()
        restore_with_module(
            self,
            state,
            "network_",
            lambda: self._new_network(settings),
            settings.device,
        )

    def _split(self, n_rows: int, settings: MDNSettings, rng) -> tuple:
        if not self.early_stopping:
            return np.arange(n_rows), None
        n_validation = round(settings.validation_fraction * n_rows)
        if n_validation < 1 or n_validation >= n_rows:
            raise ValueError(
                f"early_stopping needs at least one validation row and one "
                f"training row; validation_fraction="
                f"{settings.validation_fraction} of {n_rows} rows gives "
                f"{n_validation}. Give more rows or set early_stopping=False."
            )
        order = rng.permutation(n_rows)
        return np.sort(order[n_validation:]), np.sort(order[:n_validation])

    def _tensor(self, values: np.ndarray) -> torch.Tensor:
        device = check_device("cpu" if self.device is None else self.device)
        return torch.as_tensor(values, dtype=torch.float32, device=device)

    # ------------------------------------------------------------------
    def predict_distribution(self, X: Array) -> ConditionalMixtureDensity:
        """The predicted mixture ``p(y | x)`` of every row, in y's units.

        Returns
        -------
        ConditionalMixtureDensity
            On the CPU in float64, over ``n_outputs_`` dimensions: ``log_prob``,
            ``mean``, ``mode``, ``covariance``, ``sample``, ``weights``,
            ``means``, ``covariances``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        inputs = self._tensor((X - self.x_mean_) / self.x_scale_)
        parts = []
        with torch.no_grad():
            for start in range(0, len(inputs), PREDICT_BATCH):
                mixture = self.network_(inputs[start : start + PREDICT_BATCH])
                parts.append(mixture.to("cpu", torch.float64))
        joined = ConditionalMixtureDensity.concatenate(parts)
        return joined.affine(
            torch.as_tensor(self.y_mean_), torch.as_tensor(self.y_scale_)
        )

    def _shaped(self, values: torch.Tensor) -> np.ndarray:
        out = values.numpy()
        return out[:, 0] if self._y_is_1d else out

    def predict(self, X: Array) -> np.ndarray:
        """Conditional mean ``E[y | x]``, (n_samples,) or (n_samples, n_outputs)."""
        return self._shaped(self.predict_distribution(X).mean())

    def predict_mode(self, X: Array) -> np.ndarray:
        """Most probable ``y`` given each row (the conditional density's mode)."""
        return self._shaped(self.predict_distribution(X).mode())

    def sample(self, X: Array, random_state: RandomStateLike = None) -> np.ndarray:
        """One draw of ``y`` from ``p(y | x)`` for every row of X."""
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        draws = self.predict_distribution(X).sample(torch.Generator().manual_seed(seed))
        return self._shaped(draws)

    def score_samples(self, X: Array, y: Array) -> np.ndarray:
        """``log p(y_i | x_i)`` of every row, shape (n_samples,)."""
        distribution = self.predict_distribution(X)
        Y = np.asarray(y, dtype=np.float64)
        check_consistent_length(Y, np.empty(len(distribution)))
        Y = Y.reshape(len(distribution), -1)
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but the model was fitted with "
                f"{self.n_outputs_}."
            )
        return distribution.log_prob(torch.as_tensor(Y)).numpy()

    def score(self, X: Array, y: Array, sample_weight: Array | None = None) -> float:
        """Average log-likelihood ``log p(y | x)`` (higher is better; not R²)."""
        values = self.score_samples(X, y)
        return float(np.average(values, weights=sample_weight))


def _location_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (1 for a constant column)."""
    mean = values.mean(axis=0)
    scale = values.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)
