"""Campaign routes of the API on the real broker: the whole life of a campaign, its audit
trail, precise refusals, the roles that are refused, and concurrent changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offers.roles import Role
from offers.settings import Settings
from tests.integration.api_client import api, bearer
from tests.unit.campaigns.factories import nested
from tests.unit.campaigns.factories import runnable_wire as runnable


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


@pytest.fixture(scope="module")
def marketer(stack_settings: Settings) -> dict[str, str]:
    return bearer(stack_settings, "u-marta", Role.MARKETER)


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/campaigns", json=runnable(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def messages(response: Any) -> dict[str, str]:
    """The 4xx detail as ``{dotted.field: reason}``."""
    return {".".join(map(str, d["loc"])): d["msg"] for d in response.json()["detail"]}


def test_a_campaign_lives_from_draft_to_ended_and_every_step_is_audited(
    client: TestClient, stack_settings: Settings, marketer: dict[str, str]
) -> None:
    created = client.post("/v1/campaigns", json=runnable(), headers=marketer)
    assert created.status_code == 201, created.text
    campaign = created.json()
    cid = campaign["id"]
    assert campaign["status"] == "draft" and campaign["version"] == 1
    assert campaign["updated_by"] == "u-marta"
    assert created.headers["Location"] == f"/v1/campaigns/{cid}"
    assert created.headers["ETag"] == '"1"'

    renamed = client.patch(
        f"/v1/campaigns/{cid}",
        json={"name": "Elba weekend", "offer": nested("offer", percent=20)},
        headers={**marketer, "If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Elba weekend" and renamed.json()["version"] == 2

    admin = bearer(stack_settings, "u-root", Role.ADMIN)
    steps = [("activate", marketer, "active"), ("pause", admin, "paused")]
    steps += [("resume", marketer, "active"), ("end", marketer, "ended")]
    for action, headers, status in steps:
        moved = client.post(f"/v1/campaigns/{cid}/{action}", headers=headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status

    read = client.get(f"/v1/campaigns/{cid}", headers=marketer)
    assert read.json()["status"] == "ended" and read.headers["ETag"] == '"6"'

    trail = client.get(f"/v1/campaigns/{cid}/audit", headers=marketer).json()
    assert [(e["version"], e["action"], e["actor"]["user_id"]) for e in trail] == [
        (1, "created", "u-marta"),
        (2, "updated", "u-marta"),
        (3, "activated", "u-marta"),
        (4, "paused", "u-root"),
        (5, "resumed", "u-marta"),
        (6, "ended", "u-marta"),
    ]
    assert trail[1]["changes"] == {
        "name": ["Summer to Olbia", "Elba weekend"],
        "offer.percent": [15, 20],
    }
    assert trail[3]["actor"]["role"] == "admin"

    edit = client.patch(f"/v1/campaigns/{cid}", json={"name": "Too late"}, headers=marketer)
    assert edit.status_code == 409
    assert messages(edit) == {"status": "the campaign has ended and can no longer change"}


def test_listing_filters_by_status(client: TestClient, marketer: dict[str, str]) -> None:
    draft = create(client, marketer)
    active = create(client, marketer)
    client.post(f"/v1/campaigns/{active['id']}/activate", headers=marketer)
    listed = client.get("/v1/campaigns", params={"status": "active"}, headers=marketer).json()
    ids = {c["id"] for c in listed}
    assert active["id"] in ids and draft["id"] not in ids
    everything = {c["id"] for c in client.get("/v1/campaigns", headers=marketer).json()}
    assert {draft["id"], active["id"]} <= everything


def test_an_update_that_changes_nothing_keeps_the_version(
    client: TestClient, marketer: dict[str, str]
) -> None:
    campaign = create(client, marketer)
    same = client.patch(
        f"/v1/campaigns/{campaign['id']}", json={"name": campaign["name"]}, headers=marketer
    )
    assert same.status_code == 200 and same.json()["version"] == 1
    trail = client.get(f"/v1/campaigns/{campaign['id']}/audit", headers=marketer).json()
    assert len(trail) == 1


def test_a_stale_if_match_is_refused(client: TestClient, marketer: dict[str, str]) -> None:
    cid = create(client, marketer)["id"]
    client.patch(f"/v1/campaigns/{cid}", json={"name": "First"}, headers=marketer)
    stale = client.patch(
        f"/v1/campaigns/{cid}", json={"name": "Second"}, headers={**marketer, "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert "is 2, not 1" in messages(stale)["version"]
    bad = client.post(f"/v1/campaigns/{cid}/end", headers={**marketer, "If-Match": "soon"})
    assert bad.status_code == 422
    assert "If-Match" in next(iter(messages(bad)))


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (runnable(id="cmp-mine"), "body.id", "Extra inputs are not permitted"),
        (runnable(status="active"), "body.status", "Extra inputs are not permitted"),
        (runnable(version=9), "body.version", "Extra inputs are not permitted"),
        (
            runnable(
                templates=[{"channel": "sms", "language": "it", "text": "Ciao {nome}"}],
                channels=["sms"],
            ),
            "body.templates.0.text",
            "nome",
        ),
        (runnable(holdout_share=1.5), "body.holdout_share", "less than or equal to 0.5"),
        (runnable(name=...), "body.name", "Field required"),
        (runnable(channels=["fax"]), "body.channels.0", "Input should be"),
    ],
)
def test_bad_campaigns_are_refused_with_the_field_and_the_reason(
    client: TestClient, marketer: dict[str, str], body: dict[str, Any], field: str, fragment: str
) -> None:
    response = client.post("/v1/campaigns", json=body, headers=marketer)
    assert response.status_code == 422, response.text
    found = messages(response)
    assert field in found, found
    assert fragment in found[field]


def test_a_campaign_that_cannot_run_is_not_activated(
    client: TestClient, marketer: dict[str, str]
) -> None:
    cid = create(client, marketer, budget={})["id"]
    refused = client.post(f"/v1/campaigns/{cid}/activate", headers=marketer)
    assert refused.status_code == 422
    assert "before activating" in messages(refused)["budget"]
    paused = client.post(f"/v1/campaigns/{cid}/pause", headers=marketer)
    assert paused.status_code == 409
    assert "cannot pause a campaign that is draft" in messages(paused)["status"]


def test_unknown_campaigns_are_404(client: TestClient, marketer: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/v1/campaigns/cmp-nope"),
        ("GET", "/v1/campaigns/cmp-nope/audit"),
        ("PATCH", "/v1/campaigns/cmp-nope"),
        ("POST", "/v1/campaigns/cmp-nope/activate"),
    ]:
        response = client.request(method, path, json={} if method == "PATCH" else None,
                                  headers=marketer)  # fmt: skip
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"] == "no campaign has the id 'cmp-nope'"


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.DATA_SCIENTIST])
def test_only_marketers_and_admins_reach_campaigns(
    client: TestClient, stack_settings: Settings, marketer: dict[str, str], role: Role
) -> None:
    cid = create(client, marketer)["id"]
    headers = bearer(stack_settings, "someone", role)
    for method, path, body in [
        ("POST", "/v1/campaigns", runnable()),
        ("GET", "/v1/campaigns", None),
        ("GET", f"/v1/campaigns/{cid}", None),
        ("PATCH", f"/v1/campaigns/{cid}", {"name": "x"}),
        ("POST", f"/v1/campaigns/{cid}/activate", None),
        ("POST", f"/v1/campaigns/{cid}/end", None),
        ("GET", f"/v1/campaigns/{cid}/audit", None),
    ]:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert client.request(method, path, json=body).status_code == 401
    after = client.get(f"/v1/campaigns/{cid}", headers=marketer).json()
    assert after["status"] == "draft" and after["version"] == 1


def test_concurrent_changes_never_lose_or_duplicate_a_version(
    client: TestClient, marketer: dict[str, str]
) -> None:
    cid = create(client, marketer)["id"]
    names = [f"Name {uuid.uuid4().hex[:6]}" for _ in range(12)]

    def rename(name: str) -> tuple[int, int | None]:
        response = client.patch(f"/v1/campaigns/{cid}", json={"name": name}, headers=marketer)
        return response.status_code, response.json().get("version")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(rename, names))
    assert {status for status, _ in results} <= {200, 409}
    versions = sorted(version for status, version in results if status == 200)
    assert versions == list(range(2, 2 + len(versions)))
    trail = client.get(f"/v1/campaigns/{cid}/audit", headers=marketer).json()
    assert [e["version"] for e in trail] == list(range(1, 2 + len(versions)))
    final = client.get(f"/v1/campaigns/{cid}", headers=marketer).json()
    assert final["version"] == 1 + len(versions)
    assert final["name"] == trail[-1]["changes"]["name"][1]
