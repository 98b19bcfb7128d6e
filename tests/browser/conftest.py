"""The marketers' page in headless Chromium (Debian's, driven by Playwright), against the
API on a real stack.

The stack is the one of ``tests/integration/conftest.py`` (a real Kafka broker and Redis,
started by the project's own stack code), scoped to this package: it stops when the
browser tests end, before the integration tests start theirs, so that a whole run never
holds two brokers at once. The API runs as a child process over it (as in production,
with the page's Content-Security-Policy), with a registry holding a champion and a
challenger. Every page is watched for script errors and policy violations, which fail
the test that met them; screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from models.registry import ModelRegistry
from offers.campaigns.presets import fare_drop_alert
from offers.demo_setup import engine_settings
from offers.roles import Role
from offers.settings import Settings
from offers.stack import LocalStack
from offers.stack.api import ApiProcess
from offers_api.security import issue_token
from tests.integration.decision_runs import reregistered, trained_registry
from tests.integration.stacks import stack_settings_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of 4")
"""Chromium logs every refused call (a 401 after a bad token, a 422 of the form): those
are the page working, not failing."""


@pytest.fixture(scope="package")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root: Path = tmp_path_factory.mktemp("browser-stack")
    with LocalStack(stack_settings_in(root), root) as stack:
        yield stack


@pytest.fixture(scope="package")
def stack_settings(local_stack: LocalStack) -> Settings:
    return local_stack.configured()


@dataclass(frozen=True)
class WebApp:
    """The API serving the page, and what a test needs to sign in and call it."""

    base_url: str
    settings: Settings
    registry: ModelRegistry
    logs: Path

    @property
    def page_url(self) -> str:
        return f"{self.base_url}/ui/"

    def token(self, role: Role, subject: str | None = None) -> str:
        name = subject or {Role.MARKETER: "mara", Role.DATA_SCIENTIST: "dario"}.get(role, "ops")
        return issue_token(self.settings, name, role, timedelta(hours=1))

    def headers(self, role: Role = Role.MARKETER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}


@pytest.fixture(scope="package")
def web_app(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The API with the page, deciding with a trained champion, a challenger in shadow."""
    root = tmp_path_factory.mktemp("web")
    registry = trained_registry(root / "registry")
    registry.shadow(reregistered(registry))
    settings = engine_settings(stack_settings, registry.directory)
    logs = root / "logs"
    logs.mkdir()
    with ApiProcess(settings, logs) as api:
        api.wait_ready()
        yield WebApp(api.base_url, settings, registry, logs)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: make system-deps installs Debian's chromium")
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@dataclass
class PageProblems:
    """What went wrong in a page: script errors, policy violations, console errors."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not EXPECTED_CONSOLE.search(message.text):
            self.errors.append(f"console: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.errors.append(f"page error: {error}")


OpenPage = Callable[[str], Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """``open_page("desktop" | "phone")``: a page in a fresh context (its own browser
    storage) at that viewport; the test fails if the page met a script error or a
    Content-Security-Policy violation."""
    opened: list[tuple[Page, PageProblems]] = []

    def open_one(viewport: str) -> Page:
        context = browser.new_context(
            viewport=VIEWPORTS[viewport], locale="en-GB", timezone_id="UTC"
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        problems = PageProblems()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        opened.append((page, problems))
        return page

    yield open_one
    found = [error for _, problems in opened for error in problems.errors]
    for page, _ in opened:
        page.context.close()
    assert not found, "\n".join(found)


Screenshot = Callable[[Page, str, str], Path]


@pytest.fixture(scope="package")
def screenshot_dir() -> Path:
    """The screenshots' directory, emptied of an earlier run's."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, screenshot_dir: Path) -> Screenshot:
    """``screenshot(page, view, viewport)``: the whole page, saved as
    ``<test>-<view>-<viewport>.png``."""
    test = request.node.originalname

    def take(page: Page, view: str, viewport: str) -> Path:
        path = screenshot_dir / f"{test}-{view}-{viewport}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="package")
def draft_campaign(web_app: WebApp) -> dict[str, Any]:
    """A draft campaign made through the API, for the views that show one."""
    now = datetime.now(UTC)
    wire = fare_drop_alert(now - timedelta(days=1), now + timedelta(days=30))
    wire["name"] = "Autumn fare drops"
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        created = client.post("/v1/campaigns", json=wire)
        assert created.status_code == 201, created.text
        campaign: dict[str, Any] = created.json()
    return campaign
