"""The model registry's routes (/v1/models): who may read and change what, the list and a
version's meta, its report files (and nothing outside them), promotion, rollback and the
shadow, with precise errors for unknown versions and nothing to roll back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from models.features import FEATURE_NAMES, FeatureEncoder
from models.registry import ModelRegistry
from offers.roles import Role
from offers.settings import Settings
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.security import current_settings, issue_token
from tests.unit.offers_api.state_fakes import api_client

HOUR = timedelta(hours=1)
WINDOW = {"window_start": "2026-06-01T00:00:00+00:00", "window_end": "2026-06-30T23:59:59+00:00"}


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """A tiny booster over the model's features: enough to register, load and promote."""
    rng = np.random.default_rng(5)
    rows = rng.random((200, len(FEATURE_NAMES)))
    labels = (rows[:, 0] > 0.5).astype(int)
    data = lgb.Dataset(rows, labels, feature_name=list(FEATURE_NAMES), free_raw_data=False)
    parameters = {"objective": "binary", "num_leaves": 4, "verbosity": -1, "num_threads": 1}
    return lgb.train(parameters, data, num_boost_round=2)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


def register(registry: ModelRegistry, booster: lgb.Booster, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "features": FeatureEncoder().schema(),
        "metrics": {"auc": 0.71, "oracle_auc": 0.75, "log_loss": 0.41, "calibration_error": 0.01},
        "data": {"rows": 200},
        "monitoring": {"scores": [0.1, 0.2]},
        **overrides,
    }
    return registry.register(booster, **arguments)


@pytest.fixture
def versions(tmp_path: Path, registry: ModelRegistry, booster: lgb.Booster) -> list[str]:
    """Three versions; the second has a report and a data window."""
    report = tmp_path / "report-source"
    report.mkdir()
    (report / "report.html").write_text("<html><img src='calibration.png'></html>")
    (report / "calibration.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (report / "metrics.json").write_text('{"auc": 0.71}')
    (tmp_path / "secret.json").write_text('{"secret": true}')
    first = register(registry, booster)
    second = register(
        registry, booster, parent=first, data={"rows": 200, **WINDOW}, report_dir=report
    )
    return [first, second, register(registry, booster, parent=second)]


@pytest.fixture
def settings(registry: ModelRegistry) -> Settings:
    return Settings(environment="test", model_dir=registry.directory)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    test_client, _ = api_client(settings, api_keys=InMemoryApiKeyStore())
    app = test_client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[current_settings] = lambda: settings
    return test_client


@pytest.fixture
def as_role(settings: Settings) -> Any:
    def headers(role: Role, subject: str = "dora") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings, subject, role, HOUR)}"}

    return headers


# Who may do what

READS = [("GET", "/v1/models/v2"), ("GET", "/v1/models/v2/report")]
WRITES = [
    ("POST", "/v1/models/v2/promote"),
    ("POST", "/v1/models/v3/shadow"),
    ("DELETE", "/v1/models/challenger"),
]


@pytest.mark.usefixtures("versions")
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/models"), *READS, *WRITES])
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.CUSTOMER, False),
        (Role.MARKETER, False),
        (Role.DATA_SCIENTIST, True),
        (Role.ADMIN, True),
    ],
)
def test_role_matrix(
    client: TestClient, as_role: Any, method: str, path: str, role: Role, allowed: bool
) -> None:
    if role is Role.MARKETER and path == "/v1/models":
        allowed = True  # marketers may read the list, nothing more
    response = client.request(method, path, headers=as_role(role))
    assert response.status_code == (200 if allowed else 403), response.text


@pytest.mark.usefixtures("versions")
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/models"), ("POST", "/v1/models/champion/rollback"), *READS, *WRITES],
)
def test_no_credentials_is_401(client: TestClient, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 401


# Reading


def test_the_list(
    client: TestClient, as_role: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    first, second, third = versions
    registry.promote(second)
    registry.shadow(third)
    response = client.get("/v1/models", headers=as_role(Role.MARKETER, "mia"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["champion"] == second and body["challenger"] == third
    listed = body["versions"]
    assert [v["version"] for v in listed] == versions
    assert [(v["champion"], v["challenger"]) for v in listed] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    assert listed[1]["parent"] == first
    assert listed[1]["metrics"] == {
        "auc": 0.71,
        "oracle_auc": 0.75,
        "log_loss": 0.41,
        "calibration_error": 0.01,
    }
    assert (listed[1]["window_start"], listed[1]["window_end"]) == (
        WINDOW["window_start"],
        WINDOW["window_end"],
    )
    assert listed[0]["window_start"] is None and listed[0]["damaged"] is None


def test_a_damaged_version_is_listed_as_damaged(
    client: TestClient, as_role: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    (registry.directory / versions[0] / "meta.json").write_text("{not json")
    response = client.get("/v1/models", headers=as_role(Role.DATA_SCIENTIST))
    assert response.status_code == 200, response.text
    damaged = response.json()["versions"][0]
    assert damaged["damaged"].startswith(f"model version {versions[0]} is damaged")
    assert damaged["created_at"] is None
    detail = client.get(f"/v1/models/{versions[0]}", headers=as_role(Role.DATA_SCIENTIST))
    assert detail.status_code == 409 and "is damaged" in detail.json()["detail"]


def test_a_version(client: TestClient, as_role: Any, versions: list[str]) -> None:
    response = client.get("/v1/models/v2", headers=as_role(Role.DATA_SCIENTIST))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == versions[1] and body["parent"] == versions[0]
    assert "monitoring" not in body
    assert body["data"] == {"rows": 200, **WINDOW}
    assert [f["name"] for f in body["features"]] == list(FEATURE_NAMES)
    assert body["report_url"] == f"/v1/models/{versions[1]}/report/report.html"
    assert body["champion"] is False and body["challenger"] is False
    third = client.get(f"/v1/models/{versions[2]}", headers=as_role(Role.ADMIN)).json()
    assert third["report_url"] is None


def test_the_report_and_its_files(client: TestClient, as_role: Any, versions: list[str]) -> None:
    headers = as_role(Role.DATA_SCIENTIST)
    html = client.get(f"/v1/models/{versions[1]}/report", headers=headers)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.text == "<html><img src='calibration.png'></html>"
    png = client.get("/v1/models/v2/report/calibration.png", headers=headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == b"\x89PNG\r\n\x1a\n"
    metrics = client.get("/v1/models/v2/report/metrics.json", headers=headers)
    assert metrics.json() == {"auc": 0.71}
    none = client.get("/v1/models/v3/report", headers=headers)
    assert none.status_code == 404
    assert none.json() == {"detail": f"model version {versions[2]} has no report"}


@pytest.mark.parametrize(
    "file_name",
    [
        "..%2F..%2Fsecret.json",
        "%2E%2E%2Fmeta.json",
        "..%5Cmeta.json",
        "meta.json",
        "model.txt",
        "..png",
        "report",
        "%2Fetc%2Fpasswd",
        "calibration.png%00.html",
    ],
)
def test_a_report_file_outside_the_report_is_refused(
    client: TestClient, as_role: Any, versions: list[str], file_name: str
) -> None:
    response = client.get(f"/v1/models/v2/report/{file_name}", headers=as_role(Role.DATA_SCIENTIST))
    assert 400 <= response.status_code < 500, response.text
    assert "secret" not in response.text and "tree" not in response.text


@pytest.mark.usefixtures("versions")
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models/v9"),
        ("GET", "/v1/models/v9/report"),
        ("GET", "/v1/models/v9/report/calibration.png"),
        ("POST", "/v1/models/v9/promote"),
        ("POST", "/v1/models/v9-20260101T000000Z/shadow"),
    ],
)
def test_an_unknown_version_is_404(
    client: TestClient, as_role: Any, method: str, path: str
) -> None:
    response = client.request(method, path, headers=as_role(Role.DATA_SCIENTIST))
    assert response.status_code == 404, response.text
    assert response.json()["detail"].startswith("no model version 'v9")


@pytest.mark.usefixtures("versions")
@pytest.mark.parametrize("version", ["latest", "v0", "V2", "v2-yesterday", "v2-20260101"])
def test_a_malformed_version_is_422(client: TestClient, as_role: Any, version: str) -> None:
    response = client.post(f"/v1/models/{version}/promote", headers=as_role(Role.DATA_SCIENTIST))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["path", "version"]


# Changing the champion and the challenger


def test_the_pointers_can_be_read_and_other_methods_are_not_allowed(
    client: TestClient, as_role: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    registry.promote(versions[1])
    headers = as_role(Role.MARKETER)
    for path in ("/v1/models/champion", "/v1/models/challenger"):
        body = client.get(path, headers=headers).json()
        assert body["champion"] == versions[1] and body["previous_champion"] is None
    assert client.get("/v1/models/champion/rollback", headers=headers).status_code == 405
    assert client.put("/v1/models/challenger", headers=headers).status_code == 405


def test_promote_rollback_and_shadow(
    client: TestClient, as_role: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    first, second, third = versions
    headers = as_role(Role.DATA_SCIENTIST, "dora")

    def post(path: str) -> dict[str, Any]:
        response = client.post(path, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert post("/v1/models/v1/promote") == {
        "champion": first,
        "challenger": None,
        "previous_champion": None,
        "previous_challenger": None,
    }
    assert post("/v1/models/v3/shadow") == {
        "champion": first,
        "challenger": third,
        "previous_champion": first,
        "previous_challenger": None,
    }
    post(f"/v1/models/{second}/promote")
    assert post("/v1/models/v3/promote") == {
        "champion": third,
        "challenger": None,
        "previous_champion": second,
        "previous_challenger": third,
    }
    assert post("/v1/models/champion/rollback")["champion"] == second
    assert post("/v1/models/champion/rollback") == {
        "champion": first,
        "challenger": None,
        "previous_champion": second,
        "previous_challenger": None,
    }
    assert {entry.actor for entry in registry.history()} == {"dora"}
    assert [entry.action for entry in registry.history()] == ["promote"] * 3 + ["rollback"] * 2

    refused = client.post("/v1/models/champion/rollback", headers=headers)
    assert refused.status_code == 409
    assert "no earlier champion to roll back to" in refused.json()["detail"]

    post("/v1/models/v2/shadow")
    stopped = client.delete("/v1/models/challenger", headers=as_role(Role.ADMIN, "root"))
    assert stopped.json() == {
        "champion": first,
        "challenger": None,
        "previous_champion": first,
        "previous_challenger": second,
    }


@pytest.mark.usefixtures("versions")
def test_rollback_with_nothing_to_roll_back_is_409(client: TestClient, as_role: Any) -> None:
    response = client.post("/v1/models/champion/rollback", headers=as_role(Role.DATA_SCIENTIST))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("no champion in ")


def test_an_empty_registry(client: TestClient, as_role: Any) -> None:
    headers = as_role(Role.DATA_SCIENTIST)
    listed = client.get("/v1/models", headers=headers)
    assert listed.json() == {"champion": None, "challenger": None, "versions": []}
    assert client.post("/v1/models/champion/rollback", headers=headers).status_code == 409
    assert client.delete("/v1/models/challenger", headers=headers).status_code == 200
    assert client.post("/v1/models/v1/promote", headers=headers).status_code == 404
