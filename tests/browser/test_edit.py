"""Editing a draft on its page: the API's refusal shown next to the field it names, a
saved change with its new version and its line in the history, and a change made
elsewhere meanwhile refused (the page sends the version it shows) until reloaded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from offers.campaigns.presets import quote_comeback
from offers.roles import Role
from tests.browser.conftest import OpenPage, Screenshot, WebApp
from tests.browser.pages import go, sign_in

pytestmark = pytest.mark.integration

NAME = "Winter quotes"


def draft(web_app: WebApp) -> dict[str, Any]:
    now = datetime.now(UTC)
    wire = quote_comeback(now, now + timedelta(days=60))
    wire["name"] = NAME
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        created = client.post("/v1/campaigns", json=wire)
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    return campaign


def patch(web_app: WebApp, campaign_id: str, change: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        return client.patch(f"/v1/campaigns/{campaign_id}", json=change)


def test_a_draft_is_edited_with_the_api_checks_and_its_version(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot
) -> None:
    campaign = draft(web_app)
    page = open_page("desktop")
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    go(page, f"#/campaigns/{campaign['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)

    refused = patch(web_app, campaign["id"], {"frequency_cap": {"per_day": 3, "per_week": 2}})
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["loc"] == ["body", "frequency_cap", "per_week"]
    page.get_by_label("Offers per customer per day").fill("3")
    page.get_by_label("Offers per customer per week").fill("2")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#edit-frequency-cap-per-week-error")).to_have_text(problem["msg"])
    expect(page.locator(".error-summary li")).to_have_text(
        [f"Offers per customer per week: {problem['msg']}"]
    )
    screenshot(page, "campaign-refused", "desktop")

    page.get_by_label("Offers per customer per week").fill("6")
    page.get_by_label("Name", exact=True).fill(f"{NAME}, all routes")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{NAME}, all routes")
    expect(page.locator(".lead")).to_contain_text("version 2")
    expect(page.locator(".error-summary")).to_be_hidden()
    newest = page.locator("#audit-table tbody tr").first.locator("td")
    changed = re.compile(r"^(?=.*\bname\b)(?=.*frequency_cap\.per_week).*$")
    expect(newest).to_have_text(["2", re.compile(r"UTC$"), "mara (marketer)", "updated", changed])

    page.get_by_label("Description").fill("Changed on the page")
    assert patch(web_app, campaign["id"], {"description": "Changed elsewhere"}).status_code == 200
    expect(page.locator(".form-status")).to_contain_text("changed meanwhile (version 3)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".error-summary li")).to_contain_text(["is 3, not 2"])
    page.get_by_role("button", name="Load the latest version").click()
    expect(page.get_by_label("Description")).to_have_value("Changed elsewhere")
    expect(page.locator(".lead")).to_contain_text("version 3")
