"""Vouch's configuration: one Settings object, read from `VOUCH_*` environment variables.

Nothing else in the code base reads `os.environ`. When `database_url` / `redis_url` are unset,
the CLI and the test suite start (or find) the embedded servers under `data_dir` and pass their
URLs to the API and worker processes explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
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

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
