"""The one settings object of the engine.

Every value comes from an environment variable prefixed ``OFFERS_`` (the variable is
named beside each field). Obtain it with :func:`get_settings`; never build it at import
time, and pass it down to what needs it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from offers.outbound import allow_list_entry, url_refusal

DEFAULT_KAFKA_PORT = 19092
DEFAULT_REDIS_PORT = 16379
DEVELOPMENT_SECRET = "development-only-secret-change-me"
DEVELOPMENT_TWILIO_TOKEN = "development-only-twilio-token"
DEVELOPMENT_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
"""A well-formed Account SID that no real account has (the provider sandbox's default)."""
DEVELOPMENT_TWILIO_SENDER = "+15005550006"
"""Twilio's test number: valid as a sender, never a real one."""
DEVELOPMENT_WHATSAPP_PHONE_NUMBER_ID = "100000000000001"
DEVELOPMENT_WHATSAPP_TOKEN = "development-only-whatsapp-token"
DEVELOPMENT_MESSENGER_TOKEN = "development-only-messenger-token"
DEVELOPMENT_WHATSAPP_VERIFY_TOKEN = "development-only-whatsapp-verify-token"
DEVELOPMENT_META_APP_SECRET = "sandbox-app-secret"
"""The provider sandbox's default app secret, so that the demo and the tests sign with it."""
DEVELOPMENT_REDEMPTION_SECRET = "development-only-redemption-secret"
TWILIO_API_BASE = "https://api.twilio.com"
GRAPH_API_BASE = "https://graph.facebook.com"
DEFAULT_OUTBOUND_HOSTS: tuple[str, ...] = tuple(
    str(urlsplit(base).hostname) for base in (TWILIO_API_BASE, GRAPH_API_BASE)
)
"""The hosts the engine may call by default: Twilio's and Meta's APIs."""
PROVIDER_URL_FIELDS = ("twilio_api_base", "graph_api_base")
"""Settings naming a URL the engine calls, each checked against the outbound policy."""

_DEVELOPMENT_VALUES: tuple[tuple[str, str, str], ...] = (
    ("secret_key", DEVELOPMENT_SECRET, "OFFERS_SECRET_KEY must be set to a real secret"),
    (
        "twilio_auth_token",
        DEVELOPMENT_TWILIO_TOKEN,
        "OFFERS_TWILIO_AUTH_TOKEN must be set to the real token",
    ),
    (
        "twilio_account_sid",
        DEVELOPMENT_TWILIO_ACCOUNT_SID,
        "OFFERS_TWILIO_ACCOUNT_SID must be set to the real account",
    ),
    (
        "twilio_sender",
        DEVELOPMENT_TWILIO_SENDER,
        "OFFERS_TWILIO_SENDER must be set to a real sender",
    ),
    (
        "whatsapp_phone_number_id",
        DEVELOPMENT_WHATSAPP_PHONE_NUMBER_ID,
        "OFFERS_WHATSAPP_PHONE_NUMBER_ID must be set to the real number's ID",
    ),
    (
        "whatsapp_access_token",
        DEVELOPMENT_WHATSAPP_TOKEN,
        "OFFERS_WHATSAPP_ACCESS_TOKEN must be set to the real token",
    ),
    (
        "messenger_page_token",
        DEVELOPMENT_MESSENGER_TOKEN,
        "OFFERS_MESSENGER_PAGE_TOKEN must be set to the real token",
    ),
    (
        "whatsapp_verify_token",
        DEVELOPMENT_WHATSAPP_VERIFY_TOKEN,
        "OFFERS_WHATSAPP_VERIFY_TOKEN must be set to a real token",
    ),
    (
        "meta_app_secret",
        DEVELOPMENT_META_APP_SECRET,
        "OFFERS_META_APP_SECRET must be set to the real app secret",
    ),
    (
        "redemption_secret",
        DEVELOPMENT_REDEMPTION_SECRET,
        "OFFERS_REDEMPTION_SECRET must be set to a real secret",
    ),
)
"""Fields whose development default is refused in production, and what to say then."""
_SENDER_FORMS = (
    re.compile(r"\+[1-9]\d{1,14}"),
    re.compile(r"\d{3,8}"),
    re.compile(r"MG[0-9a-fA-F]{32}"),
    re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}"),
)
"""Who an SMS may come from: a number, a short code, a Messaging Service SID, an
alphanumeric sender ID."""


class Settings(BaseSettings):
    """Typed configuration, read from ``OFFERS_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="OFFERS_", extra="ignore", frozen=True, protected_namespaces=()
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", description="OFFERS_ENVIRONMENT: development, test or production."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description="OFFERS_SECRET_KEY: signs tokens and links; must be set in production.",
    )

    # Kafka
    kafka_bootstrap: str = Field(
        f"127.0.0.1:{DEFAULT_KAFKA_PORT}",
        description="OFFERS_KAFKA_BOOTSTRAP: host:port[,host:port] of the Kafka brokers.",
    )
    topic_partitions: int = Field(
        6, ge=1, le=256, description="OFFERS_TOPIC_PARTITIONS: partitions of keyed event topics."
    )
    topic_replication: int = Field(
        1, ge=1, le=5, description="OFFERS_TOPIC_REPLICATION: replication factor of topics."
    )
    location_retention_hours: int = Field(
        24,
        ge=1,
        le=24 * 30,
        description="OFFERS_LOCATION_RETENTION_HOURS: how long raw location pings are kept.",
    )

    # Redis
    redis_url: str = Field(
        f"redis://127.0.0.1:{DEFAULT_REDIS_PORT}/0",
        description="OFFERS_REDIS_URL: Redis for the online feature store and counters.",
    )

    # Feature store (Feast)
    feast_data_dir: Path = Field(
        Path(".stack") / "feast",
        description=(
            "OFFERS_FEAST_DATA_DIR: the Feast registry and the offline parquet files of the "
            "feature views; the online store is the Redis of OFFERS_REDIS_URL."
        ),
    )

    # Event validation
    max_future_skew_seconds: int = Field(
        300,
        ge=0,
        description="OFFERS_MAX_FUTURE_SKEW_SECONDS: events stamped further ahead are rejected.",
    )

    # Local stack (used where there is no Docker)
    stack_dir: Path = Field(
        Path(".stack"),
        description="OFFERS_STACK_DIR: data, logs and state of the local stack.",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "moby-offers",
        description="OFFERS_CACHE_DIR: downloads reused across runs (Kafka jars).",
    )
    kafka_version: str = Field(
        "4.1.1", description="OFFERS_KAFKA_VERSION: Apache Kafka broker version (4.x)."
    )
    stack_kafka_port: int = Field(
        DEFAULT_KAFKA_PORT,
        ge=0,
        le=65535,
        description="OFFERS_STACK_KAFKA_PORT: broker port of the local stack (0: a free one).",
    )
    stack_redis_port: int = Field(
        DEFAULT_REDIS_PORT,
        ge=0,
        le=65535,
        description="OFFERS_STACK_REDIS_PORT: Redis port of the local stack (0: a free one).",
    )
    kafka_heap: str = Field("768m", description="OFFERS_KAFKA_HEAP: broker JVM heap (-Xmx).")

    # Stream processor
    stream_app_id: str = Field(
        "moby-offers",
        pattern=r"^[a-z][a-z0-9-]{0,62}$",
        description=(
            "OFFERS_STREAM_APP_ID: the stream processor's consumer group and the prefix of "
            "its state topics; workers with the same id share the work."
        ),
    )
    allowed_lateness_seconds: int = Field(
        600,
        ge=0,
        le=7 * 24 * 3600,
        description=(
            "OFFERS_ALLOWED_LATENESS_SECONDS: how far behind a key's latest event time an "
            "event may arrive and still be merged into windowed features; older ones are "
            "counted as late."
        ),
    )
    feature_batch_rows: int = Field(
        500,
        ge=1,
        le=100_000,
        description="OFFERS_FEATURE_BATCH_ROWS: events per micro-batch written to Feast.",
    )
    feature_flush_ms: int = Field(
        250,
        ge=10,
        le=60_000,
        description=(
            "OFFERS_FEATURE_FLUSH_MS: the longest a processed event waits for its micro-batch "
            "to be written to Feast."
        ),
    )
    feature_offline_flush_ms: int = Field(
        2_000,
        ge=10,
        le=600_000,
        description=(
            "OFFERS_FEATURE_OFFLINE_FLUSH_MS: how often the rows written to the online store "
            "are appended to the offline log (one parquet part per view); an event is "
            "acknowledged once its row is in both."
        ),
    )
    worker_session_timeout_seconds: float = Field(
        10.0,
        ge=2.0,
        le=300.0,
        description=(
            "OFFERS_WORKER_SESSION_TIMEOUT_SECONDS: after this long without a heartbeat a "
            "worker's partitions (and their state) move to the others."
        ),
    )
    worker_web_host: str = Field(
        "127.0.0.1",
        description="OFFERS_WORKER_WEB_HOST: address a worker's /metrics page listens on.",
    )
    worker_web_port: int = Field(
        6066,
        ge=0,
        le=65535,
        description="OFFERS_WORKER_WEB_PORT: HTTP port of a worker's /metrics page.",
    )

    # Contact policy
    global_control_share: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description=(
            "OFFERS_GLOBAL_CONTROL_SHARE: share of customers, 0 to 0.5, never sent any offer "
            "(the global control group), drawn stably from the customer id."
        ),
    )
    quiet_hours_start: int = Field(
        21,
        ge=0,
        le=23,
        description=(
            "OFFERS_QUIET_HOURS_START: recipient's local hour, 0 to 23, from which no offer "
            "is sent; equal to OFFERS_QUIET_HOURS_END for no quiet hours."
        ),
    )
    quiet_hours_end: int = Field(
        8,
        ge=0,
        le=23,
        description=(
            "OFFERS_QUIET_HOURS_END: recipient's local hour, 0 to 23, at which quiet hours "
            "end; earlier than the start for quiet hours across midnight."
        ),
    )
    offer_cooldown_hours: int = Field(
        24,
        ge=0,
        le=720,
        description=(
            "OFFERS_OFFER_COOLDOWN_HOURS: hours, 0 to 720, after an offer during which the "
            "customer gets no other offer of any campaign."
        ),
    )
    exploration_share: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description=(
            "OFFERS_EXPLORATION_SHARE: share of decisions, 0 to 0.5, that pick a campaign at "
            "random among the eligible ones instead of the best scored."
        ),
    )
    channel_cap_per_day: int = Field(
        2,
        ge=1,
        le=50,
        description=(
            "OFFERS_CHANNEL_CAP_PER_DAY: most offers, of all campaigns, one customer gets "
            "over one channel per local day, 1 to 50."
        ),
    )
    channel_cap_per_week: int = Field(
        5,
        ge=1,
        le=200,
        description=(
            "OFFERS_CHANNEL_CAP_PER_WEEK: most offers, of all campaigns, one customer gets "
            "over one channel per local ISO week, 1 to 200."
        ),
    )

    # Decisions
    worker_decisions: bool = Field(
        True,
        description=(
            "OFFERS_WORKER_DECISIONS: whether workers run the decision agents beside the "
            "feature agents (every worker of one group alike)."
        ),
    )
    decision_clock: Literal["wall", "event"] = Field(
        "wall",
        description=(
            "OFFERS_DECISION_CLOCK: 'wall' decides each trigger at the current time (the "
            "later of the clock and the trigger's event time); 'event' decides it at its "
            "event time, for replaying recorded or simulated history."
        ),
    )
    decision_batch_size: int = Field(
        200,
        ge=1,
        le=10_000,
        description="OFFERS_DECISION_BATCH_SIZE: most triggers decided together (one model call).",
    )
    decision_batch_ms: int = Field(
        20,
        ge=1,
        le=10_000,
        description=(
            "OFFERS_DECISION_BATCH_MS: the longest a trigger waits for its micro-batch to fill."
        ),
    )
    decision_feature_wait_ms: int = Field(
        3000,
        ge=0,
        le=60_000,
        description=(
            "OFFERS_DECISION_FEATURE_WAIT_MS: how long a trigger waits for the online features "
            "to show its own event; after that it is decided without an offer (stale_features)."
        ),
    )
    conversion_suppression_hours: int = Field(
        72,
        ge=0,
        le=720,
        description=(
            "OFFERS_CONVERSION_SUPPRESSION_HOURS: hours after a booking during which the "
            "customer gets no offer."
        ),
    )
    complaint_suppression_hours: int = Field(
        72,
        ge=0,
        le=720,
        description=(
            "OFFERS_COMPLAINT_SUPPRESSION_HOURS: hours after a complaint (a negative social "
            "post naming the brand, a port or a route), in event time, during which the "
            "customer gets no offer (recent_complaint); 0: never suppressed."
        ),
    )
    searcher_window_hours: int = Field(
        24,
        ge=1,
        le=168,
        description=(
            "OFFERS_SEARCHER_WINDOW_HOURS: a fare drop or capacity release on a route reaches "
            "the customers who searched or quoted it within this many hours."
        ),
    )
    default_time_zone: str = Field(
        "Europe/Rome",
        description=(
            "OFFERS_DEFAULT_TIME_ZONE: IANA time zone of a customer whose position is unknown."
        ),
    )
    model_dir: Path | None = Field(
        None,
        description=(
            "OFFERS_MODEL_DIR: the model registry the workers score with (default "
            "models/registry in the source tree)."
        ),
    )
    model_compile: bool = Field(
        True,
        description=(
            "OFFERS_MODEL_COMPILE: workers compile each model they score with to native "
            "code (lleaves), a quarter of LightGBM's cost per candidate, same predictions."
        ),
    )
    model_poll_seconds: float = Field(
        2.0,
        ge=0.1,
        le=3600.0,
        description=(
            "OFFERS_MODEL_POLL_SECONDS: how often a worker looks for a new champion or "
            "challenger in the registry."
        ),
    )

    # HTTP API
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description=(
            "OFFERS_PUBLIC_BASE_URL: the API's URL as providers call it (scheme, host, port); "
            "webhook signatures are computed over it, never over request headers."
        ),
    )
    twilio_auth_token: SecretStr = Field(
        SecretStr(DEVELOPMENT_TWILIO_TOKEN),
        description="OFFERS_TWILIO_AUTH_TOKEN: verifies Twilio's X-Twilio-Signature on webhooks.",
    )
    redemption_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_REDEMPTION_SECRET),
        description=(
            "OFFERS_REDEMPTION_SECRET: signs the redemption link sent with each offer; "
            "changing it voids the links already sent."
        ),
    )
    support_contact: str = Field(
        "moby.it/assistenza",
        description="OFFERS_SUPPORT_CONTACT: named in the reply to an SMS HELP.",
    )
    api_rate_per_minute: int = Field(
        120,
        ge=1,
        le=100_000,
        description=(
            "OFFERS_API_RATE_PER_MINUTE: requests per minute a caller may make to the customer "
            "and ingestion routes."
        ),
    )
    max_request_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description=(
            "OFFERS_MAX_REQUEST_BYTES: the largest request body the API reads, in bytes "
            "(64 KiB by default; a campaign takes a few); a larger one, announced by its "
            "Content-Length or sent chunked, is answered 413."
        ),
    )
    webhook_replay_window_hours: int = Field(
        24 * 7,
        ge=1,
        le=24 * 90,
        description=(
            "OFFERS_WEBHOOK_REPLAY_WINDOW_HOURS: how long the id of an inbound SMS is kept, "
            "so that the same message posted again (a provider's retry, a replayed request) "
            "acts only once; 7 days by default."
        ),
    )
    listening_min_negative: int = Field(
        5,
        ge=1,
        le=100_000,
        description=(
            "OFFERS_LISTENING_MIN_NEGATIVE: negative mentions a port or route needs in a "
            "15-minute window before a spike of negative sentiment opens an alert."
        ),
    )
    listening_baseline_floor: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description=(
            "OFFERS_LISTENING_BASELINE_FLOOR: the least baseline share of negative mentions "
            "(the share over the preceding 24 hours, or this when there is no history)."
        ),
    )
    listening_spike_factor: float = Field(
        2.0,
        ge=1.0,
        le=100.0,
        description=(
            "OFFERS_LISTENING_SPIKE_FACTOR: a spike's share of negative mentions is at "
            "least this times the baseline (and at least the baseline plus the margin)."
        ),
    )
    listening_spike_margin: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description=(
            "OFFERS_LISTENING_SPIKE_MARGIN: a spike's share of negative mentions is at "
            "least the baseline plus this (and at least the factor times the baseline)."
        ),
    )
    listening_quiet_windows: int = Field(
        2,
        ge=1,
        le=96,
        description=(
            "OFFERS_LISTENING_QUIET_WINDOWS: consecutive 15-minute windows below the "
            "threshold that close an alert."
        ),
    )
    listening_silence_minutes: int = Field(
        120,
        ge=15,
        le=7 * 24 * 60,
        description=(
            "OFFERS_LISTENING_SILENCE_MINUTES: an alert closes when its subject had no "
            "mention for this long in event time."
        ),
    )
    listening_max_post_ids: int = Field(
        10_000,
        ge=10,
        le=1_000_000,
        description=(
            "OFFERS_LISTENING_MAX_POST_IDS: post ids kept per open window to count a "
            "redelivered post once; beyond it a window counts posts without that check."
        ),
    )
    listening_api_windows: int = Field(
        192,
        ge=1,
        le=10_000,
        description=(
            "OFFERS_LISTENING_API_WINDOWS: windows the API keeps per subject and window "
            "size for /v1/listening/aggregates (the latest ones)."
        ),
    )
    activity_lookback_hours: int = Field(
        24,
        ge=1,
        le=24 * 30,
        description=(
            "OFFERS_ACTIVITY_LOOKBACK_HOURS: how far back the live activity the API shows "
            "(/v1/activity) starts counting decisions and delivery statuses when the API "
            "starts; 24 hours by default."
        ),
    )

    # Message providers (the provider sandbox in the demo and the tests)
    twilio_account_sid: str = Field(
        DEVELOPMENT_TWILIO_ACCOUNT_SID,
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="OFFERS_TWILIO_ACCOUNT_SID: the Twilio account SMS are sent from (AC...).",
    )
    twilio_api_base: str = Field(
        TWILIO_API_BASE,
        description=(
            "OFFERS_TWILIO_API_BASE: where Twilio's REST API is reached (scheme, host, port); "
            "the provider sandbox's URL in the demo and the tests."
        ),
    )
    twilio_sender: str = Field(
        DEVELOPMENT_TWILIO_SENDER,
        description=(
            "OFFERS_TWILIO_SENDER: who SMS come from: an E.164 number, a short code, an "
            "alphanumeric sender ID, or a Messaging Service SID (MG...)."
        ),
    )
    graph_api_base: str = Field(
        GRAPH_API_BASE,
        description=(
            "OFFERS_GRAPH_API_BASE: where Meta's Graph API (WhatsApp, Messenger) is reached; "
            "the provider sandbox's URL in the demo and the tests."
        ),
    )
    graph_api_version: str = Field(
        "v21.0",
        pattern=r"^v\d+\.\d+$",
        description="OFFERS_GRAPH_API_VERSION: the Graph API version called, such as v21.0.",
    )
    outbound_allowed_hosts: tuple[str, ...] = Field(
        DEFAULT_OUTBOUND_HOSTS,
        description=(
            "OFFERS_OUTBOUND_ALLOWED_HOSTS: the hosts the engine may call, a JSON list such "
            'as ["api.twilio.com", "graph.facebook.com", "*.example.com"] (exact names, IP '
            "addresses, or *. patterns for the names under a domain); OFFERS_TWILIO_API_BASE "
            "and OFFERS_GRAPH_API_BASE must name one of them."
        ),
    )
    outbound_allow_private: bool = Field(
        False,
        description=(
            "OFFERS_OUTBOUND_ALLOW_PRIVATE: whether the hosts called may be or resolve to "
            "loopback, private, link-local or other non-public addresses (the provider "
            "sandbox of the local stack on 127.0.0.1); refused in production."
        ),
    )
    whatsapp_phone_number_id: str = Field(
        DEVELOPMENT_WHATSAPP_PHONE_NUMBER_ID,
        pattern=r"^\d{1,32}$",
        description=(
            "OFFERS_WHATSAPP_PHONE_NUMBER_ID: the WhatsApp Cloud API phone number ID offers "
            "are sent from."
        ),
    )
    whatsapp_access_token: SecretStr = Field(
        SecretStr(DEVELOPMENT_WHATSAPP_TOKEN),
        description="OFFERS_WHATSAPP_ACCESS_TOKEN: bearer token of the WhatsApp Cloud API.",
    )
    messenger_page_token: SecretStr = Field(
        SecretStr(DEVELOPMENT_MESSENGER_TOKEN),
        description="OFFERS_MESSENGER_PAGE_TOKEN: page access token of the Messenger Send API.",
    )
    whatsapp_verify_token: SecretStr = Field(
        SecretStr(DEVELOPMENT_WHATSAPP_VERIFY_TOKEN),
        description=(
            "OFFERS_WHATSAPP_VERIFY_TOKEN: the token Meta must present when it verifies the "
            "WhatsApp webhook's URL."
        ),
    )
    meta_app_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_META_APP_SECRET),
        description="OFFERS_META_APP_SECRET: verifies Meta's X-Hub-Signature-256 on webhooks.",
    )
    twilio_send_rate: float = Field(
        10.0,
        gt=0.0,
        le=1_000.0,
        description="OFFERS_TWILIO_SEND_RATE: most SMS per second one worker sends to Twilio.",
    )
    whatsapp_send_rate: float = Field(
        80.0,
        gt=0.0,
        le=1_000.0,
        description=(
            "OFFERS_WHATSAPP_SEND_RATE: most WhatsApp messages per second one worker sends."
        ),
    )
    messenger_send_rate: float = Field(
        40.0,
        gt=0.0,
        le=1_000.0,
        description=(
            "OFFERS_MESSENGER_SEND_RATE: most Messenger messages per second one worker sends."
        ),
    )
    send_timeout_seconds: float = Field(
        10.0,
        ge=0.1,
        le=120.0,
        description=(
            "OFFERS_SEND_TIMEOUT_SECONDS: how long a send waits for the provider to accept "
            "the connection, and then for each part of its answer."
        ),
    )
    send_max_attempts: int = Field(
        5,
        ge=1,
        le=20,
        description=(
            "OFFERS_SEND_MAX_ATTEMPTS: tries of one message, the first included, while the "
            "provider's failures are transient."
        ),
    )
    delivery_concurrency: int = Field(
        32,
        ge=1,
        le=1_000,
        description=(
            "OFFERS_DELIVERY_CONCURRENCY: messages one delivery worker sends at the same "
            "time (each waits for its provider's answer)."
        ),
    )
    delivery_reconcile_seconds: float = Field(
        30.0,
        ge=0.0,
        le=3_600.0,
        description=(
            "OFFERS_DELIVERY_RECONCILE_SECONDS: how long after an attempt whose answer was "
            "lost a provider without a message listing (WhatsApp) may still report the "
            "message in a status webhook; none by then means it was not sent."
        ),
    )

    # Simulator
    simulator_seed: int = Field(7, description="OFFERS_SIMULATOR_SEED: seed of the world.")

    def as_environment(self) -> dict[str, str]:
        """These settings as ``OFFERS_*`` variables: a child process started with them
        reads the same settings."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, list | tuple | dict):
                value = json.dumps(value)  # complex fields are read back as JSON
            env[f"OFFERS_{name.upper()}"] = str(value)
        return env

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not a known IANA time zone") from None
        return zone

    @field_validator("twilio_api_base", "graph_api_base")
    @classmethod
    def _api_base(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise ValueError(f"{url!r} must have no query or fragment")
        return url.rstrip("/")

    @field_validator("outbound_allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(allow_list_entry(host) for host in hosts))

    @field_validator("twilio_sender")
    @classmethod
    def _sender(cls, sender: str) -> str:
        if not any(form.fullmatch(sender) for form in _SENDER_FORMS):
            raise ValueError(
                f"{sender!r} is neither an E.164 number (+...), a short code (3 to 8 digits), "
                "an alphanumeric sender ID (1 to 11 letters, digits or spaces, one letter at "
                "least) nor a Messaging Service SID (MG and 32 hex digits)"
            )
        return sender

    @model_validator(mode="after")
    def _providers_allowed(self) -> Settings:
        """The provider URLs name allowed hosts (by name only: no DNS while reading the
        settings; the clients check the addresses); every refusal is named at once."""
        problems = [
            f"OFFERS_{name.upper()}: {refusal}"
            for name in PROVIDER_URL_FIELDS
            if (
                refusal := url_refusal(
                    getattr(self, name), self.outbound_allowed_hosts, self.outbound_allow_private
                )
            )
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _no_development_values_in_production(self) -> Settings:
        """In production, every development default of a credential is refused, the
        providers are reached over HTTPS only, and never at a non-public address; every
        problem is named at once."""
        if self.environment != "production":
            return self
        problems = [
            f"{problem} in production"
            for name, development, problem in _DEVELOPMENT_VALUES
            if _plain(getattr(self, name)) == development
        ]
        problems += [
            f"OFFERS_{name.upper()} must be an https URL in production"
            for name in PROVIDER_URL_FIELDS
            if urlsplit(getattr(self, name)).scheme != "https"
        ]
        if self.outbound_allow_private:
            problems.append("OFFERS_OUTBOUND_ALLOW_PRIVATE must be false in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
