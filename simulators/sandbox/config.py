"""Settings of the provider sandbox: credentials, webhook targets, timing and faults."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
"""A well-formed Account SID ("AC" and 32 hex digits) that no real account has."""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox needs; every field has a default fit for tests and the demo.

    Rates and shares are probabilities in ``[0, 1]``, drawn from generators seeded with
    ``seed``: the same requests in the same order meet the same faults and outcomes.
    """

    # Twilio
    account_sid: str = DEFAULT_ACCOUNT_SID
    """The only Account SID the Messages API accepts (HTTP Basic username and path)."""
    auth_token: str = "sandbox-auth-token"
    """HTTP Basic password, and the key of every ``X-Twilio-Signature``."""
    twilio_number: str = "+15005550006"
    """The sandbox's own number: the ``To`` of inbound replies."""
    inbound_url: str | None = None
    """Where inbound SMS (``POST /sandbox/reply``) are posted, as Twilio posts to a number's
    messaging webhook; ``None``: replies only update the STOP list and the record."""

    # Meta Graph API
    whatsapp_token: str = "sandbox-whatsapp-token"
    """Bearer token of the WhatsApp Cloud API (a system user's access token)."""
    whatsapp_phone_number_id: str = "100000000000001"
    """The only phone number ID ``POST /{version}/{phone_number_id}/messages`` knows."""
    whatsapp_business_account_id: str = "100000000000002"
    """``entry[].id`` of status webhooks (the WhatsApp Business Account ID)."""
    whatsapp_display_number: str = "15550000000"
    """``metadata.display_phone_number`` of status webhooks."""
    whatsapp_allowed_recipients: frozenset[str] | None = None
    """Recipients (digits only) a development-mode app may message, as in Meta's test
    setup; others get error 131030. ``None``: every well-formed number is allowed."""
    whatsapp_webhook_url: str | None = None
    """Where WhatsApp status webhooks are posted; ``None``: statuses are only recorded."""
    messenger_page_token: str = "sandbox-messenger-token"
    """Page access token of the Messenger Send API."""
    app_secret: str = "sandbox-app-secret"
    """The Meta app secret: the key of ``X-Hub-Signature-256`` on webhooks."""

    # Delivery timing and outcomes
    callback_delay_s: float = 0.05
    """Wall-clock time from acceptance (or from leaving the sender's queue) to ``sent``,
    and again from ``sent`` to ``delivered``."""
    sender_mps: float | None = None
    """Messages per second each Twilio sender (``From`` or Messaging Service) sends; the
    rest wait in its queue. ``None``: no queueing."""
    failure_rate: float = 0.0
    """Share of sent messages the carrier does not deliver (Twilio ``undelivered`` with
    error 30003; WhatsApp ``failed`` with error 131026)."""
    read_rate: float = 0.0
    """Share of delivered WhatsApp messages that are then read."""
    callback_attempts: int = 3
    """Tries per webhook before the failure is recorded."""
    callback_retry_delay_s: float = 0.05
    """Wait before the second try; doubled before each further one."""
    callback_timeout_s: float = 2.0
    """Timeout of each webhook request."""

    # Faults
    rate_limit_rate: float = 0.0
    """Share of send requests answered 429 (Twilio 20429, WhatsApp 130429, Messenger 613)."""
    server_error_rate: float = 0.0
    """Share of send requests answered 500 or 503 (half each)."""
    retry_after_s: int = 1
    """``Retry-After`` of 429 responses, in seconds."""
    latency_s: float = 0.0
    """Added to every send request (Twilio and Graph) before it is handled."""
    slow_rate: float = 0.0
    """Share of accepted sends whose answer comes ``slow_s`` late: the message is created
    at once, and when ``slow_s`` exceeds the client's timeout, the client never learns it
    (the answer lost on the way, as happens with real providers)."""
    slow_s: float = 0.0
    seed: int = 0
    """Seeds faults, outcomes and identifiers."""

    def __post_init__(self) -> None:
        for name in (
            "failure_rate",
            "read_rate",
            "rate_limit_rate",
            "server_error_rate",
            "slow_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.rate_limit_rate + self.server_error_rate > 1.0:
            raise ValueError("rate_limit_rate + server_error_rate must not exceed 1")
        for name in ("callback_delay_s", "callback_retry_delay_s", "latency_s", "slow_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.callback_timeout_s <= 0:
            raise ValueError("callback_timeout_s must be positive")
        if self.callback_attempts < 1:
            raise ValueError("callback_attempts must be at least 1")
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must not be negative")
        if self.sender_mps is not None and self.sender_mps <= 0:
            raise ValueError("sender_mps must be positive")
