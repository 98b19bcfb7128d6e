"""Redemption links: a signed token per decision that expires with the offer.

Each offer sent ends with ``{public_base_url}/r/{token}``. The token is
``{decision_id}.{expiry}.{signature}``:

- the decision id as it is (letters, digits and ``_.:-``, all allowed in a URL path);
- the offer's expiry in Unix seconds;
- the first 128 bits of an HMAC-SHA256 of both, keyed with ``OFFERS_REDEMPTION_SECRET``,
  in unpadded base64url (22 characters).

About 80 characters for the engine's decision ids, half a JWT with the same claims
(HS256 adds a header and JSON), which counts in an SMS. Anyone holding a link can read
the decision id and the expiry; only the holder of the secret can make a token, and
changing either part voids it. Changing the secret voids every link already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

from pydantic import SecretStr

from offers.contracts.base import aware_utc
from offers.errors import OffersError

REDEMPTION_PATH = "/r/"
"""The path, under the public base URL, that redemption links open."""
SIGNATURE_BYTES = 16
_DOMAIN = b"offers/redemption/v1"
"""Separates these signatures from any other use of the same secret."""
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_EXPIRY = re.compile(r"\d{1,12}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_\-]{22}")


class RedemptionError(OffersError):
    """A redemption token was refused."""


class InvalidRedemption(RedemptionError):
    """The token is malformed, or its signature does not match: it was not issued by the
    engine with the current secret, or it was changed."""


class ExpiredRedemption(RedemptionError):
    """The token is genuine, but its offer expired at ``expired_at``."""

    def __init__(self, decision_id: str, expired_at: datetime) -> None:
        self.decision_id = decision_id
        self.expired_at = expired_at
        super().__init__(f"the offer of decision {decision_id} expired at {expired_at.isoformat()}")


def redemption_token(decision_id: str, expires_at: datetime, secret: SecretStr | str) -> str:
    """The token of ``decision_id``'s offer, valid until ``expires_at`` (to the second
    before it, when it has a fraction of a second)."""
    if not _ID.fullmatch(decision_id):
        raise ValueError(f"{decision_id!r} is not a decision id (letters, digits, _.:-)")
    expiry = str(int(aware_utc(expires_at, "expires_at").timestamp()))
    if not _EXPIRY.fullmatch(expiry):
        raise ValueError(f"expires_at {expires_at.isoformat()} is before 1970")
    return f"{decision_id}.{expiry}.{_signature(decision_id, expiry, secret)}"


def redemption_link(public_base_url: str, token: str) -> str:
    """The URL a customer opens to redeem: ``{public_base_url}/r/{token}``."""
    return public_base_url.rstrip("/") + REDEMPTION_PATH + token


def verify_redemption(token: str, secret: SecretStr | str, now: datetime) -> str:
    """The decision id of a genuine token whose offer has not expired at ``now``.

    Raises :class:`InvalidRedemption` for a malformed or forged token (checked first, so
    a forged token says nothing about expiry), :class:`ExpiredRedemption` when the
    offer has expired.
    """
    parts = token.rsplit(".", 2)
    if len(parts) != 3:
        raise InvalidRedemption("the redemption token is malformed")
    decision_id, expiry, signature = parts
    if not (
        _ID.fullmatch(decision_id) and _EXPIRY.fullmatch(expiry) and _SIGNATURE.fullmatch(signature)
    ):
        raise InvalidRedemption("the redemption token is malformed")
    expected = _signature(decision_id, expiry, secret)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise InvalidRedemption("the redemption token's signature does not match")
    expired_at = datetime.fromtimestamp(int(expiry), UTC)
    if aware_utc(now, "now") >= expired_at:
        raise ExpiredRedemption(decision_id, expired_at)
    return decision_id


def _signature(decision_id: str, expiry: str, secret: SecretStr | str) -> str:
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not key:
        raise ValueError("the redemption secret is empty")
    message = b"\x00".join((_DOMAIN, decision_id.encode(), expiry.encode()))
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
