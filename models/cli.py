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
from typing import TYPE_CHECKING, Annotated, Any

import typer

from models.bootstrap import main as bootstrap_main
from models.comparison import compare_policies, comparison_table
from models.errors import FeatureMismatchError, ModelError, RegistryError
from models.features import FloatArray
from models.registry import HistoryEntry, ModelMeta, ModelRegistry, default_registry_dir
from models.report import write_report
from models.scoring import Scorer
from models.training import DEFAULT_CONFIG, TrainingConfig, load_config, time_split
from offers.errors import OffersError
from offers.settings import Settings, get_settings
from simulators.oracle import CandidateTruth

if TYPE_CHECKING:
    from models.lifecycle import SimulatedWorld
    from models.logged import LoggedTrainingSet
    from models.off_policy import Estimate

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


# training on the engine's logs ---------------------------------------------------------

ConfigPath = Annotated[
    Path, typer.Option("--config", help="Training configuration (TOML).", exists=True)
]
WorldCustomers = Annotated[
    int | None,
    typer.Option(
        "--world-customers",
        help="The logs come from a simulated world of this many customers: its truth gives "
        "the oracle (seed: --world-seed).",
    ),
]
WorldSeed = Annotated[
    int | None,
    typer.Option("--world-seed", help="Seed of that world (default $OFFERS_SIMULATOR_SEED)."),
]


def _world(customers: int | None, seed: int | None, settings: Settings) -> SimulatedWorld | None:
    from models.lifecycle import SimulatedWorld

    if customers is None:
        return None
    return SimulatedWorld(customers, settings.simulator_seed if seed is None else seed)


def _logged(settings: Settings, config: TrainingConfig) -> LoggedTrainingSet:
    from models.lifecycle import read_logged  # imports Feast, slow: only when needed

    typer.echo("reading the logged decisions and their outcomes (Kafka), features (Feast)...")
    try:
        return read_logged(
            settings,
            feature_service=config.data.feature_service,
            attribution_window=config.data.attribution_window,
            echo=typer.echo,
        )
    except (ModelError, OffersError) as exc:
        raise typer.BadParameter(str(exc)) from None


def metrics_lines(metrics: dict[str, Any]) -> list[str]:
    """The held-out metrics of a report: the model beside the oracle and the champion."""

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else "-"

    champion = metrics.get("champion_name") or "champion"
    lines = [
        f"held-out decisions: {metrics['rows']:,}, conversion rate {metrics['positive_rate']:.4f}",
        f"{'':<28}{'model':>10}{'oracle':>10}{champion[:20]:>22}",
    ]
    for key, label in (
        ("auc", "AUC"),
        ("average_precision", "average precision"),
        ("log_loss", "log loss"),
        ("expected_calibration_error", "calibration error (ECE)"),
        ("lift_top_decile", "lift of the top decile"),
    ):
        lines.append(
            f"{label:<28}{cell(metrics.get(key)):>10}{cell(metrics.get('oracle_' + key)):>10}"
            f"{cell(metrics.get('champion_' + key)):>22}"
        )
    ratio = metrics.get("auc_ratio_to_oracle")
    if isinstance(ratio, float):
        lines.append(f"the model's AUC is {ratio:.1%} of the oracle's")
    return lines


def estimate_lines(found: list[Estimate]) -> list[str]:
    """Off-policy estimates, one per line."""
    return [
        f"{e.policy[:34]:<36}{e.estimator:<7}{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]  "
        f"({e.matched:,} of {e.decisions:,} decisions match the log)"
        for e in found
    ]


@app.command("train")
def train_command(
    config_path: ConfigPath = DEFAULT_CONFIG,
    registry: RegistryDir = None,
    world_customers: WorldCustomers = None,
    world_seed: WorldSeed = None,
    promote_it: Annotated[bool, typer.Option("--promote", help="Make it the champion.")] = False,
    shadow_it: Annotated[
        bool, typer.Option("--shadow", help="Score it in shadow beside the champion.")
    ] = False,
) -> None:
    """Train a model on the engine's logged decisions and register it with its report.

    Reads every logged decision and outcome, joins the features known at each decision
    (Feast's offline log, point in time), trains LightGBM as the configuration says
    (printing the validation loss as it goes), evaluates it on the newest decisions beside
    the champion and, for a simulated world, the oracle; prints the metrics and the
    off-policy estimates, and registers the version."""
    if promote_it and shadow_it:
        raise typer.BadParameter("--promote and --shadow exclude each other")
    from models.lifecycle import retrain

    settings = get_settings()
    config = _config(config_path)
    data = _logged(settings, config)
    store = _registry(registry)
    typer.echo(f"training ({config_path.name}, seed {config.boosting.seed})...")
    try:
        done = retrain(
            data,
            config,
            store,
            config_path=config_path,
            world=_world(world_customers, world_seed, settings),
            echo=typer.echo,
        )
    except ModelError as exc:
        raise typer.BadParameter(str(exc)) from None
    for line in metrics_lines(done.report.metrics):
        typer.echo(line)
    typer.echo("conversions per message, off-policy on the held-out decisions:")
    for line in estimate_lines(done.assessment.off_policy):
        typer.echo("  " + line)
    typer.echo(f"report: {done.report.html}")
    typer.echo(f"registered: {done.version} (parent {store.meta(done.version).parent or 'none'})")
    with _refused_as_bad_parameter():
        if promote_it:
            typer.echo(f"champion: {store.promote(done.version, actor='cli')}")
        if shadow_it:
            typer.echo(f"challenger: {store.shadow(done.version)}")


@app.command("evaluate")
def evaluate_command(
    version: Version,
    config_path: ConfigPath = DEFAULT_CONFIG,
    registry: RegistryDir = None,
    world_customers: WorldCustomers = None,
    world_seed: WorldSeed = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report directory (default ./reports/<version>).")
    ] = None,
) -> None:
    """Evaluate a version on the newest logged decisions and write its report.

    The newest decisions are the configuration's test share; the version is evaluated
    beside the champion and, for a simulated world, the oracle."""
    from models.lifecycle import assess

    settings = get_settings()
    config = _config(config_path)
    store = _registry(registry)
    with _refused_as_bad_parameter():
        model = store.load(version)
        champion_name = store.champion()
        champion = store.load(champion_name) if champion_name else None
    data = _logged(settings, config)
    try:
        test = time_split(data, config.split).test
        world = _world(world_customers, world_seed, settings)
        assessment = assess(
            data,
            model.booster,
            test,
            title=model.version,
            champion=champion
            if champion is not None and champion.version != model.version
            else None,
            truth=world.truth(data) if world is not None else None,
            reference=model.meta.monitoring or None,
            facts={"version": model.version, "parent": model.meta.parent or "none"},
        )
    except ModelError as exc:
        raise typer.BadParameter(str(exc)) from None
    overlap = model.meta.data.get("test_from")
    first_test = data.rows["decided_at"][test].min()
    if isinstance(overlap, str) and first_test.isoformat() < overlap:
        typer.echo(
            f"note: {model.version} was trained on decisions up to {overlap}; the held-out "
            "decisions here start before that, so its figures flatter it"
        )
    report = write_report(assessment.inputs, out or Path("reports") / model.version)
    for line in metrics_lines(report.metrics):
        typer.echo(line)
    typer.echo("conversions per message, off-policy on the held-out decisions:")
    for line in estimate_lines(assessment.off_policy):
        typer.echo("  " + line)
    typer.echo(f"report: {report.html}")


@app.command("compare")
def compare_command(
    versions: Annotated[list[str], typer.Argument(help="Versions to compare with rules.")],
    world_customers: Annotated[
        int, typer.Option("--world-customers", help="Customers of the simulated world.")
    ],
    world_seed: WorldSeed = None,
    config_path: ConfigPath = DEFAULT_CONFIG,
    registry: RegistryDir = None,
    send_share: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0, help="Share of the held-out moments every policy sends to."
        ),
    ] = 0.5,
) -> None:
    """Rules against each version at equal send volume, by the simulated world's truth.

    On the newest logged decisions, every policy sends to the same share of them; each is
    credited the true chances of what it sent: conversions per message and incremental
    revenue."""
    settings = get_settings()
    config = _config(config_path)
    store = _registry(registry)
    with _refused_as_bad_parameter():
        models = [store.load(v) for v in versions]
    data = _logged(settings, config)
    test = time_split(data, config.split).test
    rows = data.rows[test].reset_index(drop=True)
    world = _world(world_customers, world_seed, settings)
    assert world is not None
    truth = world.truth(data)
    scores: dict[str, FloatArray] = {}
    for model in models:
        try:
            scores[model.version] = Scorer(model).score(data.features[test])
        except FeatureMismatchError as exc:
            raise typer.BadParameter(f"{model.version} cannot score these rows: {exc}") from None
    volume = max(1, round(rows["decision_id"].nunique() * send_share))
    results = compare_policies(
        rows,
        CandidateTruth(truth.uplift[test], truth.net_revenue_eur[test]),
        scores,
        volume=volume,
        seed=config.boosting.seed,
    )
    typer.echo(comparison_table(results))


def _config(path: Path) -> TrainingConfig:
    try:
        return load_config(path)
    except ModelError as exc:
        raise typer.BadParameter(str(exc)) from None
