"""The map: every port of the network with its geofence to scale, the coastline of the
bundled Natural Earth file (Elba included), the offer activity per port as marks,
labels and a table that agree, and a zoom on one port."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from offers.roles import Role
from tests.browser.conftest import OpenPage, WebApp
from tests.browser.pages import go, metric, sign_in

pytestmark = pytest.mark.integration

COAST = Path(__file__).resolve().parents[2] / "offers_api" / "web" / "static" / "coast.json"
ELBA = (10.0, 42.6, 10.5, 42.9)
"""West, south, east, north of a box around Elba alone."""


def coast() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COAST.read_text(encoding="utf-8"))
    return data


def test_the_coastline_file_names_its_source_and_holds_elba() -> None:
    data = coast()
    assert "Natural Earth" in data["source"] and "public domain" in data["licence"]
    assert data["bbox"] == [7.0, 38.5, 13.5, 45.0]
    west, south, east, north = ELBA
    islands = [
        polygon
        for polygon in data["polygons"]
        if all(west <= lon <= east and south <= lat <= north for lon, lat in polygon[0])
    ]
    assert islands, "no polygon for Elba"
    assert COAST.stat().st_size < 60_000


def test_the_map_shows_every_port_and_the_coastline(web_app: WebApp, open_page: OpenPage) -> None:
    with httpx.Client(base_url=web_app.base_url, headers=web_app.headers()) as client:
        network = client.get("/v1/network").json()
        activity = client.get("/v1/activity").json()
    page = open_page("desktop")
    sign_in(page, web_app.page_url, web_app.token(Role.MARKETER))
    go(page, "#/map")
    ports = page.locator("#sea-map g.port")
    expect(ports).to_have_count(len(network["ports"]))
    codes = [port.get_attribute("data-port") for port in ports.all()]
    assert codes == [port["code"] for port in network["ports"]]

    rings = sum(len(polygon) for polygon in coast()["polygons"])
    path = page.locator("#coastline").get_attribute("d") or ""
    assert path.count("M") == rings and len(path) > 10_000

    radius = {
        code: float(
            page.locator(f'g.port[data-port="{code}"] circle.geofence').get_attribute("r") or 0
        )
        for code in codes
    }
    scale = {p["code"]: radius[p["code"]] / p["geofence_km"] for p in network["ports"]}
    assert max(scale.values()) - min(scale.values()) < 1e-6, scale  # every ring to scale
    assert math.isclose(next(iter(scale.values())), 100 / 111.32, rel_tol=1e-6)

    table = page.locator("#ports-table tbody tr")
    expect(table).to_have_count(len(network["ports"]))
    totals = {p["port"]: p for p in activity["ports"] if p["port"] is not None}
    for port in network["ports"]:
        code = port["code"]
        row = page.locator(f'#ports-table tr[data-port="{code}"]')
        label = page.locator(f'g.port[data-port="{code}"] text').text_content() or ""
        found = re.fullmatch(rf"{code} (\d+)/(\d+)", label)
        assert found, label
        assert int(found.group(1)) == metric(page, "decided_recent", within=row)
        assert int(found.group(2)) == metric(page, "sent_recent", within=row)
        assert metric(page, "decided", within=row) >= totals.get(code, {}).get("decided", 0)
    busy = [p for p in totals.values() if p["decided_recent"]]
    if busy:  # after the simulated day: its geofence entries are marked
        expect(
            page.locator(f'g.port[data-port="{busy[0]["port"]}"] circle.activity')
        ).to_have_count(1)

    whole = page.locator("#sea-map").get_attribute("viewBox") or ""
    page.locator('#ports-table tr[data-port="PFE"]').get_by_role("button").click()
    expect(page.locator("#map-zoom")).to_have_text(
        "Showing 80 km around Portoferraio; its geofence is 1.5 km."
    )
    zoomed = page.locator("#sea-map").get_attribute("viewBox") or ""
    assert float(zoomed.split()[2]) < float(whole.split()[2]) / 5
    page.locator('#ports-table tr[data-port="PFE"]').get_by_role("button").click()
    expect(page.locator("#map-zoom")).to_have_text("Showing the whole sea.")
