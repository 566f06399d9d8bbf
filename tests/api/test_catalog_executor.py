"""GET /api/catalog says which executor trains this server's runs: the Train panel offers data-parallel `workers`
only where it is Ray, the one executor that accepts `"workers"` above 1."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from netcanvas.api.app import create_app
from netcanvas.settings import Settings
from runhelpers import IRIS_MLP, QUICK, app_client


def test_the_catalog_names_a_ray_executor(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, executor="ray"))
    client = TestClient(app)  # outside `with`: no lifespan, so no Ray cluster is needed to read the catalog
    assert client.get("/api/catalog").json()["executor"] == "ray"


def test_the_local_executor_is_named_and_refuses_workers_at_the_field(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert client.get("/api/catalog").json()["executor"] == "local"
        r = client.post("/api/runs", json={"graph": IRIS_MLP, "dataset": {"name": "iris"},
                                           "config": {**QUICK, "workers": 2}})
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert [d["loc"] for d in detail] == [["body", "config", "workers"]]
        assert "NETCANVAS_EXECUTOR=ray" in detail[0]["msg"]
