"""Each main view at 1280x800 and at a phone's 390x844: what it shows, read from the
page and checked against the API, and a screenshot of it. On the phone nothing makes
the page scroll sideways (wide tables scroll in their own box)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from offers.reports.incrementality import GroupOutcome, measure_incrementality
from offers.roles import Role
from tests.browser.conftest import OpenPage, Screenshot, WebApp
from tests.browser.pages import no_horizontal_scroll, shows_no_customer, sign_in

pytestmark = pytest.mark.integration

VIEWPORTS = ["desktop", "phone"]
STATUSES = {"draft", "active", "paused", "ended"}


def api_get(web_app: WebApp, path: str, role: Role = Role.MARKETER) -> Any:
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers(role)) as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def fits(page: Page, viewport: str) -> None:
    if viewport == "phone":
        assert no_horizontal_scroll(page), "the page scrolls sideways on a phone"
    shows_no_customer(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_campaigns_view_lists_every_campaign(
    web_app: WebApp,
    draft_campaign: dict[str, Any],
    open_page: OpenPage,
    screenshot: Screenshot,
    viewport: str,
) -> None:
    campaigns = api_get(web_app, "/v1/campaigns")
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    rows = page.locator("#campaigns-table tbody tr[data-campaign-id]")
    expect(rows).to_have_count(len(campaigns))
    shown = {row.get_attribute("data-campaign-id") for row in rows.all()}
    assert shown == {c["id"] for c in campaigns}
    row = page.locator(f'tr[data-campaign-id="{draft_campaign["id"]}"]')
    expect(row.get_by_role("link")).to_have_text(draft_campaign["name"])
    expect(row.locator("[data-status]")).to_have_text("draft")
    assert set(page.locator("#campaigns-table [data-status]").all_inner_texts()) <= STATUSES
    expect(page.locator("#campaigns-summary")).to_contain_text(f"{len(campaigns)} campaigns")
    page.get_by_label("Show").select_option("draft")
    expect(page.locator(f'tr[data-campaign-id="{draft_campaign["id"]}"]')).to_be_visible()
    drafts = [c for c in campaigns if c["status"] == "draft"]
    expect(rows).to_have_count(len(drafts))
    page.get_by_label("Show").select_option("")
    fits(page, viewport)
    screenshot(page, "campaigns", viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_campaign_view_shows_its_state_report_and_configuration(
    web_app: WebApp,
    draft_campaign: dict[str, Any],
    open_page: OpenPage,
    screenshot: Screenshot,
    viewport: str,
) -> None:
    report = api_get(web_app, f"/v1/campaigns/{draft_campaign['id']}/report")
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    page.get_by_role("link", name=draft_campaign["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(draft_campaign["name"])
    expect(page.locator("#campaign-status")).to_have_text("draft")
    expect(page.locator("#lifecycle [data-action]")).to_have_text(["Activate", "End"])
    funnel = page.locator("ol.funnel li")
    expect(funnel).to_have_count(10)
    expect(page.locator('[data-metric="funnel-decided"]')).to_have_text(
        str(report["funnel"]["decided"])
    )
    for heading in ["Live activity", "Funnel", "Treated versus holdout over time"]:
        expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
    for heading in ["Incremental effect", "Suppression reasons", "Configuration", "History"]:
        expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
    expect(page.locator('[data-metric="incremental-conversions"]')).to_have_text("not enough data")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_value(draft_campaign["name"])
    expect(name).to_be_editable()
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    expect(page.locator("#audit-table tbody tr td").nth(3)).to_have_text("created")
    fits(page, viewport)
    screenshot(page, "campaign", viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_new_campaign_view_starts_from_a_template(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot, viewport: str
) -> None:
    network = api_get(web_app, "/v1/network")
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    page.locator("#nav").get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Come back to your quote")
    expect(page.get_by_label("Kind of offer")).to_have_value("fixed_discount")
    expect(page.get_by_label("Amount (EUR)")).to_have_value("15")
    routes = page.locator('[data-path="offer.route_ids"] .check-list input')
    expect(routes).to_have_count(len(network["routes"]))
    fences = page.locator('[data-path="targeting.geofences"] input[type="checkbox"]')
    expect(fences).to_have_count(len(network["ports"]))
    body = json.loads(page.get_by_label("Campaign (JSON)").input_value())
    assert body["name"] == "Come back to your quote"
    assert {(t["channel"], t["language"]) for t in body["templates"]} == {
        (channel, language) for channel in ("sms", "whatsapp") for language in "it en de fr".split()
    }

    page.get_by_label("Template").select_option("port_welcome")
    page.get_by_role("button", name="Use this template").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Port welcome")
    expect(page.get_by_label("Discount (%)")).to_have_value("10")
    expect(page.get_by_label("Livorno (LIV)")).to_be_checked()
    page.get_by_label("Messenger").check()  # a channel more: a template per language more
    body = json.loads(page.get_by_label("Campaign (JSON)").input_value())
    assert body["channels"] == ["sms", "messenger", "whatsapp"]
    assert sum(1 for t in body["templates"] if t["channel"] == "messenger") == 4
    page.get_by_label("Template").select_option("quote_comeback")
    page.get_by_role("button", name="Use this template").click()
    fits(page, viewport)
    screenshot(page, "new-campaign", viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_map_view_shows_the_network(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot, viewport: str
) -> None:
    network = api_get(web_app, "/v1/network")
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    page.locator("#nav").get_by_role("link", name="Map").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Map")
    expect(page.locator("#sea-map g.port")).to_have_count(len(network["ports"]))
    expect(page.locator("#ports-table tbody tr")).to_have_count(len(network["ports"]))
    fits(page, viewport)
    screenshot(page, "map", viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_models_view_shows_the_champion_and_the_challenger(
    web_app: WebApp, open_page: OpenPage, screenshot: Screenshot, viewport: str
) -> None:
    models = api_get(web_app, "/v1/models")
    assert models["champion"] and models["challenger"]
    page = open_page(viewport)
    sign_in(page, web_app.page_url, web_app.token(Role.DATA_SCIENTIST))
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    expect(page.locator("#champion")).to_have_text(models["champion"])
    expect(page.locator("#challenger")).to_have_text(models["challenger"])
    rows = page.locator("#models-table tbody tr")
    expect(rows).to_have_count(len(models["versions"]))
    champion = page.locator(f'tr[data-version="{models["champion"]}"]')
    expect(champion.locator(".role-champion")).to_have_text("champion")
    challenger = page.locator(f'tr[data-version="{models["challenger"]}"]')
    expect(challenger.locator(".role-challenger")).to_have_text("challenger")
    auc = models["versions"][0]["metrics"]["auc"]
    expect(page.locator("#models-table")).to_contain_text(f"{auc:.3f}")
    champion.get_by_role("button", name="Details").click()
    details = api_get(web_app, f"/v1/models/{models['champion']}", Role.DATA_SCIENTIST)
    expect(page.locator("#model-details h2")).to_have_text(models["champion"])
    expect(page.locator("#model-details")).to_contain_text(details["lightgbm_version"])
    fits(page, viewport)
    screenshot(page, "models", viewport)


def measured_report(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` with the figures of a campaign that ran for a while: the incrementality
    the project's own code measures on these groups, over three days."""
    treated = GroupOutcome(
        customers=405, conversions=134, revenue_eur=24_120.0, revenue_sq_eur2=5_200_000.0
    )
    control = GroupOutcome(
        customers=55, conversions=5, revenue_eur=900.0, revenue_sq_eur2=170_000.0
    )
    measured = measure_incrementality(treated, control, discount_cost_eur=1_650.0)
    timeline = [
        {"day": "2026-08-20", "treated_customers": 150, "treated_conversions": 40,
         "control_customers": 20, "control_conversions": 1},
        {"day": "2026-08-21", "treated_customers": 140, "treated_conversions": 50,
         "control_customers": 18, "control_conversions": 2},
        {"day": "2026-08-22", "treated_customers": 115, "treated_conversions": 44,
         "control_customers": 17, "control_conversions": 2},
    ]  # fmt: skip
    return {**report, "incrementality": measured.model_dump(mode="json"), "timeline": timeline}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_campaign_view_shows_the_lift_with_its_intervals(
    web_app: WebApp,
    draft_campaign: dict[str, Any],
    open_page: OpenPage,
    screenshot: Screenshot,
    viewport: str,
) -> None:
    path = f"/v1/campaigns/{draft_campaign['id']}/report"
    report = measured_report(api_get(web_app, path))
    page = open_page(viewport)
    page.route(
        f"**{path}",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(report)
        ),
    )
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    page.get_by_role("link", name=draft_campaign["name"]).click()
    lift = report["incrementality"]
    for name, key, digits in [
        ("incremental-conversions", "incremental_conversions", 1),
        ("roi", "roi", 2),
    ]:
        value = lift[key]
        expect(page.locator(f'[data-metric="{name}"]')).to_have_text(
            "{0:,.{3}f} [{1:,.{3}f}, {2:,.{3}f}]".format(
                value["value"], value["low"], value["high"], digits
            )
        )
    expect(page.locator(".stat svg.interval")).to_have_count(4)
    rows = page.locator("#timeline-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2).locator("td")).to_have_text(
        ["405", "134", "33.1 %", "55", "5", "9.1 %"]  # cumulated over the three days
    )
    expect(page.locator("svg.chart path.series")).to_have_count(2)
    expect(page.locator("svg.chart .axis-title")).to_have_text(
        ["Day (UTC, month-day)", "Cumulative conversion rate (%)"]
    )
    fits(page, viewport)
    screenshot(page, "campaign-report", viewport)
