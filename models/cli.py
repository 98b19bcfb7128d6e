"""``model`` commands: train the bootstrap model, list the registered versions, promote one.

A Typer group for the ``offers`` command line (``app.add_typer(models.cli.app)``); each
command takes ``--registry`` (default ``$OFFERS_MODEL_DIR``, else ``models/registry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models.bootstrap import main as bootstrap_main
from models.errors import RegistryError
from models.registry import ModelRegistry, default_registry_dir

app = typer.Typer(
    name="model",
    help="The scoring model: train, list, promote.",
    no_args_is_help=True,
)
app.command(name="bootstrap")(bootstrap_main)

RegistryDir = Annotated[
    Path | None,
    typer.Option("--registry", help="Registry directory (default $OFFERS_MODEL_DIR)."),
]


def _registry(directory: Path | None) -> ModelRegistry:
    return ModelRegistry(directory or default_registry_dir())


@app.command("versions")
def versions(registry: RegistryDir = None) -> None:
    """The registered versions, oldest first, with their held-out AUC (* the champion,
    ~ the challenger in shadow)."""
    store = _registry(registry)
    champion, challenger = store.champion(), store.challenger()
    for name in store.versions():
        metrics = store.meta(name).metrics
        mark = "*" if name == champion else "~" if name == challenger else " "
        auc, oracle = metrics.get("auc"), metrics.get("oracle_auc")
        scores = f"AUC {auc:.4f} (oracle {oracle:.4f})" if auc and oracle else "no AUC"
        typer.echo(f"{mark} {name}  {scores}")


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version name, or v<number>.")],
    registry: RegistryDir = None,
) -> None:
    """Make a version the champion."""
    try:
        name = _registry(registry).promote(version)
    except RegistryError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"champion: {name}")


@app.command("shadow")
def shadow(
    version: Annotated[
        str | None, typer.Argument(help="Version name, or v<number>; none to stop the shadow.")
    ] = None,
    registry: RegistryDir = None,
) -> None:
    """Score a version in shadow beside the champion (its scores are logged with every
    decision, never acted on); without a version, stop."""
    try:
        name = _registry(registry).shadow(version)
    except RegistryError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"challenger: {name or 'none'}")
