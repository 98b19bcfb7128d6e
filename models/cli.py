"""``model`` commands: train the bootstrap model, list and show the registered versions,
promote one, roll the champion back, score one in shadow, and read the champion's history.

A Typer group for the ``offers`` command line (``app.add_typer(models.cli.app)``); each
command takes ``--registry`` (default ``$OFFERS_MODEL_DIR``, else ``models/registry``).
A registry error (an unknown or damaged version, nothing to roll back) is reported as a
bad parameter: the message says what is wrong, and the exit code is 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from models.bootstrap import main as bootstrap_main
from models.errors import RegistryError
from models.registry import HistoryEntry, ModelMeta, ModelRegistry, default_registry_dir

app = typer.Typer(
    name="model",
    help="The scoring model: train, list, show, promote, roll back, shadow.",
    no_args_is_help=True,
)
app.command(name="bootstrap")(bootstrap_main)

RegistryDir = Annotated[
    Path | None,
    typer.Option("--registry", help="Registry directory (default $OFFERS_MODEL_DIR)."),
]
Version = Annotated[str, typer.Argument(help="Version name, or v<number>.")]
Actor = Annotated[
    str, typer.Option("--actor", help="Who makes the change, as the history records it.")
]

METRIC_LABELS = {
    "auc": "AUC",
    "oracle_auc": "oracle AUC",
    "log_loss": "log loss",
    "calibration_error": "ECE",
}
"""How :data:`models.registry.KEY_METRICS` are named on screen."""


def _registry(directory: Path | None) -> ModelRegistry:
    return ModelRegistry(directory or default_registry_dir())


@contextmanager
def _refused_as_bad_parameter() -> Iterator[None]:
    """A registry error becomes ``typer.BadParameter`` with its message (exit code 2)."""
    try:
        yield
    except RegistryError as exc:
        raise typer.BadParameter(str(exc)) from None


def _window(meta: ModelMeta) -> str | None:
    start, end = meta.data_window
    if start is None and end is None:
        return None
    return f"{start or '?'} .. {end or '?'}"


@app.command("versions")
def versions(registry: RegistryDir = None) -> None:
    """The registered versions, oldest first.

    Each with its held-out AUC and the window of its training data (* the champion, ~ the
    challenger in shadow)."""
    store = _registry(registry)
    with _refused_as_bad_parameter():
        champion, challenger = store.champion(), store.challenger()
    for name in store.versions():
        mark = "*" if name == champion else "~" if name == challenger else " "
        try:
            meta = store.meta(name)
        except RegistryError as exc:
            typer.echo(f"{mark} {name}  {exc}")
            continue
        auc, oracle = meta.metrics.get("auc"), meta.metrics.get("oracle_auc")
        line = f"AUC {auc:.4f} (oracle {oracle:.4f})" if auc and oracle else "no AUC"
        window = _window(meta)
        if window is not None:
            line += f"  data {window}"
        typer.echo(f"{mark} {name}  {line}")


@app.command("show")
def show(version: Version, registry: RegistryDir = None) -> None:
    """One version: its origin, training data, key metrics and report."""
    store = _registry(registry)
    with _refused_as_bad_parameter():
        meta = store.meta(version)
        report = store.report_path(meta.version)
        champion, challenger = store.champion(), store.challenger()
    role = (
        " (champion)"
        if meta.version == champion
        else " (challenger)"
        if meta.version == challenger
        else ""
    )
    rows = meta.data.get("rows")
    metrics = "  ".join(
        f"{METRIC_LABELS[name]} {value:.4f}" for name, value in meta.key_metrics.items()
    )
    lines = {
        "version": meta.version + role,
        "created_at": meta.created_at.isoformat(),
        "parent": meta.parent or "none",
        "data window": _window(meta) or "not recorded",
        "rows": f"{rows:,}" if isinstance(rows, int) else "not recorded",
        "metrics": metrics or "none recorded",
        "features": str(len(meta.features)),
        "report": str(report) if report is not None else "none",
    }
    for label, value in lines.items():
        typer.echo(f"{label + ':':<13}{value}")


@app.command("promote")
def promote(version: Version, registry: RegistryDir = None, actor: Actor = "cli") -> None:
    """Make a version the champion (recorded in the history)."""
    store = _registry(registry)
    with _refused_as_bad_parameter():
        previous = store.pointer("champion")
        name = store.promote(version, actor=actor)
    typer.echo(f"champion: {name} (was {previous or 'none'})")


@app.command("rollback")
def rollback(registry: RegistryDir = None, actor: Actor = "cli") -> None:
    """Make the champion the one the last promotion replaced.

    Each rollback goes one promotion further back."""
    store = _registry(registry)
    with _refused_as_bad_parameter():
        previous = store.pointer("champion")
        name = store.rollback(actor=actor)
    typer.echo(f"champion: {name} (rolled back from {previous})")


@app.command("shadow")
def shadow(
    version: Annotated[
        str | None, typer.Argument(help="Version name, or v<number>; none to stop the shadow.")
    ] = None,
    registry: RegistryDir = None,
) -> None:
    """Score a version in shadow beside the champion; without a version, stop.

    Its scores are logged with every decision, never acted on."""
    with _refused_as_bad_parameter():
        name = _registry(registry).shadow(version)
    typer.echo(f"challenger: {name or 'none'}")


def history_line(entry: HistoryEntry) -> str:
    """One change of the champion as ``history`` prints it."""
    return (
        f"{entry.at.isoformat(timespec='seconds')}  {entry.action:<8}  {entry.version}  "
        f"(was {entry.previous or 'none'})  by {entry.actor}"
    )


@app.command("history")
def history(registry: RegistryDir = None) -> None:
    """Every change of the champion, oldest first.

    When, promote or rollback, the new champion, the one it replaced, and who."""
    with _refused_as_bad_parameter():
        entries = _registry(registry).history()
    for entry in entries:
        typer.echo(history_line(entry))
