"""How errors become HTTP answers: a precise 4xx for bad input, 503 when a store is out
of reach; never a 500 for something the client sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import ValidationError
from starlette.routing import Match

from offers.campaigns import CampaignConflict, CampaignError, field_errors
from offers.contacts import ContactError
from offers.errors import ContractError
from offers.offer_book import BudgetExhausted, OfferExpired, OfferNotFound
from offers.reports.source import ReportSourceError
from offers.state.campaigns import CampaignNotFound
from offers.state.compacted import StateError
from offers_api.security import AuthError


def _field_errors(errors: list[tuple[str, str]]) -> list[dict[str, object]]:
    return [
        {"loc": field.split("."), "msg": reason, "type": "value_error"} for field, reason in errors
    ]


T = TypeVar("T")

PLAIN_ERRORS: dict[type[Exception], int] = {
    CampaignNotFound: 404,
    OfferNotFound: 404,
    OfferExpired: 410,
    BudgetExhausted: 409,
}
"""Errors answered with their own message as ``detail``, and their status."""

UNAVAILABLE: dict[type[Exception], tuple[str, int]] = {
    StateError: ("the state store is unavailable", 5),
    ReportSourceError: ("the report's events could not be read", 30),
}
"""Errors of a store out of reach (503): what could not be done, and the Retry-After (s)."""


def _entry_of(table: dict[type[Exception], T], exc: Exception) -> T:
    """The entry of the first class of ``table`` that ``exc`` is an instance of."""
    return next(entry for kind, entry in table.items() if isinstance(exc, kind))


def unparsable_body(error: Mapping[str, Any]) -> tuple[str, str]:
    """``("body", reason)`` for a body that is not JSON: what the parser expected, and
    where (FastAPI gives the character's position as the error's location)."""
    reason = str((error.get("ctx") or {}).get("error") or "it cannot be parsed")
    where = [str(part) for part in error.get("loc", ())[1:]]
    at = f" at character {where[0]}" if where else ""
    return "body", f"Invalid JSON: {reason}{at}"


def install(app: FastAPI) -> None:
    @app.exception_handler(405)
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        allowed = sorted(
            {
                method
                for route in iter_route_contexts(app.routes)
                if isinstance(route.original_route, APIRoute)
                and route.matches(request.scope)[0] is not Match.NONE
                for method in route.methods or ()
            }
        )
        return JSONResponse(
            {"detail": f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = list(exc.errors())
        pairs = [unparsable_body(e) for e in found if e["type"] == "json_invalid"]
        fields = [e for e in found if e["type"] != "json_invalid"]
        pairs += [(e.field, e.reason) for e in field_errors(fields)]
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=422)

    async def fields_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CampaignError | ContractError)
        pairs = [(e.field, e.reason) for e in exc.errors]
        status = 409 if isinstance(exc, CampaignConflict) else 422
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=status)

    for refusal in (CampaignError, ContractError):
        app.add_exception_handler(refusal, fields_refused)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        what, retry_after_s = _entry_of(UNAVAILABLE, exc)
        return JSONResponse(
            {"detail": f"{what}: {exc}"},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    for out_of_reach in UNAVAILABLE:
        app.add_exception_handler(out_of_reach, unavailable)

    async def plain(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_entry_of(PLAIN_ERRORS, exc))

    for error in PLAIN_ERRORS:
        app.add_exception_handler(error, plain)

    @app.exception_handler(ValidationError)
    async def invalid_model(request: Request, exc: ValidationError) -> JSONResponse:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ContactError)
    async def bad_contact(request: Request, exc: ContactError) -> JSONResponse:
        pairs = [(exc.error.field, exc.error.reason)]
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=422)

    @app.exception_handler(AuthError)
    async def refused(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status_code)
