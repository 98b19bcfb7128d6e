"""Mobile numbers of the simulated customers: valid, unique and read back."""

from __future__ import annotations

import pytest

from simulators.customers import MAX_CUSTOMERS
from simulators.phones import customer_index, phone_number
from simulators.sandbox.twilio_api import E164


@pytest.mark.parametrize("index", [0, 1, 41, 999_999, MAX_CUSTOMERS - 1])
def test_numbers_round_trip(index: int) -> None:
    number = phone_number(index)
    assert E164.fullmatch(number)
    assert number.startswith("+39340") and len(number) == 13
    assert customer_index(number) == index
    assert customer_index("whatsapp:" + number) == index
    assert customer_index(number.removeprefix("+")) == index


def test_the_first_number_and_uniqueness() -> None:
    assert phone_number(0) == "+393400000000"
    numbers = {phone_number(i) for i in range(0, MAX_CUSTOMERS, 997)}
    assert len(numbers) == len(range(0, MAX_CUSTOMERS, 997))


@pytest.mark.parametrize("index", [-1, MAX_CUSTOMERS])
def test_indices_outside_the_population_have_no_number(index: int) -> None:
    with pytest.raises(ValueError):
        phone_number(index)


@pytest.mark.parametrize(
    "phone",
    [
        "+393331234567",  # another mobile block
        "+15005550006",
        "+3934000000001",  # one digit too many
        "+39340000000",  # one too few
        "+4934000000001",
        "+39340000000x",
        "+39340٠٠٠٠٠٠٠",  # non-ASCII digits
        "",
        "whatsapp:",
        "+393409999999",  # the block's last number is beyond the population
    ],
)
def test_other_numbers_are_no_customers(phone: str) -> None:
    assert customer_index(phone) is None
