"""Mobile numbers of the simulated customers.

Customer ``i`` has the Italian mobile number ``+39 340 0000000 + i`` (E.164, ten national
digits, in the 340 block of mobile numbers): one per customer up to
:data:`~simulators.customers.MAX_CUSTOMERS`, deterministic, and read back to the customer
with :func:`customer_index`. The numbers belong to the simulation only: they go to the
provider sandbox, never to a real network.
"""

from __future__ import annotations

from simulators.customers import MAX_CUSTOMERS

COUNTRY_CODE = "39"
MOBILE_PREFIX = "340"
"""The block of Italian mobile numbers the simulated customers' numbers come from."""
_NATIONAL_DIGITS = 10
_SUBSCRIBER_DIGITS = _NATIONAL_DIGITS - len(MOBILE_PREFIX)
_FIRST = int(MOBILE_PREFIX) * 10**_SUBSCRIBER_DIGITS
_PREFIX = "+" + COUNTRY_CODE
_CHANNEL_PREFIXES = ("whatsapp:", "sms:")


def phone_number(index: int) -> str:
    """The E.164 number of customer ``index`` (0-based): ``+393400000000`` for index 0."""
    if not 0 <= index < MAX_CUSTOMERS:
        raise ValueError(f"index must be 0..{MAX_CUSTOMERS - 1}, got {index}")
    return f"{_PREFIX}{_FIRST + index}"


def customer_index(phone: str) -> int | None:
    """The customer whose number is ``phone``, or None when it is not a simulated
    customer's. Takes E.164 (``+39340…``), a Twilio channel address (``whatsapp:+39340…``)
    or bare digits (``39340…``, as the WhatsApp Cloud API writes numbers)."""
    number = phone.strip()
    for prefix in _CHANNEL_PREFIXES:
        number = number.removeprefix(prefix)
    number = number.removeprefix("+")
    if not number.isascii() or not number.isdigit():
        return None
    national = number.removeprefix(COUNTRY_CODE)
    if len(national) != _NATIONAL_DIGITS or national == number:
        return None
    index = int(national) - _FIRST
    return index if 0 <= index < MAX_CUSTOMERS else None
