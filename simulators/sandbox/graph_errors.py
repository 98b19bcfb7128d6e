"""Graph API errors (``{"error": {message, type, code, error_subcode, error_data,
fbtrace_id}}``), access tokens and request bodies, shared by the WhatsApp Cloud API and
the Messenger Send API."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from simulators.sandbox.faults import Fault


class GraphError(Exception):
    """A Graph API error answer."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        details: str | None = None,
        error_type: str = "OAuthException",
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.subcode = subcode
        self.details = details
        self.error_type = error_type
        self.transient = transient

    def response(self, trace_id: str, headers: dict[str, str] | None = None) -> JSONResponse:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.transient:
            error["is_transient"] = True
        error["fbtrace_id"] = trace_id
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


def invalid(message: str, details: str | None = None, subcode: int | None = None) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}", details=details, subcode=subcode)


def unknown_object(object_id: str) -> GraphError:
    message = (
        f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be"
        " loaded due to missing permissions, or does not support this operation."
    )
    return GraphError(400, 100, message, subcode=33, error_type="GraphMethodException")


def fault_error(fault: Fault, whatsapp: bool) -> GraphError:
    if fault.rate_limited and whatsapp:
        details = "Cloud API message throughput has been reached."
        return GraphError(429, 130429, "(#130429) Rate limit hit", details=details)
    if fault.rate_limited:
        return GraphError(429, 613, "(#613) Calls to this api have exceeded the rate limit.")
    if fault.status == 503:
        return GraphError(503, 2, "Service temporarily unavailable", transient=True)
    return GraphError(500, 1, "An unknown error occurred", transient=True)


def access_token(request: Request) -> str | None:
    """``Authorization: Bearer …``, or the ``access_token`` query parameter Graph also takes."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("access_token") or None


def check_token(request: Request, expected: str) -> None:
    token = access_token(request)
    if token is None:
        message = "An active access token must be used to query information about the current user."
        raise GraphError(401, 190, message)
    if not secrets.compare_digest(token.encode(), expected.encode()):
        raise GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise invalid("Invalid parameter", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid parameter", "The request body must be a JSON object.")
    return body
