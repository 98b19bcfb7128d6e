"""The engine's errors: one base, one subclass per kind of failure."""

from __future__ import annotations

from dataclasses import dataclass


class OffersError(Exception):
    """Base of every error the engine raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why one field of an input was rejected."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ContractError(OffersError):
    """An event or message does not satisfy its contract; ``errors`` says where and why."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "invalid input")


class StackError(OffersError):
    """The local stack (Kafka broker, Redis) could not be fetched, started or stopped."""


class OutboundUrlRefused(OffersError):
    """A URL the engine was to call is refused by the outbound policy
    (:mod:`offers.outbound`): its host is not allowed, or resolves to an address that is
    not public. The message names the URL, the host and why."""

    def __init__(self, url: str, host: str, reason: str) -> None:
        self.url = url
        self.host = host
        self.reason = reason
        super().__init__(f"refused to call {url}: {reason}")
