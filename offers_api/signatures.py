"""Is a webhook really from its provider? Checks of Twilio's ``X-Twilio-Signature`` and
Meta's ``X-Hub-Signature-256``.

Twilio's HMAC is never computed here: every check and every signature goes through the
official :class:`twilio.request_validator.RequestValidator`. Meta's is the hex
HMAC-SHA256 of the raw body under the app secret, as Meta documents it, compared in
constant time.

The URL to check is the public URL Twilio called, exactly: scheme, host, port, path
and query string. Behind a proxy or load balancer the URL the app sees differs (``http``
instead of ``https``, an internal host or port, a path prefix removed), and every
signature would fail. Build it with :func:`public_url` from the public base URL, which
comes from a setting, never from the request's own ``Host`` or ``X-Forwarded-*`` headers,
which a caller controls. The validator accepts the URL with or without the scheme's
default port, as Twilio signs either form.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from twilio.request_validator import (
    SIGNATURE_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

TWILIO_SIGNATURE_HEADER: str = SIGNATURE_HEADER
"""``X-Twilio-Signature``: the base64 HMAC Twilio sends with each webhook."""
TWILIO_SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
"""Names the algorithm (``algorithm=HMAC_SHA256``) when a webhook is signed with a shared
key; absent for the Auth Token signature (HMAC-SHA1)."""
BODY_HASH_PARAM = "bodySHA256"
"""Query parameter carrying the SHA-256 of a JSON body, which the signature then covers."""
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
"""``sha256=`` and the hex HMAC-SHA256 of the raw body: what Meta sends with each webhook."""

FormParams = Mapping[str, Any]
"""Form fields of a webhook (string values); a multi-dict such as Starlette's ``FormData``
keeps repeated fields, which the validator reads with ``getlist``."""


def public_url(public_base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called: the configured public base (scheme, host, port and any path
    prefix the proxy strips) joined with the request's path and raw query string."""
    base = urlsplit(public_base_url)
    full_path = base.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((base.scheme, base.netloc, full_path, query, ""))


def _algorithm(signature_settings: str | None) -> str:
    return str(get_signature_algorithm(signature_settings))


def verify_twilio(
    auth_token: str,
    url: str,
    form_params: FormParams,
    signature: str | None,
    *,
    signature_settings: str | None = None,
) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header) signs this form webhook.

    ``signature_settings`` is the ``X-Twilio-Webhooks-Signature-Settings`` header, if any;
    ``auth_token`` is then the shared key's secret. A missing signature fails.
    """
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    return bool(
        validator.validate(url, form_params, signature, algorithm=_algorithm(signature_settings))
    )


def verify_twilio_json(
    auth_token: str,
    url: str,
    body: str | bytes,
    signature: str | None,
    *,
    signature_settings: str | None = None,
) -> bool:
    """Whether ``signature`` signs this JSON webhook: the URL (whose ``bodySHA256`` query
    parameter is covered by the signature) and the body, whose hash must match it.

    A URL without ``bodySHA256`` fails: the body would be covered by nothing.
    """
    if not signature or not auth_token or BODY_HASH_PARAM not in parse_qs(urlsplit(url).query):
        return False
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, body, signature, algorithm=_algorithm(signature_settings)))


def sign_twilio(
    auth_token: str, url: str, form_params: FormParams, *, algorithm: str | None = None
) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for this form webhook (for tests and
    the local provider sandbox)."""
    return str(RequestValidator(auth_token).compute_signature(url, form_params, algorithm))


def sign_twilio_json(
    auth_token: str, url: str, body: str, *, algorithm: str | None = None
) -> tuple[str, str]:
    """``(url, signature)`` Twilio would use for this JSON webhook: the URL with the body's
    ``bodySHA256`` added to its query, and the signature of that URL."""
    validator = RequestValidator(auth_token)
    parts = urlsplit(url)
    body_hash = str(validator.compute_hash(body))
    query = "&".join(q for q in (parts.query, urlencode({BODY_HASH_PARAM: body_hash})) if q)
    signed_url = urlunsplit(parts._replace(query=query))
    return signed_url, str(validator.compute_signature(signed_url, {}, algorithm))


def sign_meta(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` Meta would send with this body (for tests and the local
    provider sandbox)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_meta(app_secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` (the ``X-Hub-Signature-256`` header) signs this raw body. A
    missing signature or secret fails."""
    if not signature or not app_secret:
        return False
    return hmac.compare_digest(sign_meta(app_secret, body).encode(), signature.encode())
