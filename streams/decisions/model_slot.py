"""The models a worker decides with, swapped while it runs, and the champion's drift.

:class:`ModelSlot` holds the registry's champion (which decides) and its challenger
(which scores in shadow: its scores are logged with each decision, never acted on). A
worker calls :meth:`ModelSlot.refresh` every ``OFFERS_MODEL_POLL_SECONDS``: when the
registry's pointers name other versions, the new models are loaded and swapped in one
assignment, so a micro-batch is scored entirely by the old models or entirely by the new.
A version that cannot be loaded (damaged, trained on other features) is logged and the
slot keeps what it had: a bad promotion never stops the decisions.

With ``compile_models`` (``OFFERS_MODEL_COMPILE``), each model swapped in is then compiled to
native code in a thread of its own (``models.compiled``; seconds, or a read of the object
code the registry keeps): it scores with LightGBM at once, and with the compiled model,
which agrees to 1e-6, once that is ready. A model that cannot be compiled is logged and
goes on with LightGBM.

When the champion's meta holds a reference profile (``ModelMeta.monitoring``), every
micro-batch it scores is also counted by a :class:`~models.drift.DriftMonitor` (the rows
are encoded once, then scored and counted), which :attr:`ModelSlot.drift` exposes; a new
champion starts a new monitor.
"""

from __future__ import annotations

import logging
import threading

from models.drift import DriftMonitor, DriftWindow
from models.errors import ModelError
from models.inputs import Candidates, CustomerColumns
from models.registry import ModelRegistry
from models.scoring import Scorer
from streams.decisions.engine import FloatArray, Models, ScoreFn

log = logging.getLogger(__name__)


class ModelSlot:
    """The champion and challenger scorers of ``registry``, kept current by :meth:`refresh`."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        threads: int = 1,
        drift_window: DriftWindow | None = None,
        compile_models: bool = False,
    ) -> None:
        """``drift_window``: how much recent traffic the champion's drift is measured on;
        ``compile_models``: compile each model swapped in."""
        self.registry = registry
        self._threads = threads
        self._compile = compile_models
        self.compiling: dict[str, threading.Thread] = {}
        """The compilations started, by version (a thread that has ended is done)."""
        self._drift_window = drift_window or DriftWindow()
        self._champion: Scorer | None = None
        self._challenger: Scorer | None = None
        self.models: Models | None = None
        """What the next micro-batch is scored with; None until a champion is promoted."""
        self.drift: DriftMonitor | None = None
        """The champion's drift on the traffic it scored; None without a champion or
        without a reference profile in its meta."""

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
        if champion is not self._champion:
            self.drift = self._monitor(champion)
        self._champion, self._challenger = champion, challenger
        models: Models | None = None
        if champion is not None:
            score: ScoreFn = champion.score_candidates
            if self.drift is not None:
                score = _observed(champion, self.drift)
            models = Models(
                version=champion.version,
                score=score,
                challenger_version=challenger.version if challenger is not None else None,
                challenger=challenger.score_candidates if challenger is not None else None,
            )
        self.models = models
        log.info(
            "scoring with champion %s, challenger %s",
            champion.version if champion else None,
            challenger.version if challenger else None,
        )
        if self._compile:
            for scorer in (champion, challenger):
                if scorer is not None and not scorer.compiled:
                    self._start_compiling(scorer)
        return True

    def _start_compiling(self, scorer: Scorer) -> None:
        running = self.compiling.get(scorer.version)
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(
            target=self._compile_now, args=(scorer,), name=f"compile-{scorer.version}", daemon=True
        )
        self.compiling[scorer.version] = thread
        thread.start()

    def _compile_now(self, scorer: Scorer) -> None:
        try:
            scorer.compile(self.registry.directory / scorer.version)
        except ModelError as exc:
            log.error("model %s not compiled, scoring with LightGBM: %s", scorer.version, exc)
            return
        log.info("model %s compiled: scoring with its native code", scorer.version)

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

    def _monitor(self, champion: Scorer | None) -> DriftMonitor | None:
        """A drift monitor of ``champion``'s reference profile, None if it has none."""
        if champion is None:
            return None
        try:
            reference = self.registry.meta(champion.version).monitoring
            if not reference:
                log.info("model %s has no reference profile: drift not measured", champion.version)
                return None
            monitor = DriftMonitor(reference, self._drift_window, version=champion.version)
        except (ModelError, ValueError) as exc:
            log.error("model %s: drift not measured: %s", champion.version, exc)
            return None
        if monitor.reference.feature_names != champion.encoder.names:
            log.error(
                "model %s: its reference profile names other features: drift not measured",
                champion.version,
            )
            return None
        return monitor


def _observed(scorer: Scorer, monitor: DriftMonitor) -> ScoreFn:
    """``scorer.score_candidates`` that also counts each batch's rows and scores."""

    def score(customers: CustomerColumns, candidates: Candidates) -> FloatArray:
        matrix = scorer.encoder.encode(customers, candidates)
        scores = scorer.score(matrix)
        monitor.observe(matrix, scores)
        return scores

    return score
