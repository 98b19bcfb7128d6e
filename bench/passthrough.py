"""A Faust app that does no work: each record of ``bench.passthrough.in`` goes, unchanged
and with its key, to ``bench.passthrough.out``. What a record costs on its way through a
worker that does nothing with it: the floor of ``bench.decision_latency``.

The app is configured as the stream processor's (``streams.worker.create_app``): the same
broker, serializers, partitions and consumer settings, from the ``OFFERS_*`` environment.
``faust -A bench.passthrough worker -l info`` runs it (the module builds the app when
Faust asks for ``app``, not at import):
``WorkerProcess(settings, name, log_dir, app="bench.passthrough")`` starts it.
"""

from __future__ import annotations

from functools import cache

import faust

from offers.settings import Settings, get_settings
from offers.topics import TopicSpec
from streams.worker import app_options

INPUT = TopicSpec("bench.passthrough.in", key="customer_id", event_types=("booking",))
OUTPUT = TopicSpec("bench.passthrough.out", key="customer_id", event_types=("booking",))


def create_app(settings: Settings) -> faust.App:
    """The pass-through app for ``settings``: one agent that consumes and produces."""
    app = faust.App(settings.stream_app_id, **app_options(settings))
    source = app.topic(INPUT.name, key_type=bytes, value_type=bytes)
    sink = app.topic(OUTPUT.name, key_type=bytes, value_type=bytes)

    async def passthrough(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)

    app.agent(source, name="passthrough")(passthrough)
    return app


@cache
def _app() -> faust.App:
    return create_app(get_settings())


def __getattr__(name: str) -> faust.App:
    """``app``, when Faust's command line looks it up: built from the environment."""
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
