"""``gaussmix demo``: the worked example on built-in data."""

from __future__ import annotations

import click

from gaussmix.cli.commands import SKLEARN_TYPES, fit_or_select, save_figure
from gaussmix.cli.options import OutputPath, max_components_option, progress_option
from gaussmix.cli.report import bic_table, fit_summary, format_table


@click.command()
@click.option(
    "-o",
    "--output",
    type=OutputPath(figure=True),
    default="gaussmix-demo.png",
    show_default=True,
    help="Where to write the figure.",
)
@max_components_option(default=6)
@progress_option
def demo(output: str, max_components: int, progress: bool | None) -> None:
    """Worked example: cluster the iris flowers and draw the result.

    Fits every covariance type with 1 to --max-components components to the
    150 flowers' four measurements, prints the BIC table and the chosen
    mixture, compares its clusters with the species, and writes a figure of
    the clusters, their covariance ellipses, the BIC curves and the
    classification uncertainty.
    """
    from sklearn.datasets import load_iris
    from sklearn.metrics import adjusted_rand_score
    from sklearn.metrics.cluster import contingency_matrix

    iris = load_iris()
    X = iris.data
    names = [name.replace(" (cm)", "") for name in iris.feature_names]
    click.echo(
        f"Iris: {X.shape[0]} flowers, {X.shape[1]} measurements (cm), 3 species.\n"
    )
    model, selection = fit_or_select(
        X, "auto", list(SKLEARN_TYPES), max_components, {"random_state": 0}, progress
    )
    click.echo(bic_table(selection.ks, selection.bic) + "\n")
    click.echo(fit_summary(model, X, names) + "\n")
    clusters = model.predict(X)
    table = contingency_matrix(iris.target, clusters)
    counts = [
        [species, *map(str, row)]
        for species, row in zip(iris.target_names, table, strict=True)
    ]
    header = ["species", *(f"cluster {k}" for k in range(model.n_components))]
    click.echo(format_table(header, counts))
    agreement = adjusted_rand_score(iris.target, clusters)
    click.echo(
        f"\nAgreement of the clusters with the species (adjusted Rand index): "
        f"{agreement:.3f}"
    )
    save_figure(model, X, names, selection, output)
