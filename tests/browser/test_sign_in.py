"""Signing in and out: a token the API refuses, or whose role may not use the page, is
turned away with the API's own message; a token refused later returns to sign-in, and
signing in again returns to the view that was open."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from offers.roles import Role
from tests.browser.conftest import OpenPage, WebApp
from tests.browser.pages import go, sign_in

pytestmark = pytest.mark.integration


def api_refusal(web_app: WebApp, token: str, path: str = "/v1/campaigns") -> tuple[int, str]:
    with httpx.Client(base_url=web_app.base_url) as client:
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
    detail: str = answer.json()["detail"]
    return answer.status_code, detail


def test_a_refused_token_is_turned_away_with_the_api_message(
    web_app: WebApp, open_page: OpenPage
) -> None:
    page = open_page("desktop")
    page.goto(web_app.page_url)
    bad = web_app.token(Role.MARKETER)[:-4] + "AAAA"
    status, message = api_refusal(web_app, bad)
    assert status == 401
    page.get_by_label("Access token").fill(bad)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text(message)
    expect(page.get_by_label("Access token")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#nav")).to_be_hidden()

    customer = web_app.token(Role.CUSTOMER, subject="c0000042")
    status, message = api_refusal(web_app, customer)
    assert status == 403
    page.get_by_label("Access token").fill(customer)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text(message)
    assert page.evaluate("window.sessionStorage.length") == 0


def test_a_token_refused_later_returns_to_sign_in_and_back(
    web_app: WebApp, open_page: OpenPage
) -> None:
    page = open_page("desktop")
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    go(page, "#/map")
    expect(page.get_by_role("heading", level=1)).to_have_text("Map")
    stale = web_app.token(Role.MARKETER)[:-4] + "AAAA"
    page.evaluate("t => window.sessionStorage.setItem('moby-offers.token', t)", stale)
    _, message = api_refusal(web_app, stale)
    go(page, "#/models")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.locator("#signin-error")).to_have_text(message)
    page.get_by_label("Access token").fill(web_app.token(Role.MARKETER))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.locator("main")).not_to_contain_text("champion")


def test_a_data_scientist_sees_the_models_and_the_map(web_app: WebApp, open_page: OpenPage) -> None:
    page = open_page("desktop")
    sign_in(page, web_app.page_url, web_app.token(Role.DATA_SCIENTIST))
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    expect(page.locator("#who")).to_have_text("dario (data scientist)")
    nav = page.locator("#nav")
    expect(nav.get_by_role("link")).to_have_text(["Map", "Models"])
