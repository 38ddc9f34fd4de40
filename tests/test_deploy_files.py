"""The deployment files and the README stay true to the code (no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[1]
VOUCH_SERVICES = ("migrate", "api", "worker")
SETTINGS_VARS = {f"VOUCH_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_services_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *VOUCH_SERVICES}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("postgres", "redis"):
        assert services[name]["volumes"] and services[name]["restart"] == "unless-stopped"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-3:] == ["vouch", "worker", "--check"]


def test_redis_keeps_and_never_evicts_queued_work(compose: dict[str, Any]) -> None:
    command = compose["services"]["redis"]["command"]
    flags = dict(zip(command[1::2], command[2::2], strict=True))
    assert command[0] == "redis-server"
    assert flags == {"--appendonly": "yes", "--maxmemory-policy": "noeviction"}


def test_vouch_services_share_one_image_and_start_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {services[s]["image"] for s in VOUCH_SERVICES} == {"vouch:local"}
    assert {services[s]["command"][1] for s in VOUCH_SERVICES} == set(VOUCH_SERVICES)
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }
    assert services["api"]["ports"] == ["8000:8000"]
    assert services["api"]["environment"]["VOUCH_HOST"] == "0.0.0.0"  # noqa: S104


def test_every_vouch_env_var_is_a_setting(compose: dict[str, Any]) -> None:
    for name in VOUCH_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["VOUCH_ENV"] == "production"
        assert env["VOUCH_DATABASE_URL"] == "postgresql+asyncpg://vouch:vouch@postgres:5432/vouch"
        assert env["VOUCH_REDIS_URL"] == "redis://redis:6379/0"
        # From the operator's environment, never a value committed here; compose stops if unset.
        assert env["VOUCH_SECRET_KEY"].startswith("${VOUCH_SECRET_KEY:?")
        assert set(env) <= SETTINGS_VARS, set(env) - SETTINGS_VARS
        Settings.model_validate({k.removeprefix("VOUCH_").lower(): v for k, v in env.items()})
    dockerfile = (ROOT / "Dockerfile").read_text()
    in_image = set(re.findall(r"\b(VOUCH_[A-Z_]+)=", dockerfile))
    assert in_image and in_image <= SETTINGS_VARS, in_image - SETTINGS_VARS


def test_image_runs_as_non_root_with_the_api_by_default() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\w+", dockerfile, re.M)
    assert re.search(r'^CMD \["vouch", "api"\]$', dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".vouch"} <= set(ignored)


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in SETTINGS_VARS if f"`{v}`" not in readme)
    assert not missing, missing
    documented = set(re.findall(r"`(VOUCH_[A-Z_]+)`", readme))
    assert documented <= SETTINGS_VARS, documented - SETTINGS_VARS
