"""A marketer's whole way through the page: a campaign refused with the API's own
messages next to its fields, then created, activated, and watched while a simulated
day flows through the engine: its live numbers and its report move on the page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from offers.roles import Role
from simulators.world import DEFAULT_START, WorldConfig
from tests.browser.conftest import OpenPage, Screenshot, WebApp
from tests.browser.pages import go, metric, shows_no_customer, sign_in, wait_for
from tests.browser.simulated_day import START_TIMEOUT_S, simulated_day

pytestmark = pytest.mark.integration

WORLD = WorldConfig(seed=31, customers=1_000, days=1, start=DEFAULT_START + timedelta(days=50))
"""A day of its own, after those of the other loop tests: the customers' caps and the
engine's clock carry over between runs on one stack."""
SPEED = 4_800.0
"""Simulated seconds per second: the day's events in 18 s."""
NAME = "Summer quote comeback"
PRIORITY_EUR = "500"
"""Above the other campaigns a shared stack may still run on the same triggers."""
NUMBERS_TIMEOUT_S = 240.0


def api_messages(web_app: WebApp, body: dict[str, Any]) -> dict[str, str]:
    """What the API says of ``body`` sent as a new campaign: message by field path."""
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        refused = client.post("/v1/campaigns", json=body)
    assert refused.status_code == 422, refused.text
    found: dict[str, str] = {}
    for item in refused.json()["detail"]:
        path = [str(part) for part in item["loc"]]
        found[".".join(path[1:] if path[0] == "body" else path)] = item["msg"]
    return found


def lifecycle_buttons(page: Page) -> list[str]:
    return page.locator("#lifecycle button[data-action]").all_inner_texts()


def campaign_id_of(page: Page) -> str:
    found = re.search(r"#/campaigns/([A-Za-z0-9_.:-]+)$", page.url)
    assert found, page.url
    return found.group(1)


def refuse_then_create(page: Page, web_app: WebApp) -> str:
    page.locator("#nav").get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_value("Come back to your quote")  # the template's
    name.fill("")
    page.get_by_label("Holdout share (0 to 0.5)").fill("0.9")
    body = json.loads(page.get_by_label("Campaign (JSON)").input_value())
    assert body["name"] == "" and body["holdout_share"] == 0.9
    expected = api_messages(web_app, body)
    assert set(expected) == {"name", "holdout_share"}, expected

    page.get_by_role("button", name="Create draft").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("The campaign was not saved: 2 problems")
    expect(summary.locator("li")).to_have_count(2)
    expect(page.locator("#new-name-error")).to_have_text(expected["name"])
    expect(page.locator("#new-holdout-share-error")).to_have_text(expected["holdout_share"])
    expect(name).to_have_attribute("aria-invalid", "true")
    assert "less than or equal to 0.5" in expected["holdout_share"]

    name.fill(NAME)
    page.get_by_label("Holdout share (0 to 0.5)").fill("0.1")
    schedule_start = (WORLD.start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Start (UTC)").fill(schedule_start)
    page.get_by_label("Value of one redemption (EUR)").fill(PRIORITY_EUR)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    return campaign_id_of(page)


def test_a_marketer_creates_activates_and_watches_a_campaign(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot, tmp_path: Path
) -> None:
    page = open_page("desktop")
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    expect(page.locator("#who")).to_have_text("mara (marketer)")
    expect(page.locator("#live")).to_have_text("Live")

    campaign_id = refuse_then_create(page, web_app)
    expect(page.locator("#campaign-status")).to_have_text("draft")
    assert lifecycle_buttons(page) == ["Activate", "End"]
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        stored = client.get(f"/v1/campaigns/{campaign_id}").json()
    assert stored["status"] == "draft" and stored["priority_eur"] == 500
    schedule_start = (WORLD.start - timedelta(days=1)).date().isoformat()
    assert stored["schedule"]["start"].startswith(schedule_start)

    page.locator('#lifecycle [data-action="activate"]').click()
    expect(page.locator("#campaign-status")).to_have_text("active")
    expect(page.locator("#lifecycle [data-action]")).to_have_text(["Pause", "End"])
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        assert client.get(f"/v1/campaigns/{campaign_id}").json()["status"] == "active"
    assert metric(page, "live-decided") == 0 and metric(page, "live-sent") == 0

    with simulated_day(web_app.settings, campaign_id, WORLD, SPEED, tmp_path / "day") as day:
        assert day.ready.wait(START_TIMEOUT_S), "the simulated day did not start"
        day.check()
        live: list[int] = []
        report: list[int] = []

        def moving() -> bool:
            day.check()
            for name, seen in (("live-decided", live), ("funnel-decided", report)):
                value = metric(page, name)
                if value > 0 and (not seen or value > seen[-1]):
                    seen.append(value)
            return len(live) >= 3 and len(report) >= 2 and metric(page, "live-sent") > 0

        wait_for("the live numbers and the report growing", moving, NUMBERS_TIMEOUT_S)
        expect(page.locator("#live")).to_have_text("Live")
        assert day.produced_all.wait(NUMBERS_TIMEOUT_S), "the day's events were not all sent"

        def caught_up() -> bool:
            pairs = [("funnel-decided", "live-decided"), ("funnel-sent", "live-sent")]
            return all(metric(page, shown) == metric(page, counted) for shown, counted in pairs)

        wait_for("the report catching up with the live counts", caught_up, NUMBERS_TIMEOUT_S)
        assert metric(page, "live-sent") > 0
        screenshot(page, "campaign-live", "desktop")
        phone = open_page("phone")
        sign_in(phone, web_app.page_url, web_app.token(Role.MARKETER))
        go(phone, f"#/campaigns/{campaign_id}")
        expect(phone.locator('[data-metric="live-decided"]')).not_to_have_text("0")
        screenshot(phone, "campaign-live", "phone")

        go(page, "#/campaigns")
        row = page.locator(f'tr[data-campaign-id="{campaign_id}"]')
        expect(row.locator("td").nth(0)).to_have_text("active")
        wait_for(
            "the list showing the live counts",
            lambda: metric(page, "decided", within=row) >= live[-1],
            NUMBERS_TIMEOUT_S,
        )
        assert metric(page, "sent", within=row) > 0
        screenshot(page, "campaigns-live", "desktop")
        shows_no_customer(page)
