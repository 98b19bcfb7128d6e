"""What data scientists do with the scoring models: list and read the registered versions
and their evaluation reports, promote a version, roll the champion back, score a version
in shadow. Marketers may read the list.

The registry is the directory the decision workers score from (``OFFERS_MODEL_DIR``);
they pick up a new champion or challenger at their next poll, without a restart. Every
change of the champion is recorded in the registry's history with the caller's id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import FileResponse, RedirectResponse

from models.errors import (
    RegistryDamaged,
    RegistryError,
    ReportNotFound,
    RollbackRefused,
    VersionNotFound,
)
from models.registry import (
    REPORT_FILE_PATTERN,
    VERSION_REFERENCE_PATTERN,
    ModelRegistry,
    default_registry_dir,
)
from offers.roles import Role
from offers_api.deps import Analyst, StateDep
from offers_api.schemas import (
    ModelListPublic,
    ModelPointersPublic,
    ModelVersionPublic,
    ModelVersionSummary,
    problem,
)
from offers_api.security import Principal, RequireRole

REPORT_PAGE = "report.html"

router = APIRouter(prefix="/v1/models", tags=["models"])

DataScientist = Annotated[Principal, Depends(RequireRole(Role.DATA_SCIENTIST, Role.ADMIN))]
"""Who may read a version in full and change the champion or challenger."""

Version = Annotated[
    str,
    Path(
        pattern=VERSION_REFERENCE_PATTERN,
        description="A version's full name (v3-20260714T101500Z) or v<number> (v3).",
    ),
]
ReportFile = Annotated[
    str,
    Path(
        pattern=REPORT_FILE_PATTERN,
        description="A file of the report: letters, digits, '_', '.', '-'; .png, .json or .html.",
    ),
]

ERROR_STATUS: dict[type[RegistryError], int] = {
    VersionNotFound: 404,
    ReportNotFound: 404,
    RollbackRefused: 409,
    RegistryDamaged: 409,
}
"""The answer to each registry error; any other registry error is a 409."""

ERRORS: dict[int | str, dict[str, Any]] = {
    404: problem("No version has this name, or its report has no such file."),
    409: problem(
        "Nothing to roll back to, or the registry is damaged (a version, a pointer or the "
        "history cannot be read)."
    ),
}
NO_SNIFFING = {"X-Content-Type-Options": "nosniff"}


def open_registry(state: StateDep) -> Iterator[ModelRegistry]:
    """The registry the workers score from; its errors become 404 or 409 answers that
    say what is wrong, and a registry out of reach (a file error) a 503."""
    try:
        yield ModelRegistry(state.settings.model_dir or default_registry_dir())
    except RegistryError as exc:
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind)), 409)
        raise HTTPException(status_code=status, detail=str(exc)) from exc
    except OSError as exc:
        raise HTTPException(
            status_code=503,
            detail=f"the model registry could not be read: {exc}",
            headers={"Retry-After": "5"},
        ) from exc


Registry = Annotated[ModelRegistry, Depends(open_registry)]


def _summary(
    registry: ModelRegistry, name: str, champion: str | None, challenger: str | None
) -> ModelVersionSummary:
    summary = ModelVersionSummary(
        version=name,
        created_at=None,
        parent=None,
        metrics={},
        window_start=None,
        window_end=None,
        champion=name == champion,
        challenger=name == challenger,
    )
    try:
        meta = registry.meta(name)
    except RegistryError as exc:
        return summary.model_copy(update={"damaged": str(exc)})
    start, end = meta.data_window
    return summary.model_copy(
        update={
            "created_at": meta.created_at,
            "parent": meta.parent,
            "metrics": meta.key_metrics,
            "window_start": start,
            "window_end": end,
        }
    )


@router.get("", response_model=ModelListPublic, responses={409: ERRORS[409]})
def list_models(registry: Registry, principal: Analyst) -> ModelListPublic:
    """Every registered version, oldest first, with its key held-out metrics and the
    window of its training data; which one is the champion, which the challenger."""
    champion, challenger = registry.champion(), registry.challenger()
    return ModelListPublic(
        champion=champion,
        challenger=challenger,
        versions=[_summary(registry, name, champion, challenger) for name in registry.versions()],
    )


def _pointers(
    registry: ModelRegistry, previous_champion: str | None, previous_challenger: str | None
) -> ModelPointersPublic:
    return ModelPointersPublic(
        champion=registry.pointer("champion"),
        challenger=registry.pointer("challenger"),
        previous_champion=previous_champion,
        previous_challenger=previous_challenger,
    )


@router.get("/champion", response_model=ModelPointersPublic, responses={409: ERRORS[409]})
def read_champion(registry: Registry, principal: Analyst) -> ModelPointersPublic:
    """The champion and the challenger scoring in shadow (previous: none)."""
    return _pointers(registry, None, None)


@router.post("/champion/rollback", response_model=ModelPointersPublic, responses={409: ERRORS[409]})
def rollback(registry: Registry, principal: DataScientist) -> ModelPointersPublic:
    """Make the champion the one the last promotion replaced; each rollback goes one
    promotion further back."""
    before = registry.pointer("champion"), registry.pointer("challenger")
    registry.rollback(actor=principal.subject)
    return _pointers(registry, *before)


@router.get("/challenger", response_model=ModelPointersPublic, responses={409: ERRORS[409]})
def read_challenger(registry: Registry, principal: Analyst) -> ModelPointersPublic:
    """The challenger scoring in shadow and the champion (previous: none)."""
    return _pointers(registry, None, None)


@router.delete("/challenger", response_model=ModelPointersPublic, responses={409: ERRORS[409]})
def stop_shadow(registry: Registry, principal: DataScientist) -> ModelPointersPublic:
    """Stop scoring a challenger in shadow."""
    before = registry.pointer("champion"), registry.pointer("challenger")
    registry.shadow(None)
    return _pointers(registry, *before)


@router.get("/{version}", response_model=ModelVersionPublic, responses=ERRORS)
def read_model(
    version: Version, registry: Registry, principal: DataScientist
) -> ModelVersionPublic:
    """One version's meta (without its monitoring references) and where its report is."""
    meta = registry.meta(version)
    report = registry.report_path(meta.version)
    return ModelVersionPublic(
        **meta.model_dump(mode="json", exclude={"monitoring"}),
        champion=registry.champion() == meta.version,
        challenger=registry.challenger() == meta.version,
        report_url=report_url(meta.version) if report is not None else None,
    )


def report_url(version: str) -> str:
    """Where a version's report page is: beside its charts, so that its relative links
    to them resolve."""
    return f"{router.prefix}/{version}/report/{REPORT_PAGE}"


@router.get(
    "/{version}/report",
    status_code=307,
    response_class=RedirectResponse,
    responses={307: {"description": "The report page, beside its charts."}, **ERRORS},
)
def read_report(version: Version, registry: Registry, principal: DataScientist) -> RedirectResponse:
    """The version's evaluation report: a redirect to its HTML page."""
    path = registry.report_path(version)
    if path is None:
        raise ReportNotFound(f"model version {registry.resolve(version)} has no report")
    return RedirectResponse(report_url(registry.resolve(version)), status_code=307)


@router.get(
    "/{version}/report/{file_name}",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/png": {}, "application/json": {}, "text/html": {}}},
        **ERRORS,
    },
)
def read_report_file(
    version: Version, file_name: ReportFile, registry: Registry, principal: DataScientist
) -> FileResponse:
    """A file of the version's report: a chart (PNG), its metrics (JSON) or the HTML."""
    return FileResponse(registry.report_file(version, file_name), headers=NO_SNIFFING)


@router.post("/{version}/promote", response_model=ModelPointersPublic, responses=ERRORS)
def promote(version: Version, registry: Registry, principal: DataScientist) -> ModelPointersPublic:
    """Make the version the champion (a challenger promoted stops being the challenger)."""
    before = registry.pointer("champion"), registry.pointer("challenger")
    registry.promote(version, actor=principal.subject)
    return _pointers(registry, *before)


@router.post("/{version}/shadow", response_model=ModelPointersPublic, responses=ERRORS)
def shadow(version: Version, registry: Registry, principal: DataScientist) -> ModelPointersPublic:
    """Score the version in shadow beside the champion: its scores are logged with every
    decision, never acted on."""
    before = registry.pointer("champion"), registry.pointer("challenger")
    registry.shadow(version)
    return _pointers(registry, *before)
