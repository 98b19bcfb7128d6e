"""Settings for one group of stream-processor workers in a test, on the session's stack."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from features.store import apply_feature_repo
from offers.settings import Settings

LATENESS = timedelta(seconds=600)


def worker_settings(stack: Settings, root: Path, app_id: str, redis_db: int) -> Settings:
    """The stack's settings for one group of workers: its own state topics (app id),
    Redis database and Feast repository."""
    settings = Settings(
        **{
            **stack.model_dump(),
            "stream_app_id": app_id,
            "redis_url": stack.redis_url.rsplit("/", 1)[0] + f"/{redis_db}",
            "feast_data_dir": root / "feast",
            "stack_dir": root,
            "allowed_lateness_seconds": int(LATENESS.total_seconds()),
            "worker_session_timeout_seconds": 6.0,
            # the feature agents alone: decisions are tested on a stack of their own
            "worker_decisions": False,
        }
    )
    apply_feature_repo(settings)
    return settings
