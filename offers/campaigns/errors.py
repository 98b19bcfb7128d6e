"""Why a campaign, or a change to one, was refused: as data the API can answer with.

Validation problems found by the models are pydantic errors; :func:`field_errors` turns
them into :class:`~offers.errors.FieldError` pairs with a dotted path
(``targeting.geofences.0.points``). Problems found by the lifecycle (a refused transition,
a campaign not ready to run) are raised as :class:`CampaignConflict` (HTTP 409) or
:class:`CampaignInvalid` (HTTP 422), each carrying its list of field errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from offers.errors import FieldError, OffersError

FIELD_PROBLEM = "campaign_field"
"""The pydantic error type of problems that name a field below the validator's own."""

_NO_INPUT_ECHO = frozenset(
    {"missing", "extra_forbidden", "value_error", "assertion_error", FIELD_PROBLEM}
)
"""Error types whose reason already says what was wrong (our own messages) or needs no input."""

_UNION_TAGS: dict[str, frozenset[str]] = {"geofences": frozenset({"port", "polygon"})}
"""Lists of tagged unions in the campaign model, and their tags (``kind`` values)."""


class CampaignError(OffersError):
    """A campaign request was refused; ``errors`` says which fields and why."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "campaign refused")


class CampaignInvalid(CampaignError):
    """The campaign's content does not allow the request (HTTP 422): invalid fields, or
    what is missing before it can run."""


class CampaignConflict(CampaignError):
    """The request is not allowed in the campaign's current state (HTTP 409): a refused
    transition, an edit of an active or ended campaign, a stale version."""


class RenderError(CampaignError):
    """A message template could not be filled with the values given."""


def field_problem(field: str, reason: str) -> PydanticCustomError:
    """A validation error about ``field``, relative to where the validator runs.

    A model validator of ``Offer`` raising ``field_problem("percent", ...)`` is reported
    as ``offer.percent`` when the offer sits in a campaign.
    """
    return PydanticCustomError(
        FIELD_PROBLEM, "{field}: {reason}", {"field": field, "reason": reason}
    )


def field_errors(
    errors: ValidationError | Sequence[Mapping[str, Any]], prefix: str = ""
) -> list[FieldError]:
    """The errors of a validation as ``FieldError(dotted.path, reason)``; ``$`` is the
    whole input.

    ``errors`` is a pydantic ``ValidationError`` or its ``errors()`` list (FastAPI's
    ``RequestValidationError.errors()`` too, whose paths start with ``body``).
    ``prefix`` is put in front of every path (e.g. ``"campaign"`` for a campaign carried
    in an event). Reasons of pydantic's own type and range errors end with the input.
    """
    items = errors.errors(include_url=False) if isinstance(errors, ValidationError) else errors
    found: list[FieldError] = []
    for err in items:
        parts = _without_union_tags([str(part) for part in err["loc"]])
        ctx = err.get("ctx") or {}
        if err["type"] == FIELD_PROBLEM:
            parts.append(str(ctx["field"]))
            reason = str(ctx["reason"])
        else:
            reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] not in _NO_INPUT_ECHO and parts:
            reason = f"{reason} (got {_short(err['input'])})"
        path = ".".join(part for part in [prefix, *parts] if part and part != "$")
        found.append(FieldError(path or "$", reason))
    return found


def _without_union_tags(parts: list[str]) -> list[str]:
    """``loc`` without the tag pydantic inserts after an item of a tagged union list
    (``geofences.0.port.radius_km`` is reported as ``geofences.0.radius_km``)."""
    kept: list[str] = []
    for i, part in enumerate(parts):
        tags = _UNION_TAGS.get(parts[i - 2]) if i >= 2 and parts[i - 1].isdigit() else None
        if tags is None or part not in tags:
            kept.append(part)
    return kept


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
