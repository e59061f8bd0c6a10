"""The commands that work on data and model files: fit, predict, score, sample, info."""

from __future__ import annotations

import logging
from typing import Any

import click
import numpy as np

from gaussmix.cli.data import Table, write_table
from gaussmix.cli.errors import InputError, input_errors
from gaussmix.cli.missing import fit_refuses_missing, model_refuses_missing
from gaussmix.cli.options import (
    WEIGHT_THRESHOLD,
    ComponentsType,
    OutputPath,
    Threshold,
    bayesian_options,
    bayesian_settings,
    data_options,
    load_table,
    max_components_option,
    missing_option,
    progress_option,
    progress_settings,
    split_columns,
)
from gaussmix.cli.report import (
    bayesian_summary,
    bic_table,
    components_table,
    fit_summary,
    weights_summary,
)
from gaussmix.cli.selection import Selection

logger = logging.getLogger("gaussmix")

SKLEARN_TYPES = ("full", "tied", "diag", "spherical")
MODEL_PATH = OutputPath()
FIGURE_PATH = OutputPath(figure=True)
DATA_PATH = click.Path(exists=True, dir_okay=False, allow_dash=True)


@click.command()
@click.argument("data", type=DATA_PATH)
@click.option(
    "-k",
    "--components",
    "k",
    type=ComponentsType(),
    required=True,
    help="Number of components, or 'auto' to choose it by BIC; with "
    "--bayesian, the largest number of components.",
)
@click.option(
    "-t",
    "--covariance-type",
    default="full",
    show_default=True,
    help="full, tied, diag, spherical (or another registered covariance "
    "family), or 'auto' to choose among the first four by BIC.",
)
@max_components_option(default=9)
@click.option("--n-init", type=click.IntRange(1), default=1, show_default=True)
@click.option("--max-iter", type=click.IntRange(1), default=100, show_default=True)
@click.option("--tol", type=click.FloatRange(0), default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output", type=MODEL_PATH, help="Write the model here (.gmm).")
@click.option(
    "--plot", type=FIGURE_PATH, help="Write a figure here (.png, .pdf, .svg)."
)
@click.option(
    "--noise",
    is_flag=True,
    help="Add a uniform noise component over the data's region; rows it "
    "explains best are labelled -1 (not with --bayesian).",
)
@bayesian_options
@data_options
@missing_option
@progress_option
def fit(
    data: str,
    k: int | str,
    covariance_type: str,
    max_components: int,
    n_init: int,
    max_iter: int,
    tol: float,
    seed: int,
    output: str | None,
    plot: str | None,
    noise: bool,
    bayesian: bool,
    weight_concentration_prior_type: str | None,
    weight_concentration_prior: float | None,
    mean_precision_prior: float | None,
    degrees_of_freedom_prior: float | None,
    weight_threshold: float | None,
    columns: str | None,
    header: bool | None,
    delimiter: str | None,
    no_missing: bool,
    progress: bool | None,
) -> None:
    """Fit a Gaussian mixture to DATA (CSV, TSV, .npy or Parquet).

    Prints the fitted components, convergence and BIC/AIC; with -k auto (and
    -t auto) the number of components (and the covariance type) with the
    lowest BIC is chosen. With --noise every fit has a uniform noise
    component too, and its proportion is printed.

    With --bayesian, fits a BayesianGaussianMixture of at most K components
    and prints how many it uses (the effective number of components) and the
    sorted weights.

    Missing values (empty, NA, NaN, null or None cells) are marginalised by
    EM, unless --no-missing refuses them; --bayesian refuses them too.
    --plot draws the rows without missing values.
    """
    from gaussmix.core.covariance import get_family

    prior = bayesian_settings(
        bayesian,
        k,
        covariance_type,
        dict(
            weight_concentration_prior_type=weight_concentration_prior_type,
            weight_concentration_prior=weight_concentration_prior,
            mean_precision_prior=mean_precision_prior,
            degrees_of_freedom_prior=degrees_of_freedom_prior,
            weight_threshold=weight_threshold,
        ),
    )
    table = load_table(data, header, delimiter)
    why_not = fit_refuses_missing(no_missing, bayesian)
    X, names = table.matrix(
        split_columns(columns), missing=why_not is None, why_not=why_not or ""
    )
    if plot is not None and np.isnan(X).any(axis=1).all():
        raise InputError(
            "--plot draws the rows without missing values, and every row of "
            f"{table.source} has one; fill some in or leave out --plot."
        )
    types = list(SKLEARN_TYPES) if covariance_type == "auto" else [covariance_type]
    with input_errors():
        for name in types:
            get_family(name)
    params = dict(n_init=n_init, max_iter=max_iter, tol=tol, random_state=seed)
    if noise and bayesian:
        raise click.UsageError(
            "--noise is for maximum-likelihood fits, not --bayesian."
        )
    if bayesian:
        threshold = WEIGHT_THRESHOLD if weight_threshold is None else weight_threshold
        with input_errors():
            model = fit_bayesian(X, k, types[0], {**params, **prior}, progress)
        click.echo(bayesian_summary(model, X, names, threshold))
        if output is not None:
            info = {
                "columns": names,
                "n_rows": int(X.shape[0]),
                "weight_threshold": threshold,
            }
            _save(model, output, info)
        if plot is not None:
            save_figure(model, X, names, None, plot, threshold)
        return
    if noise:
        params["noise"] = True
    with input_errors():
        model, selection = fit_or_select(X, k, types, max_components, params, progress)
    click.echo(fit_summary(model, X, names))
    if selection is not None:
        click.echo("\n" + bic_table(selection.ks, selection.bic))
    if output is not None:
        info: dict[str, Any] = {"columns": names, "n_rows": int(X.shape[0])}
        if selection is not None:
            info["bic"] = {"ks": selection.ks, "by_covariance_type": selection.bic}
        _save(model, output, info)
    if plot is not None:
        save_figure(model, X, names, selection, plot)


def fit_or_select(
    X: np.ndarray,
    k: int | str,
    types: list[str],
    max_components: int,
    params: dict[str, Any],
    progress: bool | None,
) -> tuple[Any, Selection | None]:
    """One fit, or a selection by BIC when K or the covariance type is 'auto'.

    ``params`` go to every GaussianMixture; ``progress`` is the --progress
    choice (None: automatic).
    """
    from tqdm.auto import tqdm

    from gaussmix.cli.selection import select_by_bic
    from gaussmix.fit.progress import progress_bar_delay
    from gaussmix.models import GaussianMixture

    show, delay = progress_settings(progress)
    params = {**params, "verbose": int(show)}
    with progress_bar_delay(delay):
        if k != "auto" and len(types) == 1:
            model = GaussianMixture(k, covariance_type=types[0], **params).fit(X)
            return model, None
        ks = list(range(1, max_components + 1)) if k == "auto" else [k]
        with tqdm(
            total=len(ks) * len(types),
            desc="models",
            unit="fit",
            disable=not show,
            delay=delay,
            leave=False,
        ) as bar:
            selection = select_by_bic(
                X, ks, types, on_candidate=lambda: bar.update(1), **params
            )
    return selection.model, selection


def fit_bayesian(
    X: np.ndarray,
    k: int,
    covariance_type: str,
    params: dict[str, Any],
    progress: bool | None,
) -> Any:
    """A BayesianGaussianMixture of at most ``k`` components fitted to ``X``.

    ``params`` go to the estimator (EM settings and the prior);
    ``progress`` is the --progress choice (None: automatic).
    """
    from gaussmix.fit.progress import progress_bar_delay
    from gaussmix.models import BayesianGaussianMixture

    show, delay = progress_settings(progress)
    model = BayesianGaussianMixture(
        k, covariance_type=covariance_type, verbose=int(show), **params
    )
    with progress_bar_delay(delay):
        return model.fit(X)


PREDICTIVE_OPTION = click.option(
    "--predictive",
    is_flag=True,
    help="For a Bayesian model: use the posterior predictive (a mixture of "
    "Student-t distributions) rather than the expected log-densities.",
)


@click.command()
@click.argument(
    "model_file", metavar="MODEL", type=click.Path(exists=True, dir_okay=False)
)
@click.argument("data", type=DATA_PATH)
@click.option("--proba", is_flag=True, help="Also write each component's probability.")
@PREDICTIVE_OPTION
@click.option("-o", "--output", type=MODEL_PATH, help="CSV file (default: stdout).")
@data_options
@missing_option
def predict(
    model_file: str,
    data: str,
    proba: bool,
    predictive: bool,
    output: str | None,
    columns: str | None,
    header: bool | None,
    delimiter: str | None,
    no_missing: bool,
) -> None:
    """Assign each row of DATA to a component of MODEL.

    Writes a CSV with a 'label' column (and p_0, p_1, ... with --proba).
    A model fitted with --noise labels the noise's rows -1, and its last
    probability column is p_noise.
    With --predictive, a Bayesian model's labels and probabilities come from
    its posterior predictive. A GaussianMixture labels rows with missing
    values from their observed columns.
    """
    model, info = _load_mixture(model_file)
    if predictive:
        predictive_proba = _method(model, "predictive_proba")
    X = _model_matrix(
        model, info, load_table(data, header, delimiter), columns, no_missing
    )
    with input_errors():
        if predictive:
            probabilities = predictive_proba(X)
            labels = probabilities.argmax(axis=1)
        else:
            labels = model.predict(X)
            probabilities = model.predict_proba(X) if proba else None
        names, values = ["label"], [labels]
        if proba:
            names += [f"p_{k}" for k in range(probabilities.shape[1])]
            if hasattr(model, "noise_proportion_") and not predictive:
                # the noise's column is the last
                names[-1] = "p_noise"
            values += list(probabilities.T)
    _write(output, names, values)


@click.command()
@click.argument(
    "model_file", metavar="MODEL", type=click.Path(exists=True, dir_okay=False)
)
@click.argument("data", type=DATA_PATH)
@click.option(
    "--threshold",
    type=Threshold(),
    help="Flag rows whose log-density is below T, or the P%% least likely "
    "rows; adds an 'anomaly' column (1 = flagged).",
)
@PREDICTIVE_OPTION
@click.option("-o", "--output", type=MODEL_PATH, help="CSV file (default: stdout).")
@data_options
@missing_option
def score(
    model_file: str,
    data: str,
    threshold: tuple[str, float] | None,
    predictive: bool,
    output: str | None,
    columns: str | None,
    header: bool | None,
    delimiter: str | None,
    no_missing: bool,
) -> None:
    """Log-density of each row of DATA under MODEL.

    Writes a CSV with a 'log_density' column (and 'anomaly' with --threshold).
    With --predictive, a Bayesian model's log-density is that of its
    posterior predictive. A GaussianMixture scores a row with missing
    values by the marginal density of its observed columns.
    """
    model, info = _load_mixture(model_file)
    method = _method(
        model, "predictive_score_samples" if predictive else "score_samples"
    )
    X = _model_matrix(
        model, info, load_table(data, header, delimiter), columns, no_missing
    )
    with input_errors():
        log_density = method(X)
    names, values = ["log_density"], [log_density]
    if threshold is not None:
        cut = _threshold(threshold, log_density)
        flagged = (log_density < cut).astype(np.int64)
        names.append("anomaly")
        values.append(flagged)
        click.echo(
            f"{int(flagged.sum())} of {len(flagged)} rows have a log-density "
            f"below {cut:.6g}.",
            err=True,
        )
    _write(output, names, values)


@click.command()
@click.argument(
    "model_file", metavar="MODEL", type=click.Path(exists=True, dir_okay=False)
)
@click.option(
    "-n", "n_samples", type=click.IntRange(1), required=True, help="Rows to draw."
)
@click.option(
    "--seed", type=int, default=None, help="Random seed (default: the model's)."
)
@click.option(
    "-o", "--output", type=MODEL_PATH, help="CSV or .npy file (default: CSV on stdout)."
)
def sample(
    model_file: str, n_samples: int, seed: int | None, output: str | None
) -> None:
    """Draw N rows from MODEL.

    Writes the model's columns plus the 'component' each row came from.
    """
    model, info = _load_mixture(model_file)
    if seed is not None:
        model.set_params(random_state=seed)
    draw = _method(model, "sample")
    with input_errors():
        # a model file can hold a mixture with nothing to draw from (a
        # noise fit whose noise component took all the weight)
        X, components = draw(n_samples)
    if output is not None and output.lower().endswith(".npy"):
        with input_errors(f"cannot write {output}"):
            np.save(output, X, allow_pickle=False)
        return
    names = info.get("columns") or [str(j) for j in range(X.shape[1])]
    _write(output, [*names, "component"], [*X.T, components])


@click.command()
@click.argument(
    "model_file", metavar="MODEL", type=click.Path(exists=True, dir_okay=False)
)
def info(model_file: str) -> None:
    """Describe MODEL: its kind, parameters and components."""
    from gaussmix.io import read_metadata

    model, extra = _load(model_file)
    with input_errors():
        metadata = read_metadata(model_file)
    click.echo(
        f"{model_file}: gaussmix model file, format version "
        f"{metadata['format_version']}, written by gaussmix "
        f"{metadata.get('library_version', '?')}"
    )
    click.echo(f"estimator: {type(model).__name__}")
    if not hasattr(model, "get_params"):
        # a stored model search: its tables say what it holds
        click.echo(str(model))
        return
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(model.get_params().items()))
    click.echo(f"parameters: {params}")
    if extra.get("columns"):
        click.echo(f"columns: {', '.join(extra['columns'])}")
    if not hasattr(model, "weights_"):
        fitted = sorted(k for k in vars(model) if k.endswith("_") and k[0] != "_")
        click.echo(
            f"fitted attributes: {', '.join(fitted)}" if fitted else "not fitted"
        )
        return
    click.echo(
        f"converged: {'yes' if model.converged_ else 'no'} after "
        f"{model.n_iter_} iterations\n"
    )
    if hasattr(model, "effective_n_components"):
        threshold = extra.get("weight_threshold", WEIGHT_THRESHOLD)
        if not isinstance(threshold, float) or not 0 <= threshold < 1:
            threshold = WEIGHT_THRESHOLD
        click.echo(weights_summary(model, threshold) + "\n")
    click.echo(components_table(model, extra.get("columns")))
    if "bic" in extra:
        selection = extra["bic"]
        click.echo("\n" + bic_table(selection["ks"], selection["by_covariance_type"]))


# ---------------------------------------------------------------------------


def _load(path: str) -> tuple[Any, dict[str, Any]]:
    from gaussmix.io import load, read_metadata

    with input_errors(f"cannot load {path}"):
        model = load(path)
        info = read_metadata(path).get("info")
    return model, info if isinstance(info, dict) else {}


def _load_mixture(path: str) -> tuple[Any, dict[str, Any]]:
    """A model file holding a GaussianMixture or a BayesianGaussianMixture,
    as predict, score and sample need."""
    from gaussmix import BayesianGaussianMixture, GaussianMixture

    model, info = _load(path)
    if type(model) not in (GaussianMixture, BayesianGaussianMixture):
        raise InputError(
            f"{path} holds a {type(model).__name__}, not a GaussianMixture or a "
            "BayesianGaussianMixture; this command needs a mixture (use other "
            "estimators from Python)."
        )
    if not hasattr(model, "weights_"):
        raise InputError(f"{path} holds an unfitted {type(model).__name__}.")
    return model, info


def _save(model: Any, path: str, info: dict[str, Any]) -> None:
    from gaussmix.io import save

    with input_errors(f"cannot write {path}"):
        save(model, path, info=info)
    click.echo(f"wrote model to {path}", err=True)


def save_figure(
    model, X, names, selection, path: str, threshold: float = WEIGHT_THRESHOLD
) -> None:
    from gaussmix.cli.figures import summary_figure

    # rows with missing values have no place in the picture's coordinates
    complete = X[~np.isnan(X).any(axis=1)]
    figure = summary_figure(model, complete, names, selection, threshold)
    with input_errors(f"cannot write {path}"):
        figure.savefig(path, dpi=110)
    click.echo(f"wrote figure to {path}", err=True)


def _write(path: str | None, names: list[str], columns: list[np.ndarray]) -> None:
    with input_errors(f"cannot write {path}"):
        write_table(path, names, columns)


def _method(model: Any, name: str):
    method = getattr(model, name, None)
    if method is None:
        hint = " (fit one with --bayesian)" if name.startswith("predictive") else ""
        raise InputError(f"a {type(model).__name__} model has no {name}{hint}.")
    return method


def _model_matrix(
    model: Any, info: dict, table: Table, columns: str | None, no_missing: bool
):
    """The columns of ``table`` that the model was fitted on, as an array."""
    selected = split_columns(columns)
    chosen_by = None  # the user's --columns, when given
    fitted_on = info.get("columns")
    if (
        selected is None
        and table.has_header
        and isinstance(fitted_on, list)
        and set(fitted_on) <= set(table.names)
    ):
        # without --columns, the header's columns the model was fitted on;
        # messages about them must not blame an option the user did not give
        selected = fitted_on
        chosen_by = "the columns the model was fitted on"
    why_not = model_refuses_missing(model, no_missing)
    X, _ = table.matrix(
        selected,
        missing=why_not is None,
        why_not=why_not or "",
        empty_columns=True,
        chosen_by=chosen_by,
    )
    expected = getattr(model, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        described = f" ({', '.join(fitted_on)})" if fitted_on else ""
        raise InputError(
            f"the model was fitted on {expected} columns{described} but "
            f"{X.shape[1]} are selected from {table.source}; choose them with "
            "--columns."
        )
    return X


def _threshold(threshold: tuple[str, float], log_density: np.ndarray) -> float:
    """The log-density below which rows are flagged (see :class:`Threshold`)."""
    kind, number = threshold
    if kind == "percent":
        return float(np.percentile(log_density, number))
    return number
