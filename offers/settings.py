"""The one settings object of the engine.

Every value comes from an environment variable prefixed ``OFFERS_`` (the variable is
named beside each field). Obtain it with :func:`get_settings`; never build it at import
time, and pass it down to what needs it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KAFKA_PORT = 19092
DEFAULT_REDIS_PORT = 16379
DEVELOPMENT_SECRET = "development-only-secret-change-me"
DEVELOPMENT_TWILIO_TOKEN = "development-only-twilio-token"


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

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET
        ):
            raise ValueError("OFFERS_SECRET_KEY must be set to a real secret in production")
        if (
            self.environment == "production"
            and self.twilio_auth_token.get_secret_value() == DEVELOPMENT_TWILIO_TOKEN
        ):
            raise ValueError("OFFERS_TWILIO_AUTH_TOKEN must be set to the real token in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
