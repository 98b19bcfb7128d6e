"""Social listening on the page: an alert written to ``social.alerts`` as the listening
workers write it is listed under the header on every view, marked on the map and shown
as a pause on the view of a campaign that opts in, until its closing record takes it
away; the guardrail set and cleared through the campaign forms; and the social
touchpoints of a campaign's report as the report route gives them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from offers.campaigns.presets import fare_drop_alert
from offers.contracts import SocialAlert
from offers.contracts.events import AlertState
from offers.roles import Role
from offers.stack.kafka import create_topics
from offers.topics import LISTENING_TOPICS
from streams.features.windows import to_ms
from streams.listening.spikes import closed_alert
from tests.browser.conftest import OpenPage, Screenshot, WebApp
from tests.browser.pages import go, no_horizontal_scroll, regain_focus, sign_in, wait_for
from tests.integration.kafka_io import produce

pytestmark = pytest.mark.integration

VIEWPORTS = ["desktop", "phone"]
ROUTE = "CIV-ARB"
SUBJECT = f"route:{ROUTE}"
PLACE = "Civitavecchia → Arbatax (CIV-ARB)"
GUARDRAIL = "Pause on a route or port while social listening has an open alert there"
FEED_TIMEOUT_S = 60.0


def api_get(web_app: WebApp, path: str) -> Any:
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def open_alerts(web_app: WebApp) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api_get(web_app, "/v1/listening/alerts?state=open")
    return found


def opened_alert(subject: str, at: datetime) -> SocialAlert:
    """The record the listening workers write when ``subject``'s window at ``at`` spikes."""
    start = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    start_ms = to_ms(start)
    return SocialAlert(
        event_id=f"alert.{subject}.{start_ms}.open",
        event_time=at,
        alert_id=f"alert.{subject}.{start_ms}",
        subject=subject,
        state=AlertState.OPEN,
        opened_at=at,
        window_start=start,
        volume=16,
        negative=10,
        share_negative=0.625,
        baseline=0.1,
        threshold=0.35,
        top_topics=("delay", "refund", "cancellation"),
    )


def route_campaign(web_app: WebApp, name: str, pause_on_alerts: bool) -> dict[str, Any]:
    """A draft whose offer applies to ``ROUTE`` alone."""
    now = datetime.now(UTC)
    wire = fare_drop_alert(now - timedelta(days=1), now + timedelta(days=30))
    wire["name"] = name
    wire["offer"] = {
        "kind": "percent_discount",
        "percent": 10,
        "route_ids": [ROUTE],
        "cost_eur": 2.0,
    }
    wire["guardrails"] = {"pause_on_social_alerts": pause_on_alerts}
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        created = client.post("/v1/campaigns", json=wire)
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    return campaign


@pytest.fixture
def route_alert(web_app: WebApp) -> Iterator[SocialAlert]:
    """An alert opened on ``ROUTE`` now (closed again after the test, if it is not). The
    listening topics are made as the listening workers make them, if none of them ran yet."""
    create_topics(web_app.settings.kafka_bootstrap, web_app.settings, LISTENING_TOPICS)
    alert = opened_alert(SUBJECT, datetime.now(UTC))
    produce(web_app.settings.kafka_bootstrap, [alert])
    yield alert
    if any(a["alert_id"] == alert.alert_id for a in open_alerts(web_app)):
        produce(
            web_app.settings.kafka_bootstrap,
            [closed_alert(alert, to_ms(datetime.now(UTC)), "quiet")],
        )


def notification(page: Page, alert: SocialAlert) -> Locator:
    return page.locator(f'#alerts li[data-alert-id="{alert.alert_id}"]')


def test_an_open_alert_is_listed_marked_and_pauses_a_guarded_campaign_until_it_closes(
    web_app: WebApp, route_alert: SocialAlert, open_page: OpenPage, screenshot: Screenshot
) -> None:
    guarded = route_campaign(web_app, "Arbatax, paused on alerts", pause_on_alerts=True)
    unguarded = route_campaign(web_app, "Arbatax, whatever is said", pause_on_alerts=False)
    wait_for(
        "the API reading the open alert",
        lambda: any(a["alert_id"] == route_alert.alert_id for a in open_alerts(web_app)),
        FEED_TIMEOUT_S,
    )
    (shown,) = [a for a in open_alerts(web_app) if a["alert_id"] == route_alert.alert_id]
    assert shown["subject"] == SUBJECT
    assert shown["top_topics"] == ["delay", "refund", "cancellation"]

    pages = {viewport: open_page(viewport) for viewport in VIEWPORTS}
    for viewport, page in pages.items():
        sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
        item = notification(page, route_alert)
        expect(item).to_have_count(1)
        expect(page.locator("#alert-list")).to_have_attribute("aria-live", "polite")
        expect(item).to_contain_text(f"Negative mentions of {PLACE}")
        expect(item).to_contain_text("62.5 % of 16 mentions negative in 15 minutes, against 10.0 %")
        expect(item).to_contain_text("Topics: delay, refund, cancellation.")
        opened = route_alert.opened_at.strftime("%Y-%m-%d %H:%M UTC")
        expect(item).to_contain_text(f"since {opened}")

        item.get_by_role("link", name="Show on the map").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Map")
        mark = page.locator(f'#sea-map g.alert-mark[data-subject="{SUBJECT}"]')
        expect(mark).to_have_count(1)
        expect(mark.locator("title")).to_contain_text(f"Open social alert on {PLACE}")
        expect(mark.locator("text")).to_have_text("ALERT")
        expect(page.locator("#map-alerts")).to_contain_text(PLACE)
        expect(notification(page, route_alert)).to_have_count(1)  # on every view
        if viewport == "phone":
            assert no_horizontal_scroll(page), "the map scrolls sideways on a phone"
        screenshot(page, "map-alert", viewport)

        go(page, f"#/campaigns/{guarded['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text(guarded["name"])
        expect(page.locator('[data-metric="guardrail"]')).to_have_text("pauses on social alerts")
        paused = page.locator(f'#paused-here li[data-subject="{SUBJECT}"]')
        expect(paused).to_have_text(
            f"Paused on {PLACE} while its social alert is open (since {opened})."
        )
        screenshot(page, "campaign-paused", viewport)

        go(page, f"#/campaigns/{unguarded['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text(unguarded["name"])
        expect(page.locator('[data-metric="guardrail"]')).to_have_text(
            "does not pause on social alerts"
        )
        expect(page.locator("#paused-here")).to_have_count(0)
        go(page, f"#/campaigns/{guarded['id']}")
        expect(page.locator("#paused-here")).to_have_count(1)

    closing = closed_alert(route_alert, to_ms(datetime.now(UTC)), "quiet")
    produce(web_app.settings.kafka_bootstrap, [closing])
    wait_for(
        "the API reading the closing record",
        lambda: all(a["alert_id"] != route_alert.alert_id for a in open_alerts(web_app)),
        FEED_TIMEOUT_S,
    )
    closed = api_get(web_app, "/v1/listening/alerts?state=closed")
    assert any(a["alert_id"] == route_alert.alert_id for a in closed)
    for viewport, page in pages.items():
        regain_focus(page)
        expect(notification(page, route_alert)).to_have_count(0)
        expect(page.locator("#paused-here")).to_have_count(0)
        expect(page.locator('[data-metric="guardrail"]')).to_have_text("pauses on social alerts")
        go(page, "#/map")
        expect(page.locator("#sea-map")).to_be_visible()
        expect(page.locator(f'#sea-map g.alert-mark[data-subject="{SUBJECT}"]')).to_have_count(0)
        screenshot(page, "map-after-alert", viewport)

    page = pages["desktop"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.locator("#alerts")).to_be_hidden()
    expect(page.locator("#alert-list li")).to_have_count(0)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    regain_focus(page)
    page.wait_for_timeout(1_000)
    assert not [url for url in asked if "/v1/listening/alerts" in url], asked


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_guardrail_is_set_in_the_new_form_and_cleared_in_the_edit_form(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot, viewport: str
) -> None:
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    page.locator("#nav").get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    name = f"Guarded comeback ({viewport})"
    page.get_by_label("Name", exact=True).fill(name)
    box = page.get_by_label(GUARDRAIL)
    expect(box).not_to_be_checked()

    page.get_by_text("Advanced (JSON)", exact=True).click()
    json_box = page.get_by_label("Campaign (JSON)")
    body = json.loads(json_box.input_value())
    body["guardrails"] = {"pause_on_social_alerts": "yes"}
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        refused = client.post("/v1/campaigns", json=body)
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["detail"]
    assert problem["loc"] == ["body", "guardrails", "pause_on_social_alerts"]
    json_box.fill(json.dumps(body))
    page.get_by_role("button", name="Create draft").click()
    error = page.locator("#new-guardrails-pause-on-social-alerts-error")
    expect(error).to_have_text(problem["msg"])
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary li")).to_have_text([f"{GUARDRAIL}: {problem['msg']}"])

    box.check()
    assert json.loads(json_box.input_value())["guardrails"] == {"pause_on_social_alerts": True}
    screenshot(page, "new-campaign-guardrail", viewport)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    campaign_id = page.url.rsplit("/", 1)[-1]
    stored = api_get(web_app, f"/v1/campaigns/{campaign_id}")
    assert stored["guardrails"] == {"pause_on_social_alerts": True}

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator('[data-metric="guardrail"]')).to_have_text("pauses on social alerts")
    edit = page.get_by_label(GUARDRAIL)
    expect(edit).to_be_checked()
    edit.uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".lead")).to_contain_text("version 2")
    expect(page.locator('[data-metric="guardrail"]')).to_have_text(
        "does not pause on social alerts"
    )
    expect(page.get_by_label(GUARDRAIL)).not_to_be_checked()
    stored = api_get(web_app, f"/v1/campaigns/{campaign_id}")
    assert stored["guardrails"] == {"pause_on_social_alerts": False}
    assert stored["version"] == 2
    newest = page.locator("#audit-table tbody tr").first.locator("td")
    expect(newest.last).to_contain_text("guardrails")
    screenshot(page, "campaign-guardrail", viewport)


def social_cells(split: dict[str, Any]) -> list[str]:
    """A row of the social table as the page writes it: conversions, after a touchpoint
    (with its share), then mention, reply and click."""
    conversions, after = split["conversions"], split["after_social"]
    share = f" ({100 * after / conversions:.1f} %)" if conversions else ""
    kinds = split["by_touchpoint"]
    return [
        f"{conversions:,}",
        f"{after:,}{share}",
        *(f"{kinds.get(kind, 0):,}" for kind in ("mention", "reply", "click")),
    ]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_report_shows_the_social_touchpoints_the_report_route_gives(
    web_app: WebApp,
    draft_campaign: dict[str, Any],
    open_page: OpenPage,
    screenshot: Screenshot,
    viewport: str,
) -> None:
    reports = {
        c["id"]: api_get(web_app, f"/v1/campaigns/{c['id']}/report")
        for c in api_get(web_app, "/v1/campaigns")
    }
    assert all("social" in report for report in reports.values()), "a report without social"
    campaign_id = max(reports, key=lambda c: int(reports[c]["social"]["treated"]["conversions"]))
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    go(page, f"#/campaigns/{campaign_id}")
    table = page.locator("#social-table")
    expect(table).to_be_visible()
    social = api_get(web_app, f"/v1/campaigns/{campaign_id}/report")["social"]
    expect(table.locator("tbody tr")).to_have_count(3)
    for group, label in (
        ("treated", "Treated (sent an offer)"),
        ("control", "Holdout (not sent)"),
        ("offer_driven", "Booked with the offer"),
    ):
        row = table.locator(f'tr[data-group="{group}"]')
        expect(row.locator("th")).to_have_text(label)
        expect(row.locator("td")).to_have_text(social_cells(social[group]))
    assert (social["channels"], social["window"]) == (["messenger", "whatsapp"], "P7D")
    expect(page.locator("#social-explained")).to_contain_text("on Messenger or WhatsApp")
    expect(page.locator("#social-explained")).to_contain_text("within 7 days")
    if viewport == "phone":
        assert no_horizontal_scroll(page), "the campaign view scrolls sideways on a phone"
    page.locator("#panel-social").scroll_into_view_if_needed()
    screenshot(page, "campaign-social", viewport)
