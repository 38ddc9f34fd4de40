"""Vouch's configuration: one Settings object, read from `VOUCH_*` environment variables.

Nothing else in the code base reads `os.environ`. When `database_url` / `redis_url` are unset,
the CLI and the test suite start (or find) the embedded servers under `data_dir` and pass their
URLs to the API and worker processes explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCH_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development", description="Deployment environment; `production` refuses embedded servers."
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql+asyncpg://...). Unset: embedded PostgreSQL.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL (redis://host:port/db). Unset: embedded Redis."
    )
    data_dir: Path = Field(
        Path(".vouch"), description="Where the embedded servers keep their data and state."
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API binds to.")
    public_url: str | None = Field(
        None,
        description="Externally reachable base URL (for webhook and short-link URLs). "
        "Default: http://{host}:{port}.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
    log_json: bool = Field(True, description="JSON log lines (false: human-readable console).")
    db_pool_size: int = Field(10, ge=1, description="SQLAlchemy pool size per process.")
    db_max_overflow: int = Field(10, ge=0)
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Request bodies above: 413.")
    worker_max_jobs: int = Field(50, ge=1, description="Concurrent jobs per worker process.")
    api_key_touch_seconds: int = Field(
        60, ge=1, description="How often an API key's last_used_at is refreshed at most."
    )
    deliverable_grace_hours: int = Field(
        48,
        ge=0,
        description="Hours after a deliverable's due time before the worker marks it missed.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Server secret that signs click ids and keys the daily visitor-hash salt "
        "(32+ random bytes, e.g. `openssl rand -hex 32`). Required in production; elsewhere, "
        "unset means a random key kept in {data_dir}/secret_key (created 0600 on first use).",
    )
    click_stream: str = Field(
        "vouch:clicks", description="Redis stream the redirect appends clicks to."
    )
    click_reclaim_idle_ms: int = Field(
        30_000,
        ge=100,
        description="Clicks a worker read but did not acknowledge for this long (it died) are "
        "reclaimed by another worker.",
    )
    # --- webhook intake and the inbox (issue 5) ---
    webhook_secret_grace_hours: float = Field(
        24,
        ge=0,
        description="After a signing-secret rotation, hours the previous secret keeps verifying.",
    )
    webhook_max_attempts: int = Field(
        5, ge=1, description="Failed handler attempts after which an inbox event is `dead`."
    )
    webhook_sweep_after_seconds: int = Field(
        60,
        ge=1,
        description="Inbox events still pending this long after receipt are re-enqueued by the "
        "sweeper (a lost enqueue or a Redis restart loses nothing).",
    )
    webhook_batch_size: int = Field(
        100,
        ge=1,
        le=1000,
        description="Inbox events a worker claims and commits together when the queue is deep.",
    )
    webhook_integration_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a receiver trusts its in-process copy of an integration (a "
        "disabled integration may still accept webhooks for this long in other API processes).",
    )
    # --- outbound webhooks (issue 8) ---
    outbound_timeout_seconds: float = Field(
        15.0, gt=0, description="Whole-request time limit of one outbound webhook delivery."
    )
    outbound_retry_schedule: list[float] = Field(
        [5, 300, 1800, 7200, 18000, 36000],
        description="Seconds to wait after the 1st, 2nd, ... failed attempt before retrying "
        "(the first attempt is immediate); when it runs out the delivery is `dead`.",
    )
    outbound_retry_after_max_seconds: float = Field(
        43200,
        ge=0,
        description="A receiver's Retry-After is honoured up to this many seconds.",
    )
    outbound_disable_after_hours: float = Field(
        72,
        gt=0,
        description="An endpoint whose every attempt failed for this long is disabled.",
    )
    outbound_secret_grace_hours: float = Field(
        24,
        ge=0,
        description="After an endpoint's secret rotation, hours the previous secret keeps "
        "signing alongside the new one.",
    )
    outbound_concurrency: int = Field(
        20, ge=1, description="Outbound webhook requests one worker process sends at once."
    )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
