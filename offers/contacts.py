"""Customers' contact data, in Redis: a phone number and, optionally, the language and
the first name that messages use. Nothing else about a customer is kept for sending.

A number is stored under its customer and indexed by a keyed hash of the number (HMAC
with the secret key), so the index reveals no number and an inbound SMS finds its
customer. Erasing a customer removes all of it.

Keys: ``contact:customer:{id}`` (the number), ``contact:details:{id}`` (hash:
``language``, ``name``), ``contact:phone:{hmac}`` (the customer id).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from redis import Redis
from redis.client import Pipeline

from offers.contracts import Language
from offers.errors import FieldError, OffersError
from offers.redis_values import redis_text

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class ContactError(OffersError):
    def __init__(self, error: FieldError) -> None:
        super().__init__(f"{error.field}: {error.reason}")
        self.error = error


def normalise_phone(phone: str) -> str:
    """The number in E.164 form (``+393331234567``); spaces, dots and dashes are dropped."""
    compact = re.sub(r"[\s.\-()]", "", phone)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164.match(compact):
        raise ContactError(FieldError("phone", f"is not an E.164 number: {phone!r}"))
    return compact


MAX_NAME_CHARS = 40
"""The longest first name kept (the ``name`` field of message templates)."""


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a customer: a number in E.164 form, and what messages to them use."""

    customer_id: str
    phone: str
    language: Language | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "phone", normalise_phone(self.phone))
        if self.name is not None:
            name = " ".join(self.name.split())
            if not name or len(name) > MAX_NAME_CHARS:
                raise ContactError(FieldError("name", f"must be 1 to {MAX_NAME_CHARS} characters"))
            object.__setattr__(self, "name", name)


class ContactStore:
    def __init__(self, redis: Redis, secret: str) -> None:
        self._redis = redis
        self._secret = secret.encode()

    def digest(self, phone: str) -> str:
        """A keyed hash of the number (HMAC-SHA256 with the secret key): it names the
        number without revealing it."""
        return hmac.new(self._secret, phone.encode(), hashlib.sha256).hexdigest()

    def _index_key(self, phone: str) -> str:
        return f"contact:phone:{self.digest(phone)}"

    @staticmethod
    def _customer_key(customer_id: str) -> str:
        return f"contact:customer:{customer_id}"

    @staticmethod
    def _details_key(customer_id: str) -> str:
        return f"contact:details:{customer_id}"

    def put(
        self,
        customer_id: str,
        phone: str,
        *,
        language: Language | None = None,
        name: str | None = None,
    ) -> str:
        """Store the customer's number, language and name (replacing older ones); returns
        the number normalised."""
        contact = Contact(customer_id, phone, language, name)
        old = self.phone_of(customer_id)
        pipe = self._redis.pipeline(transaction=True)
        if old is not None and old != contact.phone:
            pipe.delete(self._index_key(old))
        self._write(pipe, contact)
        pipe.execute()
        return contact.phone

    def put_many(self, contacts: Iterable[Contact], chunk: int = 1_000) -> int:
        """Store new customers' contacts in pipelined chunks (no older number is looked
        up: for customers stored for the first time, or with the same number); returns
        how many were stored."""
        stored = 0
        pipe = self._redis.pipeline(transaction=False)
        for contact in contacts:
            self._write(pipe, contact)
            stored += 1
            if stored % chunk == 0:
                pipe.execute()
        pipe.execute()
        return stored

    def _write(self, pipe: Pipeline, contact: Contact) -> None:
        details = self._details_key(contact.customer_id)
        pipe.set(self._customer_key(contact.customer_id), contact.phone)
        pipe.set(self._index_key(contact.phone), contact.customer_id)
        pipe.delete(details)
        fields = {"language": contact.language, "name": contact.name}
        kept = {key: str(value) for key, value in fields.items() if value is not None}
        if kept:
            pipe.hset(details, mapping=kept)

    def contact(self, customer_id: str) -> Contact | None:
        """The customer's contact, or None without a number."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._customer_key(customer_id))
        pipe.hgetall(self._details_key(customer_id))
        phone, details = pipe.execute()
        if phone is None:
            return None
        fields = {redis_text(k): redis_text(v) for k, v in details.items()}
        language = fields.get("language")
        return Contact(
            customer_id,
            redis_text(phone),
            Language(language) if language in set(Language) else None,
            fields.get("name"),
        )

    def phone_of(self, customer_id: str) -> str | None:
        value = self._redis.get(self._customer_key(customer_id))
        return value.decode() if isinstance(value, bytes) else None

    def customer_for_phone(self, phone: str) -> str | None:
        try:
            number = normalise_phone(phone)
        except ContactError:
            return None
        value = self._redis.get(self._index_key(number))
        return value.decode() if isinstance(value, bytes) else None

    def erase(self, customer_id: str) -> int:
        """Remove the customer's number, its index entry, language and name; how many
        keys there were (0: nothing was kept)."""
        old = self.phone_of(customer_id)
        keys = [self._customer_key(customer_id), self._details_key(customer_id)]
        if old is not None:
            keys.append(self._index_key(old))
        return cast(int, self._redis.delete(*keys))
