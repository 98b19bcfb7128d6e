"""The models a worker decides with, swapped while it runs.

:class:`ModelSlot` holds the registry's champion (which decides) and its challenger
(which scores in shadow: its scores are logged with each decision, never acted on). A
worker calls :meth:`ModelSlot.refresh` every ``OFFERS_MODEL_POLL_SECONDS``: when the
registry's pointers name other versions, the new models are loaded and swapped in one
assignment, so a micro-batch is scored entirely by the old models or entirely by the new.
A version that cannot be loaded (damaged, trained on other features) is logged and the
slot keeps what it had: a bad promotion never stops the decisions.
"""

from __future__ import annotations

import logging

from models.errors import ModelError
from models.registry import ModelRegistry
from models.scoring import Scorer
from streams.decisions.engine import Models

log = logging.getLogger(__name__)


class ModelSlot:
    """The champion and challenger scorers of ``registry``, kept current by :meth:`refresh`."""

    def __init__(self, registry: ModelRegistry, *, threads: int = 1) -> None:
        self.registry = registry
        self._threads = threads
        self._champion: Scorer | None = None
        self._challenger: Scorer | None = None
        self.models: Models | None = None
        """What the next micro-batch is scored with; None until a champion is promoted."""

    def refresh(self) -> bool:
        """Load the registry's champion and challenger if they changed; whether anything
        changed. Blocking (reads files): call it from a thread in an event loop."""
        try:
            champion_name = self.registry.champion()
            challenger_name = self.registry.challenger()
        except ModelError as exc:
            log.error("model registry %s unreadable: %s", self.registry.directory, exc)
            return False
        champion = self._load(champion_name, self._champion)
        challenger = self._load(challenger_name, self._challenger)
        if champion is self._champion and challenger is self._challenger:
            return False
        self._champion, self._challenger = champion, challenger
        self.models = None
        if champion is not None:
            self.models = Models(
                version=champion.version,
                score=champion.score_candidates,
                challenger_version=challenger.version if challenger is not None else None,
                challenger=challenger.score_candidates if challenger is not None else None,
            )
        log.info(
            "scoring with champion %s, challenger %s",
            champion.version if champion else None,
            challenger.version if challenger else None,
        )
        return True

    def _load(self, name: str | None, current: Scorer | None) -> Scorer | None:
        if name is None:
            return None
        if current is not None and current.version == name:
            return current
        try:
            return Scorer(self.registry.load(name), threads=self._threads)
        except ModelError as exc:
            log.error("model %s not loaded, keeping %s: %s", name, current and current.version, exc)
            return current
