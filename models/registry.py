"""A file-based registry of scoring models: one directory per version, a champion pointer.

Layout of a registry directory::

    v1-20260714T101500Z/      one version: its number and when it was registered (UTC)
        model.txt             the booster in LightGBM's own text format
        meta.json             features (names, kinds, categories), metrics, training data,
                              training parameters, created_at, LightGBM version
    v2-20260715T083000Z/
    champion                  the name of the version the engine scores with
    challenger                the name of a version scoring in shadow beside it (optional)

Writes are atomic. A version is written into a hidden staging directory inside the
registry (same file system) and renamed to its final name in one step, so a reader sees
all of a version or none of it: staging directories (``.staging-*``) are never listed. The
champion pointer is replaced in one step (``os.replace``). Files are fsynced before they
are renamed. Version numbers are chosen under an exclusive ``flock`` on ``.lock``, so
concurrent registrations never share a number.

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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from models.errors import RegistryError

MODEL_DIR_VARIABLE = "OFFERS_MODEL_DIR"
MODEL_FILE = "model.txt"
META_FILE = "meta.json"
CHAMPION_FILE = "champion"
CHALLENGER_FILE = "challenger"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
_VERSION = re.compile(r"^v(?P<number>[1-9][0-9]*)-(?P<stamp>[0-9]{8}T[0-9]{6}Z)$")
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
    training: dict[str, Any]
    parent: str | None = None
    """The version this one was trained to replace (the champion when it was trained)."""
    monitoring: dict[str, Any] = Field(default_factory=dict)
    """Reference distributions of the features and scores on the training data, which
    live traffic is compared with (``models.drift``)."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A version loaded from the registry."""

    version: str
    booster: lgb.Booster
    meta: ModelMeta


class ModelRegistry:
    """The versions under ``directory`` (created on the first registration)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

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
    ) -> str:
        """Store ``booster`` as a new version and return its name.

        ``features`` are the names, kinds and categories the booster was trained on, in
        column order (``FeatureEncoder.schema()``); they must match its feature names."""
        schema = tuple(FeatureSchema.model_validate(feature) for feature in features)
        names = [feature.name for feature in schema]
        if list(booster.feature_name()) != names:
            raise RegistryError(
                "the booster's features differ from the features given: "
                f"{booster.feature_name()} vs {names}"
            )
        moment = (created_at or datetime.now(UTC)).astimezone(UTC)
        self.directory.mkdir(parents=True, exist_ok=True)
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
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.directory))
            try:
                _write(staging / MODEL_FILE, booster.model_to_string())
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
        raise RegistryError(f"no model version {version!r} in {self.directory} (known: {known})")

    def meta(self, version: str) -> ModelMeta:
        """The meta of ``version`` alone, without parsing its model."""
        return self._read_meta(self.resolve(version))

    def _read_meta(self, name: str) -> ModelMeta:
        try:
            return ModelMeta.model_validate_json(
                (self.directory / name / META_FILE).read_text(encoding="utf-8")
            )
        except (OSError, ValidationError) as exc:
            raise RegistryError(f"model version {name} is damaged: {exc}") from exc

    def load(self, version: str) -> RegisteredModel:
        """The booster and meta of ``version`` (full name or ``v<number>``)."""
        name = self.resolve(version)
        folder = self.directory / name
        meta = self._read_meta(name)
        try:
            booster = lgb.Booster(model_str=(folder / MODEL_FILE).read_text(encoding="utf-8"))
        except (OSError, lgb.basic.LightGBMError) as exc:
            raise RegistryError(f"model version {name} is damaged: {exc}") from exc
        if tuple(booster.feature_name()) != meta.feature_names:
            raise RegistryError(
                f"model version {name}: model.txt and meta.json name other features"
            )
        return RegisteredModel(name, booster, meta)

    def champion(self) -> str | None:
        """The champion version's name, None if none was promoted."""
        return self._pointed(CHAMPION_FILE)

    def challenger(self) -> str | None:
        """The version scoring in shadow beside the champion, None if there is none."""
        return self._pointed(CHALLENGER_FILE)

    def promote(self, version: str) -> str:
        """Make ``version`` the champion; returns its full name. A challenger that
        becomes the champion stops being the challenger."""
        name = self.resolve(version)
        self._point(CHAMPION_FILE, name)
        if self.challenger() == name:
            self.shadow(None)
        return name

    def shadow(self, version: str | None) -> str | None:
        """Make ``version`` the challenger (None: no challenger); returns its full name."""
        if version is None:
            with self._locked():
                (self.directory / CHALLENGER_FILE).unlink(missing_ok=True)
                _fsync_directory(self.directory)
            return None
        name = self.resolve(version)
        self._point(CHALLENGER_FILE, name)
        return name

    def _pointed(self, pointer_file: str) -> str | None:
        try:
            name = (self.directory / pointer_file).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if name not in self.versions():
            raise RegistryError(
                f"the {pointer_file} pointer names {name!r}, which is not a version"
            )
        return name

    def _point(self, pointer_file: str, name: str) -> None:
        with self._locked():
            handle, temporary = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=self.directory)
            try:
                os.fchmod(handle, _FILE_MODE)  # mkstemp makes it private to its owner
                with os.fdopen(handle, "w", encoding="utf-8") as pointer:
                    pointer.write(name + "\n")
                    pointer.flush()
                    os.fsync(pointer.fileno())
                os.replace(temporary, self.directory / pointer_file)
                _fsync_directory(self.directory)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


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


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
