"""The marketers' page as the API serves it: the redirect to it, the page with its security
headers, its files (nothing outside them, no listing), and none of it in the API's
description."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from offers.settings import Settings
from offers_api.main import create_app
from offers_api.routes.web import CONTENT_SECURITY_POLICY, STATIC_DIR, page_router

PAGE = "<!doctype html><title>Moby offers</title><script type=module src=/ui/static/app.js>"


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "views").mkdir(parents=True)
    (static / "index.html").write_text(PAGE)
    (static / "app.js").write_text("export const ready = true;\n")
    (static / "views" / "campaigns.js").write_text("export function show() {}\n")
    (tmp_path / "secret.txt").write_text("not for the page")
    (static / "linked.txt").symlink_to(tmp_path / "secret.txt")
    return static


def client_of(static_dir: Path) -> TestClient:
    app = FastAPI()
    app.include_router(page_router(static_dir))
    return TestClient(app)


def test_the_root_redirects_to_the_page(static_dir: Path) -> None:
    response = client_of(static_dir).get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/ui/"


def test_the_page_is_served_without_credentials_with_a_strict_policy(static_dir: Path) -> None:
    response = client_of(static_dir).get("/ui/")
    assert response.status_code == 200
    assert response.text == PAGE
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    assert CONTENT_SECURITY_POLICY == response.headers["content-security-policy"]


def test_the_page_without_a_slash_is_redirected_to_it(static_dir: Path) -> None:
    response = client_of(static_dir).get("/ui", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/ui/")


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        ("/ui/static/app.js", "export const ready = true;\n", "javascript"),
        ("/ui/static/views/campaigns.js", "export function show() {}\n", "javascript"),
        ("/ui/static/index.html", PAGE, "text/html"),
    ],
)
def test_the_pages_files_are_served(static_dir: Path, path: str, text: str, kind: str) -> None:
    response = client_of(static_dir).get(path)
    assert response.status_code == 200
    assert response.text == text
    assert kind in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/",
        "/ui/static/views/",
        "/ui/static/missing.js",
        "/ui/static/../secret.txt",
        "/ui/static/%2e%2e/secret.txt",
        "/ui/static/..%2fsecret.txt",
        "/ui/static/linked.txt",
    ],
)
def test_nothing_else_is_served(static_dir: Path, path: str) -> None:
    response = client_of(static_dir).get(path)
    assert response.status_code == 404
    assert "not for the page" not in response.text


def test_a_missing_page_is_404(tmp_path: Path) -> None:
    response = client_of(tmp_path).get("/ui/")
    assert response.status_code == 404
    assert response.json() == {"detail": "the page is not installed"}


def test_the_api_serves_the_installed_page_and_leaves_it_out_of_its_description() -> None:
    assert (STATIC_DIR / "index.html").is_file(), "the page is shipped with the API"
    app = create_app(Settings(environment="test"))
    response = TestClient(app).get("/ui/")  # the lifespan is not run: no store is needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (STATIC_DIR / "index.html").read_text()
    paths = app.openapi()["paths"]
    assert not [path for path in paths if not path.startswith(("/v1/", "/r/"))]
    assert "/v1/network" in paths and "/v1/activity" in paths
