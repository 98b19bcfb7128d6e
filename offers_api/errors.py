"""How errors become HTTP answers: a precise 4xx for bad input, 503 when a store is out
of reach; never a 500 for something the client sent."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
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


PLAIN_ERRORS: dict[type[Exception], int] = {
    CampaignNotFound: 404,
    OfferNotFound: 404,
    OfferExpired: 410,
    BudgetExhausted: 409,
}
"""Errors answered with their own message as ``detail``, and their status."""


def install(app: FastAPI) -> None:
    @app.exception_handler(405)
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        allowed = sorted(
            method
            for route in app.routes
            if isinstance(route, APIRoute) and route.matches(request.scope)[0] is not Match.NONE
            for method in route.methods or ()
        )
        return JSONResponse(
            {"detail": f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        pairs = [(e.field, e.reason) for e in field_errors(list(exc.errors()))]
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=422)

    @app.exception_handler(CampaignError)
    async def campaign_refused(request: Request, exc: CampaignError) -> JSONResponse:
        pairs = [(e.field, e.reason) for e in exc.errors]
        status = 409 if isinstance(exc, CampaignConflict) else 422
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=status)

    async def plain(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=PLAIN_ERRORS[type(exc)])

    for error in PLAIN_ERRORS:
        app.add_exception_handler(error, plain)

    @app.exception_handler(ReportSourceError)
    async def report_unavailable(request: Request, exc: ReportSourceError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"the report's events could not be read: {exc}"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(ValidationError)
    async def invalid_model(request: Request, exc: ValidationError) -> JSONResponse:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ContractError)
    async def bad_event(request: Request, exc: ContractError) -> JSONResponse:
        pairs = [(e.field, e.reason) for e in exc.errors]
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=422)

    @app.exception_handler(ContactError)
    async def bad_contact(request: Request, exc: ContactError) -> JSONResponse:
        pairs = [(exc.error.field, exc.error.reason)]
        return JSONResponse({"detail": _field_errors(pairs)}, status_code=422)

    @app.exception_handler(AuthError)
    async def refused(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status_code)

    @app.exception_handler(StateError)
    async def unavailable(request: Request, exc: StateError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"the state store is unavailable: {exc}"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
