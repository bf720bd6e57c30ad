"""docker-compose.yml and the Dockerfile agree with the code: services, settings, wiring.

No Docker engine is needed: the files are parsed and checked against `Settings`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from supplychain.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PORTAL_SERVICES = ("web", "worker")
# `${NAME}`, `${NAME:-default}`, `${NAME:?message}`: compose fills these in from the environment.
INTERPOLATION = re.compile(r"\$\{[^}]*\}")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def interpolated(value: str) -> str:
    return INTERPOLATION.sub("x", value)


def test_the_five_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "temporal", "temporal-ui", "web", "worker"} <= services.keys()


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_portal_services_set_only_real_settings(services: dict[str, dict[str, Any]], name: str) -> None:
    env = environment(services[name])
    assert env, f"{name} sets no environment"
    unknown = set(env) - set(Settings.model_fields)
    assert not unknown, f"{name} sets variables that Settings ignores: {sorted(unknown)}"


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_portal_services_talk_to_postgres_and_temporal_services(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = environment(services[name])
    database = urlsplit(interpolated(env["DATABASE_URL"]))
    assert database.scheme == "postgresql+psycopg"
    assert database.hostname == "postgres"
    assert env["TEMPORAL_ADDRESS"].rsplit(":", 1)[0] == "temporal"
    assert env["ENVIRONMENT"] == "production"


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_secret_key_must_be_supplied(services: dict[str, dict[str, Any]], name: str) -> None:
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", environment(services[name])["SECRET_KEY"])


def test_temporal_uses_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    assert "postgres" in temporal["depends_on"]
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_portal_services_build_from_the_repository_dockerfile(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    build = services[name]["build"]
    if isinstance(build, str):
        build = {"context": build}
    dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
    assert dockerfile.resolve() == DOCKERFILE


def test_schema_is_migrated_before_web_and_worker_start(services: dict[str, dict[str, Any]]) -> None:
    commands = {name: " ".join(service.get("command") or []) for name, service in services.items()}
    migrators = [name for name, command in commands.items() if command == "portal migrate"]
    assert migrators, "no service runs `portal migrate`"
    for name in PORTAL_SERVICES:
        depends_on = services[name]["depends_on"]
        assert any(depends_on[m]["condition"] == "service_completed_successfully" for m in migrators)


def test_web_healthcheck_probes_healthz(services: dict[str, dict[str, Any]]) -> None:
    test = services["web"]["healthcheck"]["test"]
    assert "/healthz" in (test if isinstance(test, str) else " ".join(test))


def test_dockerfile_runs_the_portal_command() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    commands = [line.split(maxsplit=1)[1] for line in instructions if line.startswith(("CMD", "ENTRYPOINT"))]
    assert commands, "the Dockerfile has no CMD or ENTRYPOINT"
    argv = [json.loads(c) if c.startswith("[") else shlex.split(c) for c in commands]
    assert any(words[0] == "portal" for words in argv)
    assert any(line.startswith("USER ") and line.split()[1] not in {"root", "0"} for line in instructions)
