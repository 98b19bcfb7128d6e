"""What the tests do on the page and read from it, as a marketer would."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

CUSTOMER_ID = re.compile(r"\bc\d{7}\b")
PHONE_NUMBER = re.compile(r"\+\d{8,}")


def sign_in(page: Page, page_url: str, token: str) -> None:
    """Open the page, sign in with ``token`` and wait for the first view."""
    page.goto(page_url)
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#nav")).to_be_visible()


def go(page: Page, hash_route: str) -> None:
    """Follow the page's own link to a view, as the navigation does."""
    page.evaluate("route => { window.location.hash = route; }", hash_route)


def number(text: str) -> int:
    """12 from "12", 1234 from "1,234"; -1 for a dash (nothing yet)."""
    digits = text.strip().replace(",", "")
    return int(digits) if digits.isdigit() else -1


def metric(page: Page, name: str, within: Locator | None = None) -> int:
    scope = within if within is not None else page.locator("main")
    return number(scope.locator(f'[data-metric="{name}"]').first.inner_text())


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout_s:.0f} s: {what}")
        time.sleep(poll_s)


def focus_outline(page: Page) -> tuple[str, float]:
    """The outline style and width (px) of the focused element."""
    style, width = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return [style.outlineStyle, parseFloat(style.outlineWidth) || 0];
        }"""
    )
    return str(style), float(width)


def focused(page: Page) -> dict[str, str]:
    """The focused element: its tag, id, href and text."""
    found: dict[str, str] = page.evaluate(
        """() => {
            const e = document.activeElement;
            return {tag: e.tagName.toLowerCase(), id: e.id || "",
                    href: e.getAttribute("href") || "", text: (e.innerText || "").trim()};
        }"""
    )
    return found


def tab_until(page: Page, matches: Callable[[dict[str, str]], bool], most: int = 40) -> None:
    """Press Tab until the focused element ``matches``."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if matches(focused(page)):
            return
    raise AssertionError(f"{most} presses of Tab never reached the element")


def no_horizontal_scroll(page: Page) -> bool:
    page_box = "document.documentElement"
    return bool(page.evaluate(f"{page_box}.scrollWidth <= {page_box}.clientWidth"))


def shows_no_customer(page: Page) -> None:
    text = page.locator("body").inner_text()
    assert not CUSTOMER_ID.search(text), CUSTOMER_ID.search(text)
    assert not PHONE_NUMBER.search(text), PHONE_NUMBER.search(text)


def regain_focus(page: Page) -> None:
    """The window getting the focus back, as when a marketer returns to the page's tab."""
    page.evaluate("() => window.dispatchEvent(new Event('focus'))")
