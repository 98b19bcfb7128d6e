"""Values read back from Redis. The engine's clients do not decode responses (Lua scripts
and binary values share them), so strings come back as bytes."""

from __future__ import annotations


def redis_text(value: object) -> str:
    """A value Redis returned, as text: bytes decoded as UTF-8, anything else as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)
