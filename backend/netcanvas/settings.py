"""All settings in one place: NETCANVAS_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETCANVAS_", env_file=".env", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the server listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on")
    data_dir: Path = Field(default=Path("netcanvas-data"), description="Runs, weights, exports and the SQLite file")
    database_url: str | None = Field(default=None, description="Any SQLAlchemy URL; default: SQLite in data_dir")
    static_dir: Path = Field(default=REPO_FRONTEND_DIST, description="The built frontend served at /")
    max_concurrent_runs: int = Field(default=1, ge=1, le=64, description="Training runs that may run at once")
    worker_threads: int = Field(default=1, ge=1, le=256, description="torch threads per training worker")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'netcanvas.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
