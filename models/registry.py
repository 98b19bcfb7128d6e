"""A file-based registry of scoring models: versions with their reports, a champion and
a challenger pointer, and the history of the champion.

Layout of a registry directory::

    v1-20260714T101500Z/      one version: its number and when it was registered (UTC)
        model.txt             the booster in LightGBM's own text format
        meta.json             features (names, kinds, categories), metrics, training data
                              (with its time window when known), training parameters,
                              created_at, LightGBM version, parent, monitoring references
        report/               the evaluation report given at registration (optional):
                              report.html, its PNGs, metrics.json
    v2-20260715T083000Z/
    champion                  the name of the version the engine scores with
    challenger                the name of a version scoring in shadow beside it (optional)
    history.jsonl             every change of the champion, one JSON object a line

Writes are atomic. A version is written into a hidden staging directory inside the
registry (same file system), its report included, and renamed to its final name in one
step, so a reader sees all of a version or none of it: staging directories
(``.staging-*``) are never listed. Pointers and the history are replaced in one step
(``os.replace``). Files are fsynced before they are renamed. Version numbers, pointer
changes and history lines are written under an exclusive ``flock`` on ``.lock``, taken
once per change, so concurrent registrations never share a number and every change of
the champion is recorded with the champion it replaced.

Promotions form a stack: promoting A, then B, then C and rolling back twice makes B and
then A the champion again (:meth:`ModelRegistry.rollback`).

Where the registry lives is the caller's choice (:class:`ModelRegistry` takes the
directory). :func:`default_registry_dir` is what the command line uses: the
``OFFERS_MODEL_DIR`` environment variable if set, else ``models/registry`` in the source
tree.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from models.errors import (
    RegistryDamaged,
    RegistryError,
    ReportNotFound,
    RollbackRefused,
    VersionNotFound,
)

MODEL_DIR_VARIABLE = "OFFERS_MODEL_DIR"
MODEL_FILE = "model.txt"
META_FILE = "meta.json"
REPORT_DIR = "report"
REPORT_HTML = "report.html"
CHAMPION_FILE = "champion"
CHALLENGER_FILE = "challenger"
HISTORY_FILE = "history.jsonl"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
KEY_METRICS = ("auc", "oracle_auc", "log_loss", "calibration_error")
"""The metrics listings show of each version (``calibration_error`` is the ECE)."""
VERSION_REFERENCE_PATTERN = r"^v[1-9][0-9]{0,8}(-[0-9]{8}T[0-9]{6}Z)?$"
"""How a version may be named: in full (``v3-20260714T101500Z``) or as ``v<number>``."""
REPORT_FILE_PATTERN = r"^[A-Za-z0-9_.-]+\.(png|json|html)$"
"""The names of the report files that are served: no directories, three kinds."""
_VERSION = re.compile(r"^v(?P<number>[1-9][0-9]*)-(?P<stamp>[0-9]{8}T[0-9]{6}Z)$")
_REPORT_FILE = re.compile(REPORT_FILE_PATTERN)
_STAMP = "%Y%m%dT%H%M%SZ"
_DIRECTORY_MODE = 0o755
_FILE_MODE = 0o644


def default_registry_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$OFFERS_MODEL_DIR`` if set, else ``models/registry`` in the source tree."""
    configured = environ.get(MODEL_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent / "registry"


class FeatureSchema(BaseModel):
    """A feature as a model was trained with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    categories: tuple[str, ...] = ()


class ModelMeta(BaseModel):
    """What ``meta.json`` records of a version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    created_at: AwareDatetime
    lightgbm_version: str
    features: tuple[FeatureSchema, ...]
    metrics: dict[str, Any]
    data: dict[str, Any]
    """What the model was trained on: ``rows``, and ``window_start``/``window_end`` when
    the data is a time window of logged traffic."""
    training: dict[str, Any]
    parent: str | None = None
    """The version this one was trained to replace (the champion when it was trained)."""
    monitoring: dict[str, Any] = Field(default_factory=dict)
    """Reference distributions of the features and scores on the training data, which
    live traffic is compared with (``models.drift``)."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    @property
    def key_metrics(self) -> dict[str, float]:
        """Those of :data:`KEY_METRICS` the version has, as numbers."""
        return {
            name: float(value)
            for name in KEY_METRICS
            if isinstance(value := self.metrics.get(name), int | float)
            and not isinstance(value, bool)
        }

    @property
    def data_window(self) -> tuple[str | None, str | None]:
        """The first and last moment of the training data, as recorded (None if not)."""
        start, end = self.data.get("window_start"), self.data.get("window_end")
        return (None if start is None else str(start), None if end is None else str(end))


class HistoryEntry(BaseModel):
    """One change of the champion, as a line of ``history.jsonl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: AwareDatetime
    action: Literal["promote", "rollback"]
    version: str
    """The champion from then on."""
    previous: str | None
    """The champion it replaced (None if there was none)."""
    actor: str
    """Who made the change: a user's id, or ``cli``."""


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A version loaded from the registry."""

    version: str
    booster: lgb.Booster
    meta: ModelMeta


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ModelRegistry:
    """The versions under ``directory`` (created on the first registration); ``clock``
    gives the time of registrations and history entries."""

    def __init__(self, directory: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.directory = Path(directory)
        self._clock = clock

    def versions(self) -> list[str]:
        """Names of the complete versions, oldest (lowest number) first."""
        if not self.directory.is_dir():
            return []
        found = [
            (int(match["number"]), entry.name)
            for entry in self.directory.iterdir()
            if (match := _VERSION.match(entry.name)) and entry.is_dir()
        ]
        return [name for _, name in sorted(found)]

    def register(
        self,
        booster: lgb.Booster,
        *,
        features: Sequence[Mapping[str, Any]],
        metrics: Mapping[str, Any],
        data: Mapping[str, Any],
        training: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        parent: str | None = None,
        monitoring: Mapping[str, Any] | None = None,
        report_dir: Path | None = None,
    ) -> str:
        """Store ``booster`` as a new version and return its name.

        ``features`` are the names, kinds and categories the booster was trained on, in
        column order (``FeatureEncoder.schema()``); they must match its feature names.
        ``report_dir`` (HTML, PNGs, metrics.json) is copied into the version as
        ``report/``: the version appears with its report or not at all."""
        schema = tuple(FeatureSchema.model_validate(feature) for feature in features)
        names = [feature.name for feature in schema]
        if list(booster.feature_name()) != names:
            raise RegistryError(
                "the booster's features differ from the features given: "
                f"{booster.feature_name()} vs {names}"
            )
        if report_dir is not None and not Path(report_dir).is_dir():
            raise RegistryError(f"the report directory {report_dir} is not a directory")
        moment = (created_at or self._clock()).astimezone(UTC)
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.directory))
        try:
            _write(staging / MODEL_FILE, booster.model_to_string())
            if report_dir is not None:
                _copy_report(Path(report_dir), staging / REPORT_DIR)
            with self._locked():
                number = max((_number(name) for name in self.versions()), default=0) + 1
                version = f"v{number}-{moment.strftime(_STAMP)}"
                meta = ModelMeta(
                    version=version,
                    created_at=moment,
                    lightgbm_version=lgb.__version__,
                    features=schema,
                    metrics=dict(metrics),
                    data=dict(data),
                    training=dict(training or {}),
                    parent=parent,
                    monitoring=dict(monitoring or {}),
                )
                _write(staging / META_FILE, json.dumps(meta.model_dump(mode="json"), indent=2))
                staging.chmod(_DIRECTORY_MODE)  # mkdtemp makes it private to its owner
                _fsync_directory(staging)
                staging.rename(self.directory / version)
                _fsync_directory(self.directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version

    def resolve(self, version: str) -> str:
        """The full name of ``version``, given in full or as ``v<number>``."""
        names = self.versions()
        if version in names:
            return version
        match = [name for name in names if name.split("-", 1)[0] == version]
        if len(match) == 1:
            return match[0]
        known = ", ".join(names) or "none"
        raise VersionNotFound(f"no model version {version!r} in {self.directory} (known: {known})")

    def meta(self, version: str) -> ModelMeta:
        """The meta of ``version`` alone, without parsing its model."""
        return self._read_meta(self.resolve(version))

    def _read_meta(self, name: str) -> ModelMeta:
        try:
            return ModelMeta.model_validate_json(
                (self.directory / name / META_FILE).read_text(encoding="utf-8")
            )
        except (OSError, ValidationError) as exc:
            raise RegistryDamaged(f"model version {name} is damaged: {exc}") from exc

    def load(self, version: str) -> RegisteredModel:
        """The booster and meta of ``version`` (full name or ``v<number>``)."""
        name = self.resolve(version)
        folder = self.directory / name
        meta = self._read_meta(name)
        try:
            booster = lgb.Booster(model_str=(folder / MODEL_FILE).read_text(encoding="utf-8"))
        except (OSError, lgb.basic.LightGBMError) as exc:
            raise RegistryDamaged(f"model version {name} is damaged: {exc}") from exc
        if tuple(booster.feature_name()) != meta.feature_names:
            raise RegistryDamaged(
                f"model version {name}: model.txt and meta.json name other features"
            )
        return RegisteredModel(name, booster, meta)

    def report_path(self, version: str) -> Path | None:
        """The ``report/report.html`` of ``version``, None if it has none."""
        path = self.directory / self.resolve(version) / REPORT_DIR / REPORT_HTML
        return path if path.is_file() else None

    def report_file(self, version: str, file_name: str) -> Path:
        """The file ``file_name`` of the report of ``version``: only a plain file (no
        link, no directory) directly in ``report/`` whose name matches
        :data:`REPORT_FILE_PATTERN`; :class:`ReportNotFound` for anything else."""
        name = self.resolve(version)
        if not _REPORT_FILE.fullmatch(file_name):
            raise ReportNotFound(
                f"{file_name!r} is not the name of a report file (letters, digits, '_', "
                "'.', '-', ending in .png, .json or .html)"
            )
        folder = self.directory / name / REPORT_DIR
        path = folder / file_name
        try:
            inside = path.resolve(strict=True).parent == folder.resolve(strict=True)
        except OSError:
            inside = False
        if not inside or path.is_symlink() or not path.is_file():
            raise ReportNotFound(f"model version {name} has no report file {file_name!r}")
        return path

    def champion(self) -> str | None:
        """The champion version's name, None if none was promoted."""
        return self._pointed(CHAMPION_FILE)

    def challenger(self) -> str | None:
        """The version scoring in shadow beside the champion, None if there is none."""
        return self._pointed(CHALLENGER_FILE)

    def pointer(self, which: Literal["champion", "challenger"]) -> str | None:
        """The name a pointer holds, unchecked: unlike :meth:`champion` and
        :meth:`challenger`, a name that is no longer a version is returned, not refused."""
        return self._pointer(which)

    def promote(self, version: str, *, actor: str = "cli") -> str:
        """Make ``version`` the champion and record it in the history; returns its full
        name. A version that cannot be loaded is refused. A challenger that becomes the
        champion stops being the challenger. Promoting the champion changes nothing."""
        name = self.load(version).version
        with self._locked():
            self._change_champion(name, "promote", actor)
        return name

    def rollback(self, *, actor: str = "cli") -> str:
        """Make the champion the one it replaced, popping the last promotion: after
        promoting A, B and C, a rollback makes B the champion and another one A. Returns
        the new champion's name; :class:`RollbackRefused` if there is none to go back to."""
        if not self.directory.is_dir():
            raise RollbackRefused(f"no champion in {self.directory}: nothing to roll back")
        with self._locked():
            current = self._pointer(CHAMPION_FILE)
            target = _rollback_target(current, self._read_history(), self.directory)
            if target not in self.versions():
                raise RollbackRefused(
                    f"cannot roll back from {current} to {target}: {target} is no longer "
                    f"in {self.directory}"
                )
            self.load(target)
            self._change_champion(target, "rollback", actor)
        return target

    def history(self) -> list[HistoryEntry]:
        """Every change of the champion, oldest first."""
        return self._read_history()

    def shadow(self, version: str | None) -> str | None:
        """Make ``version`` the challenger (None: no challenger); returns its full name.
        A version that cannot be loaded is refused."""
        if version is None:
            if self.directory.is_dir():
                with self._locked():
                    self._remove_pointer(CHALLENGER_FILE)
            return None
        name = self.load(version).version
        with self._locked():
            self._write_pointer(CHALLENGER_FILE, name)
        return name

    def _change_champion(
        self, name: str, action: Literal["promote", "rollback"], actor: str
    ) -> None:
        """Point the champion at ``name`` and record the change; the lock is held."""
        previous = self._pointer(CHAMPION_FILE)
        if previous == name:
            return
        self._write_pointer(CHAMPION_FILE, name)
        if self._pointer(CHALLENGER_FILE) == name:
            self._remove_pointer(CHALLENGER_FILE)
        entry = HistoryEntry(
            at=self._clock().astimezone(UTC),
            action=action,
            version=name,
            previous=previous,
            actor=actor,
        )
        history = self.directory / HISTORY_FILE
        recorded = history.read_text(encoding="utf-8") if history.exists() else ""
        _replace(history, recorded + entry.model_dump_json() + "\n")

    def _read_history(self) -> list[HistoryEntry]:
        path = self.directory / HISTORY_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries: list[HistoryEntry] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entries.append(HistoryEntry.model_validate_json(line))
            except ValidationError as exc:
                raise RegistryDamaged(f"{path} line {number} is damaged: {exc}") from exc
        return entries

    def _pointer(self, pointer_file: str) -> str | None:
        try:
            return (self.directory / pointer_file).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def _pointed(self, pointer_file: str) -> str | None:
        name = self._pointer(pointer_file)
        if name is not None and name not in self.versions():
            raise RegistryDamaged(
                f"the {pointer_file} pointer names {name!r}, which is not a version"
            )
        return name

    def _write_pointer(self, pointer_file: str, name: str) -> None:
        _replace(self.directory / pointer_file, name + "\n")

    def _remove_pointer(self, pointer_file: str) -> None:
        (self.directory / pointer_file).unlink(missing_ok=True)
        _fsync_directory(self.directory)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Held once per change: ``flock`` blocks a second open of ``.lock`` even in the
        same process, so nothing called under it takes it again."""
        with open(self.directory / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def champion_stack(history: Iterable[HistoryEntry]) -> list[str]:
    """The champions a run of rollbacks would go back through, the current one last.

    A promotion pushes its version, a rollback pops. An entry whose ``previous`` is not
    the top of the stack (the pointer was changed outside the history, or the history
    starts after a first champion) starts the stack again from what it records."""
    stack: list[str] = []
    for entry in history:
        if entry.action == "promote":
            if not stack or stack[-1] != entry.previous:
                stack = [] if entry.previous is None else [entry.previous]
            stack.append(entry.version)
        elif stack[-2:] == [entry.version, entry.previous]:
            stack.pop()
        else:
            stack = [entry.version]
    return stack


def _rollback_target(current: str | None, history: list[HistoryEntry], directory: Path) -> str:
    """The champion a rollback from ``current`` goes back to; RollbackRefused if none."""
    if current is None:
        raise RollbackRefused(f"no champion in {directory}: nothing to roll back")
    stack = champion_stack(history)
    if not stack:
        raise RollbackRefused(
            f"the champion {current} was set before {directory / HISTORY_FILE} recorded "
            "any promotion: there is no earlier champion to roll back to"
        )
    if stack[-1] != current:
        raise RollbackRefused(
            f"the champion {current} was set outside the history ({directory / HISTORY_FILE} "
            f"last made {stack[-1]} champion): there is no earlier champion to roll back to"
        )
    if len(stack) < 2:
        raise RollbackRefused(
            f"{current} is the first champion recorded in {directory / HISTORY_FILE}: "
            "there is no earlier champion to roll back to"
        )
    return stack[-2]


def _number(version: str) -> int:
    match = _VERSION.match(version)
    if match is None:
        raise RegistryError(f"not a version name: {version!r}")
    return int(match["number"])


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _replace(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a reader sees the old or the new file."""
    handle, temporary = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=path.parent)
    try:
        os.fchmod(handle, _FILE_MODE)  # mkstemp makes it private to its owner
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _copy_report(source: Path, target: Path) -> None:
    """Copy the report directory ``source`` to ``target`` (links copied as the files they
    point at), readable by all, every file and directory fsynced."""
    shutil.copytree(source, target, symlinks=False)
    for folder, _, files in os.walk(target):
        for file_name in files:
            path = Path(folder) / file_name
            path.chmod(_FILE_MODE)
            with open(path, "rb") as file:
                os.fsync(file.fileno())
        Path(folder).chmod(_DIRECTORY_MODE)
        _fsync_directory(Path(folder))


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
