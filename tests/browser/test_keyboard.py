"""The page with the keyboard alone: a skip link first, sign-in, then a campaign opened
and acted on with Tab, Enter and Space, the focus always visible."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from offers.roles import Role
from tests.browser.conftest import OpenPage, Screenshot, WebApp
from tests.browser.pages import focus_outline, focused, tab_until

pytestmark = pytest.mark.integration


def assert_focus_visible(page: Page) -> None:
    style, width = focus_outline(page)
    assert style != "none" and width >= 2, (focused(page), style, width)


def test_sign_in_and_open_a_campaign_with_the_keyboard_alone(
    web_app: WebApp,
    draft_campaign: dict[str, Any],
    open_page: OpenPage,
    screenshot: Screenshot,
) -> None:
    page = open_page("desktop")
    page.goto(web_app.page_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    assert_focus_visible(page)
    expect(page.locator("#skip")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    tab_until(page, lambda element: element["id"] == "token")
    assert_focus_visible(page)
    page.keyboard.type(web_app.token(Role.MARKETER))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    expect(page.get_by_role("heading", level=1)).to_be_focused()

    name = draft_campaign["name"]
    tab_until(page, lambda element: element["tag"] == "a" and element["text"] == name)
    assert_focus_visible(page)
    screenshot(page, "campaigns", "desktop")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", level=1)).to_be_focused()

    tab_until(page, lambda element: element["tag"] == "button" and element["text"] == "End")
    assert_focus_visible(page)
    page.keyboard.press("Space")  # asks first: ending is for good
    expect(page.get_by_role("button", name="Yes, end it")).to_be_focused()
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Keep it"
    page.keyboard.press("Enter")
    assert focused(page)["text"] == "End"
    expect(page.locator("#campaign-status")).to_have_text("draft")
    screenshot(page, "campaign", "desktop")

    for _ in range(60):  # back up to the header's sign-out button
        page.keyboard.press("Shift+Tab")
        if focused(page)["id"] == "sign-out":
            break
    assert focused(page)["id"] == "sign-out"
    assert_focus_visible(page)
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.evaluate("window.sessionStorage.length") == 0
