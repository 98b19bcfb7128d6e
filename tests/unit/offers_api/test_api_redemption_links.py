"""Redemption links (``/r/{token}``): opening one shows the offer and records a click,
posting to it redeems the offer; forged, expired and unknown ones are refused; time is
the engine's (the wall clock, or the decision workers' watermark for replayed history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from offers.campaigns.budget import Budget
from offers.offer_book import StoredOffer
from offers.settings import Settings
from offers.topics import RESPONSES
from offers_api import rate_limit
from offers_api.routes.redemptions import _quality
from streams.decisions.clock import WATERMARK_KEY
from streams.delivery.redemption import redemption_token
from tests.unit.offers_api.state_fakes import api_client

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JSON = {"Accept": "application/json"}
HOUR = timedelta(hours=1)


def make_offer(issued_at: datetime, **overrides: Any) -> StoredOffer:
    fields: dict[str, Any] = {
        "decision_id": "dec-1",
        "customer_id": "cust-1",
        "campaign_id": "camp-summer",
        "channel": "whatsapp",
        "language": "it",
        "message": "Ciao! 10% sul traghetto per Capri <oggi> & domani.",
        "offer": {"kind": "percent_discount", "percent": 10},
        "discount_eur": 12.5,
        "route_id": "NAP-CAP",
        "sailing_id": "S-1400",
        "issued_at": issued_at,
        "expires_at": issued_at + 2 * HOUR,
    }
    fields.update(overrides)
    return StoredOffer.model_validate(fields)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test")


@pytest.fixture
def offer() -> StoredOffer:
    return make_offer(datetime.now(UTC) - HOUR)


@pytest.fixture
def client(settings: Settings, offer: StoredOffer) -> tuple[TestClient, Any]:
    """The API over fakes holding ``offer``, and its state."""
    test_client, api = api_client(settings)
    api.offers.add(offer)
    return test_client, api


def link(settings: Settings, offer: StoredOffer, **kwargs: Any) -> str:
    expires_at = kwargs.get("expires_at", offer.expires_at)
    secret = kwargs.get("secret", settings.redemption_secret)
    return "/r/" + redemption_token(offer.decision_id, expires_at, secret)


# Opening a link


def test_a_json_client_gets_the_offer_and_a_click_is_recorded(
    client: Any, settings: Settings, offer: StoredOffer
) -> None:
    test_client, api = client
    response = test_client.get(link(settings, offer), headers=JSON)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["decision_id"] == "dec-1" and shown["campaign_id"] == "camp-summer"
    assert shown["message"] == offer.message and shown["discount_eur"] == 12.5
    assert shown["redeemed_at"] is None and shown["route_id"] == "NAP-CAP"
    [click] = api.writer.values(RESPONSES.name)
    assert click["event_id"] == "click-dec-1" and click["action"] == "click"
    assert click["customer_id"] == "cust-1" and click["channel"] == "whatsapp"
    assert click["decision_id"] == "dec-1"


@pytest.mark.parametrize("accept", [BROWSER, "*/*", None, "application/json;q=0.5, text/html"])
def test_a_browser_gets_a_page_with_the_escaped_message_and_a_button(
    client: Any, settings: Settings, offer: StoredOffer, accept: str | None
) -> None:
    test_client, _ = client
    headers = {"Accept": accept} if accept else {}
    response = test_client.get(link(settings, offer), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "&lt;oggi&gt; &amp; domani" in page and "<oggi>" not in page
    assert '<form method="post">' in page
    assert offer.expires_at.strftime("%d %b %Y, %H:%M UTC") in page
    assert "http" not in page  # no external assets
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_every_click_has_the_same_event_id(
    client: Any, settings: Settings, offer: StoredOffer
) -> None:
    test_client, api = client
    for _ in range(3):
        test_client.get(link(settings, offer))
    ids = {click["event_id"] for click in api.writer.values(RESPONSES.name)}
    assert ids == {"click-dec-1"}


def test_a_redeemed_offer_shows_no_button(
    client: Any, settings: Settings, offer: StoredOffer
) -> None:
    test_client, _ = client
    test_client.post(link(settings, offer))
    page = test_client.get(link(settings, offer)).text
    assert "Redeemed on" in page and "<form" not in page


# Refused links


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_token_is_404(
    client: Any, settings: Settings, offer: StoredOffer, method: str
) -> None:
    test_client, api = client
    genuine = link(settings, offer)
    forged = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    response = test_client.request(method, forged, headers=JSON)
    assert response.status_code == 404
    assert response.json() == {"detail": "the redemption token's signature does not match"}
    other = link(settings, offer, secret="another-redemption-secret")
    assert test_client.request(method, other).status_code == 404
    assert api.writer.records == []


@pytest.mark.parametrize("token", ["abc", "dec-1.123", "dec 1.1700000000.AAAAAAAAAAAAAAAAAAAAAA"])
def test_a_malformed_token_is_404(client: Any, token: str) -> None:
    test_client, _ = client
    response = test_client.get(f"/r/{token}")
    assert response.status_code == 404
    assert response.json() == {"detail": "the redemption token is malformed"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_link_is_410_with_its_expiry(settings: Settings, method: str) -> None:
    test_client, api = api_client(settings)
    offer = make_offer(datetime(2025, 6, 1, 8, tzinfo=UTC))
    api.offers.add(offer)
    response = test_client.request(method, link(settings, offer))
    assert response.status_code == 410
    assert response.json() == {
        "detail": "the offer of decision dec-1 expired at 2025-06-01T10:00:00+00:00"
    }
    assert api.writer.records == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_link_to_an_offer_no_longer_kept_is_404(
    settings: Settings, offer: StoredOffer, method: str
) -> None:
    test_client, api = api_client(settings)
    response = test_client.request(method, link(settings, offer))
    assert response.status_code == 404
    assert response.json() == {"detail": "the offer of decision dec-1 is no longer kept"}
    assert api.writer.records == []


def test_requests_to_one_link_are_limited(offer: StoredOffer) -> None:
    settings = Settings(environment="test", api_rate_per_minute=2)
    test_client, api = api_client(settings)
    api.offers.add(offer)
    responses = [test_client.get(link(settings, offer)) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert 1 <= int(responses[2].headers["Retry-After"]) <= 60


def test_the_window_slides_and_refused_requests_do_not_count(
    offer: StoredOffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": 1_800_000_030.0}  # half a minute into a minute
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: clock["now"]))
    settings = Settings(environment="test", api_rate_per_minute=2)
    test_client, api = api_client(settings)
    api.offers.add(offer)

    def status_at(second: float) -> tuple[int, str | None]:
        clock["now"] = 1_800_000_030.0 + second
        response = test_client.get(link(settings, offer))
        return response.status_code, response.headers.get("Retry-After")

    assert status_at(0) == (200, None)
    assert status_at(20) == (200, None)
    # The next minute has begun, but two requests came in the last 60 seconds.
    assert status_at(45) == (429, "15")
    assert status_at(59) == (429, "1")
    # The first request has left the window; the refused ones never counted.
    assert status_at(60.5) == (200, None)
    assert status_at(70) == (429, "10")


# Redeeming


def test_posting_redeems_once_and_again_answers_the_first(
    client: Any, settings: Settings, offer: StoredOffer
) -> None:
    test_client, api = client
    first = test_client.post(link(settings, offer))
    assert first.status_code == 200, first.text
    assert first.json()["first"] is True
    redeemed_at = first.json()["offer"]["redeemed_at"]
    assert redeemed_at is not None
    again = test_client.post(link(settings, offer))
    assert again.json()["first"] is False
    assert again.json()["offer"]["redeemed_at"] == redeemed_at
    events = api.writer.values(RESPONSES.name)
    assert [e["event_id"] for e in events] == ["redeem-dec-1", "redeem-dec-1"]
    assert all(e["action"] == "redeem" and e["channel"] == "whatsapp" for e in events)
    assert api.offers.redeemed == 1


def test_a_browser_form_gets_a_page(client: Any, settings: Settings, offer: StoredOffer) -> None:
    test_client, _ = client
    response = test_client.post(link(settings, offer), headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Redeemed on" in response.text


def test_a_spent_budget_is_409(settings: Settings, offer: StoredOffer) -> None:
    test_client, api = api_client(settings)
    second = offer.model_copy(update={"decision_id": "dec-2", "customer_id": "cust-2"})
    api.offers.add(offer)
    api.offers.add(second)
    api.campaigns.budgets["camp-summer"] = Budget(max_redemptions=1)
    assert test_client.post(link(settings, offer)).status_code == 200
    response = test_client.post(link(settings, second))
    assert response.status_code == 409
    assert response.json() == {"detail": "campaign camp-summer: budget spent"}
    assert [e["decision_id"] for e in api.writer.values(RESPONSES.name)] == ["dec-1"]


def test_an_offer_expired_before_its_link_is_410(settings: Settings, offer: StoredOffer) -> None:
    test_client, api = api_client(settings)
    api.offers.add(offer.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(1)}))
    response = test_client.post(link(settings, offer, expires_at=offer.expires_at))
    assert response.status_code == 410
    assert response.json()["detail"].startswith("offer dec-1 expired at ")


# The engine's clock


def replay(watermark: datetime | None) -> tuple[TestClient, Any, Settings]:
    """The API deciding in event time, with the workers' watermark at ``watermark``."""
    settings = Settings(environment="test", decision_clock="event")
    test_client, api = api_client(settings)
    if watermark is not None:
        api.redis.values[WATERMARK_KEY] = str(int(watermark.timestamp() * 1000)).encode()
    return test_client, api, settings


def test_replayed_history_is_redeemed_at_the_watermark() -> None:
    issued = datetime(2025, 6, 1, 9, tzinfo=UTC)
    test_client, api, settings = replay(issued + HOUR)
    offer = make_offer(issued)
    api.offers.add(offer)
    assert test_client.get(link(settings, offer), headers=JSON).status_code == 200
    redeemed = test_client.post(link(settings, offer))
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["offer"]["redeemed_at"] == "2025-06-01T10:00:00Z"
    click, redemption = api.writer.values(RESPONSES.name)
    assert click["event_time"] == redemption["event_time"] == "2025-06-01T10:00:00+00:00"


def test_replayed_history_expires_by_the_watermark() -> None:
    issued = datetime(2025, 6, 1, 9, tzinfo=UTC)
    test_client, api, settings = replay(issued + 3 * HOUR)
    offer = make_offer(issued)
    api.offers.add(offer)
    assert test_client.get(link(settings, offer)).status_code == 410


def test_without_a_watermark_the_engine_runs_on_the_wall_clock(offer: StoredOffer) -> None:
    test_client, api, settings = replay(None)
    api.offers.add(offer)
    assert test_client.get(link(settings, offer)).status_code == 200
    past = make_offer(datetime(2025, 6, 1, 9, tzinfo=UTC), decision_id="dec-past")
    api.offers.add(past)
    assert test_client.get(link(settings, past)).status_code == 410


# Content negotiation


@pytest.mark.parametrize(
    ("accept", "json_weight", "html_weight"),
    [
        (None, 1.0, 1.0),
        ("application/json", 1.0, 0.0),
        (BROWSER, 0.8, 1.0),
        ("application/*;q=0.7, text/*;q=0.2", 0.7, 0.2),
        ("text/html;q=0.3, */*", 1.0, 0.3),
        ("application/json;q=nonsense", 0.0, 0.0),
    ],
)
def test_accept_weights(accept: str | None, json_weight: float, html_weight: float) -> None:
    headers = [(b"accept", accept.encode())] if accept else []
    request = Request({"type": "http", "headers": headers})
    assert _quality(request, "application/json") == json_weight
    assert _quality(request, "text/html") == html_weight
