"""Customers' phone numbers, the only contact data the engine keeps, in Redis.

A number is stored under its customer and indexed by a keyed hash of the number (HMAC
with the secret key), so the index reveals no number and an inbound SMS finds its
customer. Erasing a customer removes both.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from redis import Redis

from offers.errors import FieldError, OffersError

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


class ContactStore:
    def __init__(self, redis: Redis, secret: str) -> None:
        self._redis = redis
        self._secret = secret.encode()

    def _index_key(self, phone: str) -> str:
        digest = hmac.new(self._secret, phone.encode(), hashlib.sha256).hexdigest()
        return f"contact:phone:{digest}"

    @staticmethod
    def _customer_key(customer_id: str) -> str:
        return f"contact:customer:{customer_id}"

    def put(self, customer_id: str, phone: str) -> str:
        """Store the customer's number (replacing an older one); returns it normalised."""
        number = normalise_phone(phone)
        old = self.phone_of(customer_id)
        pipe = self._redis.pipeline(transaction=True)
        if old is not None and old != number:
            pipe.delete(self._index_key(old))
        pipe.set(self._customer_key(customer_id), number)
        pipe.set(self._index_key(number), customer_id)
        pipe.execute()
        return number

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

    def erase(self, customer_id: str) -> None:
        old = self.phone_of(customer_id)
        keys = [self._customer_key(customer_id)]
        if old is not None:
            keys.append(self._index_key(old))
        self._redis.delete(*keys)
