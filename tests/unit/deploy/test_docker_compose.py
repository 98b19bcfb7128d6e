"""Static checks of docker-compose.yml, the Dockerfile and .dockerignore.

No Docker engine is needed: the files are parsed and checked against the engine's own
settings, so that the containers are configured with variables the engine understands.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from pydantic import ValidationError

from offers.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

INFRA_SERVICES = ("kafka", "redis")
PROJECT_SERVICES = ("topics", "feature-repo", "api", "worker", "delivery", "simulator")
REDIS_PORT = 6379
TEST_SECRET = "compose-test-secret-0123456789"
REQUIRED_VARIABLES = {
    "OFFERS_SECRET_KEY": TEST_SECRET,
    "OFFERS_TWILIO_AUTH_TOKEN": "compose-test-twilio-token",
    "OFFERS_TWILIO_ACCOUNT_SID": "AC" + "c0" * 16,
    "OFFERS_TWILIO_SENDER": "MOBY",
    "OFFERS_WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "OFFERS_WHATSAPP_ACCESS_TOKEN": "compose-test-whatsapp-token",
    "OFFERS_MESSENGER_PAGE_TOKEN": "compose-test-page-token",
    "OFFERS_REDEMPTION_SECRET": "compose-test-redemption-secret",
    "OFFERS_WHATSAPP_VERIFY_TOKEN": "compose-test-verify-token",
    "OFFERS_META_APP_SECRET": "compose-test-app-secret",
}
"""What a user must export before ``docker compose up``."""

OFFERS_VAR = re.compile(r"\bOFFERS_[A-Z0-9_]+\b")
INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


# --- helpers -------------------------------------------------------------------------


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Resolve ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}`` (and the forms
    without a colon, and ``$$``) as Compose does."""

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name)
        unset_or_empty = value is None or (value == "" and operator and operator[0] == ":")
        if operator is None:
            return value or ""
        if operator.endswith("-"):
            return argument if unset_or_empty else value or ""
        if operator.endswith("+"):
            return "" if unset_or_empty else argument
        if unset_or_empty:  # "?" and ":?"
            raise LookupError(f"{name} is required: {argument}")
        return value or ""

    return INTERPOLATION.sub(resolve, value)


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, from either the map or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def argv(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def option(args: list[str], name: str) -> str:
    """The value of ``--name value`` or ``--name=value`` in ``args``."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not given in {args}")


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    assert host and port.isdigit(), f"not host:port: {address!r}"
    return host, int(port)


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as ``{NAME: (host, port)}`` (host may be empty)."""
    result = {}
    for item in value.split(","):
        name, sep, address = item.strip().partition("://")
        assert sep, f"not a listener: {item!r}"
        host, _, port = address.rpartition(":")
        result[name] = (host, int(port))
    return result


def published_ports(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(published, container) pairs of a service's ``ports``, short or long syntax."""
    result = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            target = int(entry["target"])
            result.append((int(entry.get("published", target)), target))
            continue
        spec = str(entry).split("/")[0]
        parts = spec.split(":")
        target = int(parts[-1])
        published = int(parts[-2]) if len(parts) >= 2 and parts[-2] else target
        result.append((published, target))
    return result


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, arguments = current.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def build_context(service: dict[str, Any]) -> Path:
    build = service.get("build")
    assert build is not None, "service has no build"
    context = build if isinstance(build, str) else build.get("context", ".")
    return (COMPOSE_FILE.parent / context).resolve()


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def kafka_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return environment_of(services["kafka"])


@pytest.fixture
def engine_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Settings]:
    """The Settings each project service would build from its compose environment."""
    result = {}
    for name in PROJECT_SERVICES:
        env = environment_of(services[name])
        resolved = {k: interpolate(v, REQUIRED_VARIABLES) for k, v in env.items()}
        with monkeypatch.context() as patch:
            for key in [k for k in os.environ if k.startswith("OFFERS_")]:
                patch.delenv(key)
            for key, value in resolved.items():
                patch.setenv(key, value)
            try:
                result[name] = Settings()
            except ValidationError as exc:
                pytest.fail(f"{name}: its compose environment is not valid Settings: {exc}")
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


# --- compose: services ----------------------------------------------------------------


def test_compose_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    missing = set(INFRA_SERVICES + PROJECT_SERVICES) - set(services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_compose_file_has_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_project_services_build_the_project_image(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in PROJECT_SERVICES:
        service = services[name]
        assert build_context(service) == ROOT, f"{name} does not build the project"
        build = service["build"]
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        assert (ROOT / (dockerfile or "Dockerfile")).resolve() == DOCKERFILE
    images = {str(services[name].get("image")) for name in PROJECT_SERVICES}
    assert len(images) == 1, f"project services use different images: {images}"


def test_project_services_share_one_environment(services: dict[str, dict[str, Any]]) -> None:
    envs = {name: environment_of(services[name]) for name in PROJECT_SERVICES}
    first = envs[PROJECT_SERVICES[0]]
    assert first, "project services have no environment"
    for name, env in envs.items():
        assert env == first, f"{name} has a different environment from {PROJECT_SERVICES[0]}"


def test_project_services_run_their_commands(services: dict[str, dict[str, Any]]) -> None:
    assert argv(services["topics"].get("command"))[:3] == ["offers", "topics", "create"]
    assert argv(services["api"].get("command"))[:2] == ["uvicorn", "offers_api.main:app"]
    worker = argv(services["worker"].get("command"))
    assert worker[0] == "faust" and option(worker, "-A") == "streams.app" and "worker" in worker
    delivery = argv(services["delivery"].get("command"))
    assert option(delivery, "-A") == "streams.delivery.app" and "worker" in delivery
    assert argv(services["simulator"].get("command"))[:3] == ["offers", "simulate", "produce"]


# --- compose: engine settings ---------------------------------------------------------


def test_every_offers_variable_is_a_settings_field(compose_text: str) -> None:
    names = set(OFFERS_VAR.findall(compose_text))
    assert names, "docker-compose.yml names no OFFERS_* variable"
    unknown = sorted(
        n for n in names if n.removeprefix("OFFERS_").lower() not in Settings.model_fields
    )
    assert not unknown, f"not fields of offers.settings.Settings: {unknown}"


def test_compose_environment_builds_valid_settings(engine_settings: dict[str, Settings]) -> None:
    for name, settings in engine_settings.items():
        assert settings.secret_key.get_secret_value() == TEST_SECRET, name
        assert settings.environment == "production", name


def test_secret_key_has_no_default_in_compose(services: dict[str, dict[str, Any]]) -> None:
    for name in PROJECT_SERVICES:
        value = environment_of(services[name]).get("OFFERS_SECRET_KEY")
        assert value is not None, f"{name} does not pass OFFERS_SECRET_KEY"
        with pytest.raises(LookupError):
            interpolate(value, {})


def test_bootstrap_is_the_advertised_kafka_listener(
    engine_settings: dict[str, Settings],
    services: dict[str, dict[str, Any]],
    kafka_env: dict[str, str],
) -> None:
    advertised = set(listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"]).values())
    bound_ports = {port for _, port in listeners(kafka_env["KAFKA_LISTENERS"]).values()}
    kafka_names = {"kafka", services["kafka"].get("hostname", "kafka")}
    for name, settings in engine_settings.items():
        for address in settings.kafka_bootstrap.split(","):
            host, port = host_port(address.strip())
            assert host in kafka_names, f"{name}: bootstrap host {host!r} is not the kafka service"
            assert (host, port) in advertised, f"{name}: {address} is not advertised by kafka"
            assert port in bound_ports, f"{name}: kafka listens on no port {port}"


def test_redis_url_points_at_the_redis_service(
    engine_settings: dict[str, Settings], services: dict[str, dict[str, Any]]
) -> None:
    redis_args = argv(services["redis"].get("command"))
    redis_port = int(option(redis_args, "--port")) if "--port" in redis_args else REDIS_PORT
    for name, settings in engine_settings.items():
        url = urlsplit(settings.redis_url)
        assert url.scheme in ("redis", "rediss"), f"{name}: {settings.redis_url}"
        assert url.hostname in services, f"{name}: no service named {url.hostname!r}"
        assert url.hostname == "redis", f"{name}: redis host is {url.hostname!r}"
        assert (url.port or REDIS_PORT) == redis_port == REDIS_PORT, f"{name}: {url.port}"


# --- compose: ports, images, KRaft, health --------------------------------------------


def test_api_publishes_the_port_uvicorn_listens_on(services: dict[str, dict[str, Any]]) -> None:
    args = argv(services["api"].get("command"))
    port = int(option(args, "--port"))
    assert option(args, "--host") == "0.0.0.0"
    targets = [target for _, target in published_ports(services["api"])]
    assert port in targets, f"uvicorn listens on {port}, api publishes {targets}"


def test_kafka_is_apache_kafka_4(services: dict[str, dict[str, Any]]) -> None:
    image = services["kafka"]["image"]
    match = re.fullmatch(r"apache/kafka:(\d+)\.(\d+)\.(\d+)", image)
    assert match, f"not an apache/kafka release tag: {image}"
    assert int(match.group(1)) == 4, f"not Kafka 4.x: {image}"


def test_kafka_image_is_the_local_stack_version(services: dict[str, dict[str, Any]]) -> None:
    tag = services["kafka"]["image"].rpartition(":")[2]
    assert tag == Settings.model_fields["kafka_version"].default


def test_kafka_runs_in_kraft_mode(
    services: dict[str, dict[str, Any]], kafka_env: dict[str, str]
) -> None:
    for name, service in services.items():
        assert "zookeeper" not in name.lower(), f"ZooKeeper service {name}"
        assert "zookeeper" not in str(service.get("image", "")).lower(), name
    assert not any("ZOOKEEPER" in key for key in kafka_env), "ZooKeeper settings on kafka"
    roles = {r.strip() for r in kafka_env["KAFKA_PROCESS_ROLES"].split(",")}
    assert roles == {"broker", "controller"}, roles
    controller_names = set(kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))
    bound = listeners(kafka_env["KAFKA_LISTENERS"])
    node_id = kafka_env["KAFKA_NODE_ID"]
    for voter in kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        voter_id, _, address = voter.partition("@")
        host, port = host_port(address)
        assert voter_id == node_id, f"voter {voter} is not this node ({node_id})"
        assert host == "kafka"
        controller_ports = {bound[n][1] for n in controller_names if n in bound}
        assert port in controller_ports, f"voter port {port} is not a controller listener"
    protocols = dict(
        p.split(":") for p in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(bound) <= set(protocols), "listener without a security protocol"


def test_kafka_single_node_replication_and_no_auto_topics(kafka_env: dict[str, str]) -> None:
    factors = {k: v for k, v in kafka_env.items() if k.endswith("REPLICATION_FACTOR")}
    assert factors, "no replication factors set for a single node"
    assert all(int(v) == 1 for v in factors.values()), factors
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"


SETUP_SERVICES = {"topics": "kafka", "feature-repo": "redis"}
"""One-shot services, and the store each sets up."""


def test_project_services_wait_for_healthy_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in PROJECT_SERVICES:
        depends = services[name].get("depends_on")
        assert isinstance(depends, dict), f"{name} must use depends_on with conditions"
        if name in SETUP_SERVICES:
            store = SETUP_SERVICES[name]
            assert depends.get(store, {}).get("condition") == "service_healthy", name
            assert services[name].get("restart") == "no", name
        else:
            assert depends.get("kafka", {}).get("condition") == "service_healthy", name
            assert depends.get("topics", {}).get("condition") == "service_completed_successfully"
        for dependency, spec in depends.items():
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    for name in ("api", "worker", "delivery"):
        depends = services[name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["feature-repo"]["condition"] == "service_completed_successfully"


def test_infrastructure_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    kafka_check = argv(services["kafka"]["healthcheck"]["test"])
    assert any(a.endswith("kafka-broker-api-versions.sh") for a in kafka_check), kafka_check
    assert option(kafka_check, "--bootstrap-server").endswith(":9092")
    redis_check = argv(services["redis"]["healthcheck"]["test"])
    assert redis_check[-2:] == ["redis-cli", "ping"], redis_check
    redis_args = argv(services["redis"].get("command"))
    assert option(redis_args, "--appendonly") == "yes"


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source!r}"
    for name in INFRA_SERVICES:
        assert compose["services"][name].get("volumes"), f"{name} keeps no data volume"


# --- Dockerfile ------------------------------------------------------------------------


def test_dockerfile_python_satisfies_requires_python(dockerfile: list[tuple[str, str]]) -> None:
    bases = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert bases, "Dockerfile has no FROM"
    match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?(?:-\S+)?(?:\s+AS\s+\S+)?", bases[-1], re.I)
    assert match, f"final stage is not an official python image: {bases[-1]}"
    version = f"{match.group(1)}.{match.group(2)}"
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    assert SpecifierSet(requires).contains(version), f"python {version} vs {requires}"


def test_dockerfile_installs_the_lock_then_the_project(
    dockerfile: list[tuple[str, str]],
) -> None:
    assert (ROOT / "requirements.lock").is_file()
    runs = [args for keyword, args in dockerfile if keyword == "RUN"]
    copies = [args for keyword, args in dockerfile if keyword == "COPY"]
    lock_installs = [
        i for i, r in enumerate(runs) if re.search(r"pip install .*-r\s+requirements\.lock", r)
    ]
    project_installs = [
        i for i, r in enumerate(runs) if re.search(r"pip install .*--no-deps\s+\.(\s|$)", r)
    ]
    assert lock_installs, "Dockerfile does not pip install -r requirements.lock"
    assert project_installs, "Dockerfile does not pip install --no-deps ."
    assert lock_installs[0] < project_installs[0], "project installed before its dependencies"
    assert any("requirements.lock" in c.split() for c in copies), "lock file never copied"


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args.split(":")[0] for keyword, args in dockerfile if keyword == "USER"]
    assert users, "Dockerfile never leaves root"
    assert users[-1] not in ("root", "0"), users[-1]


def test_dockerfile_defaults(dockerfile: list[tuple[str, str]]) -> None:
    env = " ".join(args for keyword, args in dockerfile if keyword == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED[= ]1\b", env), env
    cmds = [args for keyword, args in dockerfile if keyword == "CMD"]
    assert cmds and json.loads(cmds[-1])[0] == "offers", cmds


def test_dockerignore_keeps_the_build_inputs() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert ".venv" in patterns and ".git" in patterns, "local environment sent to the build"
    for needed in ("requirements.lock", "pyproject.toml", "offers", "*.toml", "*.lock", "*"):
        assert needed not in patterns, f".dockerignore excludes {needed}"
