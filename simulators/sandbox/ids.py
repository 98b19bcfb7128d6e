"""Identifiers in each provider's format, from a seeded generator: the same run gives the
same SIDs and message IDs."""

from __future__ import annotations

import base64
import random
import threading


class SeededIds:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:ids")

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(f"{seed}:ids")

    def _bytes(self, count: int) -> bytes:
        with self._lock:
            return self._random.randbytes(count)

    def twilio_sid(self, prefix: str = "SM") -> str:
        """Twilio's form: a two-letter type prefix and 32 lowercase hex digits."""
        return prefix + self._bytes(16).hex()

    def wamid(self) -> str:
        """A WhatsApp message ID: ``wamid.`` and a base64 token."""
        return "wamid." + base64.b64encode(self._bytes(36)).decode("ascii")

    def messenger_mid(self) -> str:
        """A Messenger message ID: ``m_`` and a URL-safe token."""
        return "m_" + base64.urlsafe_b64encode(self._bytes(48)).decode("ascii").rstrip("=")

    def fbtrace_id(self) -> str:
        """The ``fbtrace_id`` Graph puts in every error."""
        return "A" + base64.urlsafe_b64encode(self._bytes(16)).decode("ascii").rstrip("=")
