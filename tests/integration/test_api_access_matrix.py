"""Who may call what, route by route, on the real broker and Redis: every route the app
serves has one row in :data:`TABLE`, and every row is tried by every caller of
:data:`CALLERS`. Callers a row allows get the route's own answer (never 401 or 403);
those without valid credentials get 401 with a ``WWW-Authenticate`` challenge; those
whose role may not, or a customer on another customer's data, get 403.

Provider webhooks and redemption links take no bearer token: their credential is the
provider's signature, Meta's verify token, or the signed token in the link. Their rows say
what a missing or wrong one gets, and a genuine one is accepted whoever else calls.

The marketers' page (``/`` and ``/ui/``) is public like the API's description: it holds no
data and signs in by itself. Its files under ``/ui/static/`` are a mount, not a route, so
they have no row (tests/unit/offers_api/test_web_page.py covers them).

The table is checked against ``app.routes``: a route without a row, or a row whose route
the app does not serve, fails the first test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import jwt
import lightgbm as lgb
import numpy as np
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr
from redis import Redis

from models.features import FEATURE_NAMES, FeatureEncoder
from models.registry import ModelRegistry
from offers.offer_book import StoredOffer
from offers.roles import Role
from offers.settings import Settings
from offers_api.credentials import RedisApiKeyStore
from offers_api.main import create_app
from offers_api.security import ALGORITHM, AUDIENCE, ISSUER, Principal, issue_token
from offers_api.signatures import sign_meta, sign_twilio
from offers_api.state import ApiState
from streams.delivery.redemption import redemption_token
from tests.integration.api_client import api, bearer
from tests.unit.campaigns.factories import runnable_wire as runnable

HOUR = timedelta(hours=1)

# Callers

Caller = Literal[
    "none",
    "own",
    "other",
    "marketer",
    "marketer_key",
    "data_scientist",
    "admin",
    "expired",
    "forged",
    "unknown_role",
]
CALLERS: tuple[Caller, ...] = (
    "none",  # no credentials at all
    "own",  # a customer, on its own id
    "other",  # a customer, on another customer's id
    "marketer",
    "marketer_key",  # a marketer's machine client, with an API key
    "data_scientist",
    "admin",
    "expired",  # an admin's token, expired an hour ago
    "forged",  # an admin's token signed with another secret
    "unknown_role",  # a genuine token naming a role the API does not know
)
UNAUTHENTICATED: frozenset[Caller] = frozenset({"none", "expired", "forged", "unknown_role"})
"""Callers refused with 401; any other caller a row does not allow gets 403."""

MARKETERS: frozenset[Caller] = frozenset({"marketer", "marketer_key", "admin"})
ANALYSTS: frozenset[Caller] = MARKETERS | {"data_scientist"}
DATA_SCIENTISTS: frozenset[Caller] = frozenset({"data_scientist", "admin"})
SELF_OR_ADMIN: frozenset[Caller] = frozenset({"own", "admin"})
EVERYONE: frozenset[Caller] = frozenset(CALLERS)


# Requests


@dataclass(frozen=True)
class Call:
    """A request; ``owner`` is the customer whose data the path names, if any."""

    method: str
    url: str
    owner: str | None = None
    json: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    """An endless answer (an event stream): only its status, and the body of a refusal,
    are read."""


Proof = Literal["missing", "wrong", "genuine"]


@dataclass(frozen=True)
class ByRole:
    """A route for callers with credentials: those in ``allowed`` get ``ok``; ``why`` says
    why, when that is not plain."""

    allowed: frozenset[Caller]
    ok: int
    build: Callable[[World], Call]
    why: str = ""


@dataclass(frozen=True)
class ByProof:
    """A route whose credential is in the request itself (a signature, a verify token, a
    signed link): a missing or wrong one gets ``refused``, a genuine one ``ok``, whoever
    calls; ``why`` says why ``refused`` is not 401 or 403, when it is not."""

    refused: int
    ok: int
    build: Callable[[World, Proof], Call]
    why: str = ""


# The world the requests are made in


@dataclass
class World:
    """The running API, its settings, the model registry it reads, and what the rows need:
    campaigns in each status, customers with data of their own, signed webhooks."""

    client: TestClient
    settings: Settings
    registry: ModelRegistry
    versions: list[str]
    marketer_key: str
    shared: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> ApiState:
        state: ApiState = self.client.app.state.api  # type: ignore[attr-defined]  # Starlette's app is untyped here
        return state

    def as_admin(self) -> dict[str, str]:
        return bearer(self.settings, "u-root", Role.ADMIN)

    # campaigns

    def campaign(self, status: str = "draft") -> str:
        """A new campaign that can run, brought to ``status`` by an admin."""
        created = self.client.post("/v1/campaigns", json=runnable(), headers=self.as_admin())
        assert created.status_code == 201, created.text
        campaign_id = str(created.json()["id"])
        steps = {"draft": [], "active": ["activate"], "paused": ["activate", "pause"]}[status]
        for step in steps:
            moved = self.client.post(f"/v1/campaigns/{campaign_id}/{step}", headers=self.as_admin())
            assert moved.status_code == 200, moved.text
        return campaign_id

    def shared_campaign(self) -> str:
        """One draft campaign for the rows that only read."""
        if "campaign" not in self.shared:
            self.shared["campaign"] = self.campaign()
        return self.shared["campaign"]

    # customers

    @staticmethod
    def customer() -> str:
        return f"c-{uuid.uuid4().hex[:12]}"

    def customer_with_offer(self) -> tuple[str, str]:
        """A customer holding an offer: ``(customer, decision)``."""
        customer = self.customer()
        offer = self.offer(customer)
        return customer, offer.decision_id

    def offer(self, customer: str) -> StoredOffer:
        issued = datetime.now(UTC) - HOUR
        offer = StoredOffer.model_validate(
            {
                "decision_id": f"dec-{uuid.uuid4().hex[:12]}",
                "customer_id": customer,
                "campaign_id": "camp-matrix",
                "channel": "sms",
                "language": "it",
                "message": "Elba in autunno: -10% sul traghetto",
                "offer": {"kind": "percent_discount", "percent": 10},
                "discount_eur": 5.0,
                "issued_at": issued,
                "expires_at": issued + 3 * HOUR,
            }
        )
        assert self.state.offers.add(offer)
        return offer

    def customer_sharing_location(self) -> str:
        """A customer who granted consent for location use."""
        customer = self.customer()
        granted = self.client.put(
            f"/v1/customers/{customer}/consent/location",
            json={"granted": True},
            headers=self.as_admin(),
        )
        assert granted.status_code == 200, granted.text
        return customer

    # webhooks

    def twilio(self, path: str, form: dict[str, str], proof: Proof) -> Call:
        token = self.settings.twilio_auth_token.get_secret_value()
        url = self.settings.public_base_url + path
        signatures = {
            "missing": {},
            "wrong": {"X-Twilio-Signature": sign_twilio("not-the-auth-token", url, form)},
            "genuine": {"X-Twilio-Signature": sign_twilio(token, url, form)},
        }
        return Call("POST", path, data=form, headers=signatures[proof])

    def whatsapp(self, proof: Proof) -> Call:
        """A WhatsApp status notification (with no statuses: enough to be accepted)."""
        body = b'{"object": "whatsapp_business_account", "entry": []}'
        secret = self.settings.meta_app_secret.get_secret_value()
        signatures = {
            "missing": {},
            "wrong": {"X-Hub-Signature-256": sign_meta("not-the-app-secret", body)},
            "genuine": {"X-Hub-Signature-256": sign_meta(secret, body)},
        }
        headers = {"Content-Type": "application/json", **signatures[proof]}
        return Call("POST", "/v1/webhooks/whatsapp", content=body, headers=headers)

    def verification(self, proof: Proof) -> Call:
        tokens = {
            "wrong": "not-the-verify-token",
            "genuine": self.settings.whatsapp_verify_token.get_secret_value(),
        }
        params = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
        if proof in tokens:
            params["hub.verify_token"] = tokens[proof]
        return Call("GET", "/v1/webhooks/whatsapp", params=params)

    def open_link(self, proof: Proof) -> Call:
        return self.link("GET", proof)

    def redeem_link(self, proof: Proof) -> Call:
        return self.link("POST", proof)

    def link(self, method: str, proof: Proof) -> Call:
        """A redemption link: genuine, signed with another secret ("wrong"), or not a
        token at all ("missing")."""
        offer = self.offer(self.customer())
        secrets = {"wrong": SecretStr("not-the-redemption-secret")}
        secret = secrets.get(proof, self.settings.redemption_secret)
        token = redemption_token(offer.decision_id, offer.expires_at, secret)
        if proof == "missing":
            token = "not-a-token"
        return Call(method, f"/r/{token}", headers={"Accept": "application/json"})


def sid() -> str:
    return "SM" + uuid.uuid4().hex


def customer_call(method: str, tail: str, **extra: Any) -> Callable[[World], Call]:
    """A call on a new customer's data: ``/v1/customers/{customer}`` + ``tail``."""

    def build(world: World) -> Call:
        customer = world.customer()
        return Call(method, f"/v1/customers/{customer}{tail}", owner=customer, **extra)

    return build


def campaign_call(
    method: str, tail: str = "", status: str | None = None, **extra: Any
) -> Callable[[World], Call]:
    """A call on a campaign: the shared draft, or a new one in ``status``."""

    def build(world: World) -> Call:
        campaign = world.shared_campaign() if status is None else world.campaign(status)
        return Call(method, f"/v1/campaigns/{campaign}{tail}", **extra)

    return build


def model_call(
    method: str, url: str, before: Callable[[World], None] | None = None
) -> Callable[[World], Call]:
    """A call on the registry (``{v2}`` is the second version, which has a report)."""

    def build(world: World) -> Call:
        if before is not None:
            before(world)
        return Call(method, url.format(v2=world.versions[1]))

    return build


def rollback_ready(world: World) -> None:
    """A champion that replaced another, so that one rollback has somewhere to go."""
    first, second, _ = world.versions
    world.registry.promote(first, actor="matrix")
    world.registry.promote(second, actor="matrix")


def redeem(world: World) -> Call:
    customer, decision = world.customer_with_offer()
    return Call("POST", f"/v1/customers/{customer}/offers/{decision}/redeem", owner=customer)


def contact(world: World) -> Call:
    customer = world.customer()
    phone = f"+39333{uuid.uuid4().int % 10**7:07d}"
    return Call("PUT", f"/v1/customers/{customer}/contact", owner=customer, json={"phone": phone})


def location(world: World) -> Call:
    customer = world.customer_sharing_location()
    ping = {"lat": 42.93, "lon": 10.50, "accuracy_m": 12.0}
    return Call("POST", f"/v1/customers/{customer}/locations", owner=customer, json=ping)


def erasure(world: World) -> Call:
    customer, _ = world.customer_with_offer()
    return Call("DELETE", f"/v1/customers/{customer}", owner=customer)


def new_campaign(world: World) -> Call:
    return Call("POST", "/v1/campaigns", json=runnable())


def twilio_sms(world: World, proof: Proof) -> Call:
    form = {"From": "+393330000001", "Body": "HELP", "MessageSid": sid()}
    return world.twilio("/v1/webhooks/twilio/sms", form, proof)


def twilio_status(world: World, proof: Proof) -> Call:
    path = "/v1/webhooks/twilio/status?decision_id=dec-matrix&customer_id=c-matrix"
    return world.twilio(path, {"MessageSid": sid(), "MessageStatus": "sent"}, proof)


def plain(method: str, url: str) -> Callable[[World], Call]:
    return lambda world: Call(method, url)


PUBLIC = "the API's description: public, and holds no data"
PAGE = "the marketers' page: public, holds no data, and signs in by itself"
FORGED_LINK = "a forged or malformed link is answered as one whose offer is no longer kept"

TABLE: dict[tuple[str, str], ByRole | ByProof] = {
    ("POST", "/v1/campaigns"): ByRole(MARKETERS, 201, new_campaign),
    ("GET", "/v1/campaigns"): ByRole(MARKETERS, 200, plain("GET", "/v1/campaigns")),
    ("GET", "/v1/campaigns/{campaign_id}"): ByRole(MARKETERS, 200, campaign_call("GET")),
    ("PATCH", "/v1/campaigns/{campaign_id}"): ByRole(
        MARKETERS, 200, campaign_call("PATCH", json={"description": "Autumn crossings"})
    ),
    ("POST", "/v1/campaigns/{campaign_id}/activate"): ByRole(
        MARKETERS, 200, campaign_call("POST", "/activate", "draft")
    ),
    ("POST", "/v1/campaigns/{campaign_id}/pause"): ByRole(
        MARKETERS, 200, campaign_call("POST", "/pause", "active")
    ),
    ("POST", "/v1/campaigns/{campaign_id}/resume"): ByRole(
        MARKETERS, 200, campaign_call("POST", "/resume", "paused")
    ),
    ("POST", "/v1/campaigns/{campaign_id}/end"): ByRole(
        MARKETERS, 200, campaign_call("POST", "/end", "active")
    ),
    ("GET", "/v1/campaigns/{campaign_id}/audit"): ByRole(
        MARKETERS, 200, campaign_call("GET", "/audit")
    ),
    ("GET", "/v1/campaigns/{campaign_id}/report"): ByRole(
        ANALYSTS, 200, campaign_call("GET", "/report")
    ),
    ("GET", "/v1/customers/{customer_id}/offers"): ByRole(
        SELF_OR_ADMIN, 200, customer_call("GET", "/offers")
    ),
    ("POST", "/v1/customers/{customer_id}/offers/{decision_id}/redeem"): ByRole(
        SELF_OR_ADMIN, 200, redeem
    ),
    ("GET", "/v1/customers/{customer_id}/consent"): ByRole(
        SELF_OR_ADMIN, 200, customer_call("GET", "/consent")
    ),
    ("PUT", "/v1/customers/{customer_id}/consent/{scope}"): ByRole(
        SELF_OR_ADMIN, 200, customer_call("PUT", "/consent/sms", json={"granted": True})
    ),
    ("PUT", "/v1/customers/{customer_id}/contact"): ByRole(SELF_OR_ADMIN, 200, contact),
    ("POST", "/v1/customers/{customer_id}/locations"): ByRole(SELF_OR_ADMIN, 202, location),
    ("DELETE", "/v1/customers/{customer_id}"): ByRole(SELF_OR_ADMIN, 200, erasure),
    ("POST", "/v1/webhooks/twilio/sms"): ByProof(403, 200, twilio_sms),
    ("POST", "/v1/webhooks/twilio/status"): ByProof(403, 204, twilio_status),
    ("GET", "/v1/webhooks/whatsapp"): ByProof(403, 200, World.verification),
    ("POST", "/v1/webhooks/whatsapp"): ByProof(403, 200, World.whatsapp),
    ("GET", "/r/{token}"): ByProof(404, 200, World.open_link, why=FORGED_LINK),
    ("POST", "/r/{token}"): ByProof(404, 200, World.redeem_link, why=FORGED_LINK),
    ("GET", "/v1/models"): ByRole(ANALYSTS, 200, model_call("GET", "/v1/models")),
    ("GET", "/v1/models/champion"): ByRole(ANALYSTS, 200, model_call("GET", "/v1/models/champion")),
    ("POST", "/v1/models/champion/rollback"): ByRole(
        DATA_SCIENTISTS, 200, model_call("POST", "/v1/models/champion/rollback", rollback_ready)
    ),
    ("GET", "/v1/models/challenger"): ByRole(
        ANALYSTS, 200, model_call("GET", "/v1/models/challenger")
    ),
    ("DELETE", "/v1/models/challenger"): ByRole(
        DATA_SCIENTISTS, 200, model_call("DELETE", "/v1/models/challenger")
    ),
    ("GET", "/v1/models/{version}"): ByRole(
        DATA_SCIENTISTS, 200, model_call("GET", "/v1/models/{v2}")
    ),
    ("GET", "/v1/models/{version}/report"): ByRole(
        DATA_SCIENTISTS, 307, model_call("GET", "/v1/models/{v2}/report"), why="its page's URL"
    ),
    ("GET", "/v1/models/{version}/report/{file_name}"): ByRole(
        DATA_SCIENTISTS, 200, model_call("GET", "/v1/models/{v2}/report/report.html")
    ),
    ("POST", "/v1/models/{version}/promote"): ByRole(
        DATA_SCIENTISTS, 200, model_call("POST", "/v1/models/{v2}/promote")
    ),
    ("POST", "/v1/models/{version}/shadow"): ByRole(
        DATA_SCIENTISTS, 200, model_call("POST", "/v1/models/{v2}/shadow")
    ),
    ("GET", "/v1/network"): ByRole(ANALYSTS, 200, plain("GET", "/v1/network")),
    ("GET", "/v1/campaign-presets"): ByRole(MARKETERS, 200, plain("GET", "/v1/campaign-presets")),
    ("GET", "/v1/activity"): ByRole(ANALYSTS, 200, plain("GET", "/v1/activity")),
    ("GET", "/v1/activity/stream"): ByRole(
        ANALYSTS, 200, lambda world: Call("GET", "/v1/activity/stream", stream=True)
    ),
    ("GET", "/v1/listening/aggregates"): ByRole(
        ANALYSTS, 200, plain("GET", "/v1/listening/aggregates?subject=port:LIV&window=15m")
    ),
    ("GET", "/v1/listening/alerts"): ByRole(
        ANALYSTS, 200, plain("GET", "/v1/listening/alerts?state=open")
    ),
    ("GET", "/"): ByRole(EVERYONE, 307, plain("GET", "/"), why=PAGE),
    ("GET", "/ui/"): ByRole(EVERYONE, 200, plain("GET", "/ui/"), why=PAGE),
    ("GET", "/openapi.json"): ByRole(EVERYONE, 200, plain("GET", "/openapi.json"), why=PUBLIC),
    ("GET", "/docs"): ByRole(EVERYONE, 200, plain("GET", "/docs"), why=PUBLIC),
    ("GET", "/docs/oauth2-redirect"): ByRole(
        EVERYONE, 200, plain("GET", "/docs/oauth2-redirect"), why=PUBLIC
    ),
    ("GET", "/redoc"): ByRole(EVERYONE, 200, plain("GET", "/redoc"), why=PUBLIC),
}
"""One row per route (method, path): who may call it, and what they get."""


# Credentials


def credentials(world: World, caller: Caller, owner: str | None) -> dict[str, str]:
    """The headers ``caller`` sends; a customer is the path's ``owner`` ("own") or another
    customer ("other")."""
    settings = world.settings
    match caller:
        case "none":
            return {}
        case "own":
            return bearer(settings, owner or world.customer(), Role.CUSTOMER)
        case "other":
            return bearer(settings, world.customer(), Role.CUSTOMER)
        case "marketer":
            return bearer(settings, "u-marta", Role.MARKETER)
        case "marketer_key":
            return {"X-API-Key": world.marketer_key}
        case "data_scientist":
            return bearer(settings, "u-dana", Role.DATA_SCIENTIST)
        case "admin":
            return world.as_admin()
        case "expired":
            hours_ago = datetime.now(UTC) - 2 * HOUR
            return token(issue_token(settings, "u-root", Role.ADMIN, HOUR, now=hours_ago))
        case "forged":
            other = settings.model_copy(update={"secret_key": SecretStr("another-secret-" * 3)})
            return token(issue_token(other, "u-root", Role.ADMIN, HOUR))
        case "unknown_role":
            return token(claims_token(settings, role="superuser"))


def token(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def claims_token(settings: Settings, **claims: Any) -> str:
    """A token signed with the API's secret, with every claim it needs and ``claims``."""
    now = int(datetime.now(UTC).timestamp())
    payload = {"sub": "u-root", "iat": now, "exp": now + 3600, "iss": ISSUER, "aud": AUDIENCE}
    return jwt.encode({**payload, **claims}, settings.secret_key.get_secret_value(), ALGORITHM)


def send(world: World, call: Call, headers: dict[str, str]) -> httpx.Response:
    if call.stream:
        return send_for_status(world, call, headers)
    response: httpx.Response = world.client.request(
        call.method,
        call.url,
        json=call.json,
        content=call.content,
        data=call.data,
        params=call.params,
        headers={**call.headers, **headers},
        follow_redirects=False,
    )
    return response


def send_for_status(world: World, call: Call, headers: dict[str, str]) -> httpx.Response:
    """The answer to ``call`` with its body read only if it is a refusal: a stream that is
    let through is closed at once (which ends it)."""
    with world.client.stream(
        call.method, call.url, headers={**call.headers, **headers}, follow_redirects=False
    ) as response:
        if response.status_code != 200:
            response.read()
        return response


# Fixtures


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """A tiny booster over the model's features: enough to register and promote."""
    rng = np.random.default_rng(11)
    rows = rng.random((200, len(FEATURE_NAMES)))
    labels = (rows[:, 0] > 0.5).astype(int)
    data = lgb.Dataset(rows, labels, feature_name=list(FEATURE_NAMES), free_raw_data=False)
    parameters = {"objective": "binary", "num_leaves": 4, "verbosity": -1, "num_threads": 1}
    return lgb.train(parameters, data, num_boost_round=2)


def registered(registry: ModelRegistry, booster: lgb.Booster, report: Path) -> list[str]:
    """Three versions; the second has a report."""
    arguments: dict[str, Any] = {
        "features": FeatureEncoder().schema(),
        "metrics": {"auc": 0.71, "oracle_auc": 0.75, "log_loss": 0.41, "calibration_error": 0.01},
        "data": {"rows": 200},
    }
    report.mkdir()
    (report / "report.html").write_text("<html><body>calibration</body></html>")
    first = registry.register(booster, **arguments)
    second = registry.register(booster, parent=first, report_dir=report, **arguments)
    return [first, second, registry.register(booster, parent=second, **arguments)]


@pytest.fixture(scope="module")
def world(
    stack_settings: Settings, booster: lgb.Booster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("matrix")
    registry = ModelRegistry(root / "registry")
    versions = registered(registry, booster, root / "report")
    settings = stack_settings.model_copy(
        update={"model_dir": registry.directory, "api_rate_per_minute": 100_000}
    )
    redis = Redis.from_url(settings.redis_url)
    key = RedisApiKeyStore(redis).issue(Principal("crm-sync", Role.MARKETER))
    try:
        with api(settings) as client:
            yield World(client, settings, registry, versions, key)
    finally:
        redis.close()


# The matrix


def test_every_route_has_a_row_and_every_row_a_route(stack_settings: Settings) -> None:
    served = {
        (method, str(route.path))
        for route in iter_route_contexts(create_app(stack_settings).routes)
        for method in route.methods or ()
        if method != "HEAD"  # answered wherever GET is
    }
    assert sorted(served - TABLE.keys()) == [], "routes without a row in TABLE"
    assert sorted(TABLE.keys() - served) == [], "rows of TABLE that the app does not serve"


CASES = [(route, caller) for route in TABLE for caller in CALLERS]


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{m} {p} as {c}" for (m, p), c in CASES])
def test_a_route_answers_each_caller_as_its_row_says(
    world: World, route: tuple[str, str], caller: Caller
) -> None:
    row = TABLE[route]
    if isinstance(row, ByProof):
        check_proofs(world, row, caller)
    else:
        check_roles(world, row, caller)


def check_roles(world: World, row: ByRole, caller: Caller) -> None:
    call = row.build(world)
    response = send(world, call, credentials(world, caller, call.owner))
    status = response.status_code
    if caller in row.allowed:
        assert status == row.ok, (row.why, response.text)
        return
    if caller in UNAUTHENTICATED:
        assert status == 401, response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    else:
        assert status == 403, response.text
    assert response.json()["detail"], response.text


def check_proofs(world: World, row: ByProof, caller: Caller) -> None:
    headers = credentials(world, caller, None)
    for proof in ("missing", "wrong"):
        refused = send(world, row.build(world, proof), headers)
        assert refused.status_code == row.refused, (proof, row.why, refused.text)
        assert refused.json()["detail"], refused.text
    accepted = send(world, row.build(world, "genuine"), headers)
    assert accepted.status_code == row.ok, accepted.text
