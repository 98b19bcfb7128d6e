"""The ``offers`` command line: one entry point, one group per kind of user and job."""

from __future__ import annotations

import json
import logging
import sys
import time

import typer

from models.cli import app as model_app
from offers.demo import demo
from offers.errors import OffersError
from offers.settings import get_settings
from offers.stack import LocalStack, stack_status
from offers.stack.kafka import broker_jars, create_topics
from offers.stopping import stop_on_sigterm
from simulators.cli import app as simulate_app

app = typer.Typer(help="Real-time, location-aware offer engine.", no_args_is_help=True)
stack_app = typer.Typer(help="The local stack: a Kafka broker and Redis as child processes.")
topics_app = typer.Typer(help="The engine's Kafka topics.")
features_app = typer.Typer(help="The Feast feature repository.")
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.add_typer(features_app, name="features")
app.add_typer(simulate_app, name="simulate")
app.add_typer(model_app, name="model")
app.command(name="demo")(demo)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # kafka-python logs every reconnect at ERROR while a broker starts: keep it quiet.
    logging.getLogger("kafka").setLevel(logging.CRITICAL if not verbose else logging.INFO)


@stack_app.command("up")
def stack_up(
    foreground: bool = typer.Option(
        False, "--foreground", "-f", help="Stay attached; Ctrl-C stops the stack."
    ),
) -> None:
    """Fetch (once), start and wait for the Kafka broker and Redis; create the topics."""
    settings = get_settings()
    stack = LocalStack(settings, detach=not foreground)
    started = time.monotonic()
    state = stack.up()
    typer.echo(f"Kafka  {state.kafka_bootstrap}  (pid {state.kafka_pid}, log {state.kafka_log})")
    typer.echo(f"Redis  {state.redis_url}  (pid {state.redis_pid}, log {state.redis_log})")
    typer.echo(f"ready in {time.monotonic() - started:.1f} s; environment for other shells:")
    for key, value in state.environment().items():
        typer.echo(f"  export {key}={value}")
    if not foreground:
        typer.echo("stop with: offers stack down")
        return
    stop_on_sigterm()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping the stack")
    finally:
        stack.down()


@stack_app.command("fetch")
def stack_fetch() -> None:
    """Fetch the Kafka broker's jars from Maven Central into the cache (once)."""
    libs = broker_jars(get_settings())
    typer.echo(f"Kafka broker jars in {libs}")


@topics_app.command("create")
def topics_create() -> None:
    """Create the engine's topics on OFFERS_KAFKA_BOOTSTRAP (idempotent)."""
    settings = get_settings()
    created = create_topics(settings.kafka_bootstrap, settings)
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or 'none needed'}")


@features_app.command("apply")
def features_apply() -> None:
    """Register the feature repository in OFFERS_FEAST_DATA_DIR (idempotent)."""
    from features.store import apply_feature_repo

    settings = get_settings()
    apply_feature_repo(settings)
    typer.echo(f"feature repository applied in {settings.feast_data_dir.resolve()}")


@stack_app.command("down")
def stack_down(
    wipe: bool = typer.Option(False, help="Also delete the topics' and Redis' data."),
) -> None:
    """Stop the broker and Redis started by 'offers stack up'."""
    stack = LocalStack(get_settings())
    stack.down()
    if wipe:
        stack.wipe()
    typer.echo(f"stack stopped ({stack.root}); logs stay in {stack.root}/kafka and /redis")


@stack_app.command("status")
def stack_status_cmd() -> None:
    """Print what runs, whether it answers, and where the logs are (JSON)."""
    typer.echo(json.dumps(stack_status(get_settings().stack_dir), indent=2))


def run() -> None:
    """Entry point: errors of the engine become one clear line and exit code 1."""
    try:
        app()
    except OffersError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
