"""All settings in one place: NETCANVAS_* environment variables (or a .env file)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    executor: Literal["local", "ray"] = Field(default="local", description="Where runs train: local worker "
                                              "processes, or Ray Core tasks on the cluster at ray_address")
    ray_address: str = Field(default="auto", description="The Ray cluster (HOST:PORT of its head, ray://HOST:PORT, "
                                                         "or auto: the one started on this machine)")
    max_upload_mb: int = Field(default=500, ge=1, description="Largest dataset upload, in megabytes (413 past it)")
    dataset_mirror: str | None = Field(default=None, description="Base URL the downloadable datasets (MNIST, "
                                       "Fashion-MNIST, CIFAR-10) are fetched from, as <mirror>/<source>/<file>; "
                                       "default: their official sites")
    max_body_mb: float = Field(default=8.0, gt=0, description="Largest request body, in megabytes (413 past it)")
    max_nodes: int = Field(default=10_000, ge=1, description="Most nodes a graph may have")
    max_edges: int = Field(default=30_000, ge=1, description="Most edges a graph may have")
    max_string_length: int = Field(default=1_000, ge=1, description="Longest string (or key) in a JSON body: "
                                                                    "graph and run names, node ids, params")
    max_params: int = Field(default=100_000_000, ge=1, description="Most trainable parameters a run may have")
    max_training_memory_mb: float = Field(default=4096.0, gt=0, description="Largest estimated training memory of "
                                          "a run (weights, gradients, optimizer state and one batch's activations)")
    token: SecretStr | None = Field(default=None, description="Token every /api request must carry (Authorization: "
                                    "Bearer ...); required to serve beyond loopback")
    insecure: bool = Field(default=False, description="Serve beyond loopback without a token (not recommended)")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Host names the server answers to besides localhost, 127.0.0.1, [::1] and "
                                          "the bind address: comma-separated, '*.example.com' for subdomains, '*' any")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Browser origins besides the server's own that may call the API: "
                                          "comma-separated, e.g. https://netcanvas.example.com")

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str) or len(text) < 16 or not all("!" <= c <= "~" for c in text):
            raise ValueError("must be at least 16 printable ASCII characters without spaces "
                             "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return text

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _allowed_hosts(cls, value: object) -> object:
        hosts = comma_separated(value)
        if not isinstance(hosts, list):
            return hosts
        for host in hosts:
            if not isinstance(host, str) or not re.fullmatch(r"\*|(\*\.)?[^*\s/]+", host):
                raise ValueError(f"{host!r} is not a host name, '*.example.com' or '*'")
        return [host.lower() for host in hosts]

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _allowed_origins(cls, value: object) -> object:
        origins = comma_separated(value)
        if not isinstance(origins, list):
            return origins
        normalized = []
        for origin in origins:
            parts = urlsplit(origin.rstrip("/").lower()) if isinstance(origin, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.path \
                    or parts.query or parts.fragment:
                raise ValueError(f"{origin!r} is not an origin like https://example.com")
            normalized.append(f"{parts.scheme}://{parts.netloc}")
        return normalized

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'netcanvas.db').resolve()}"


def comma_separated(value: object) -> object:
    """A list setting from the environment: "a, b,c" -> ["a", "b", "c"]; lists pass through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
