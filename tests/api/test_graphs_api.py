"""Saved graphs: create, list, open, rename, replace, delete; the validate route still answers."""

from __future__ import annotations

from pathlib import Path

from helpers import mlp
from runhelpers import app_client


def test_saved_graphs_crud(tmp_path: Path, database_url: str) -> None:
    graph = {**mlp(4, 3), "ui": {"viewport": {"x": 1, "y": 2, "zoom": 1.5}}}
    graph["nodes"][0]["position"] = {"x": 10, "y": 20}
    with app_client(tmp_path, database_url=database_url) as client:
        assert client.get("/api/graphs").json() == []
        r = client.post("/api/graphs", json={"graph": graph})
        assert r.status_code == 201
        saved = r.json()
        gid = saved["id"]
        assert saved["name"] == "mlp" and saved["created_at"] == saved["updated_at"]
        opened = client.get(f"/api/graphs/{gid}").json()
        assert opened["graph"]["ui"] == graph["ui"]  # unknown top-level keys survive a save
        assert opened["graph"]["nodes"][0]["position"] == {"x": 10, "y": 20}
        assert [n["id"] for n in opened["graph"]["nodes"]] == [n["id"] for n in graph["nodes"]]

        renamed = client.put(f"/api/graphs/{gid}", json={"name": "iris classifier"}).json()
        assert renamed["name"] == "iris classifier" and renamed["graph"]["name"] == "iris classifier"
        assert renamed["updated_at"] > saved["updated_at"] and renamed["created_at"] == saved["created_at"]

        smaller = mlp(4, 2)
        replaced = client.put(f"/api/graphs/{gid}", json={"graph": smaller}).json()
        assert replaced["name"] == "iris classifier"  # the saved name stays until renamed
        assert replaced["graph"]["nodes"][3]["params"] == {"out_features": 2}

        other = client.post("/api/graphs", json={"graph": mlp(4, 3), "name": "second"}).json()
        listed = client.get("/api/graphs").json()
        assert [g["id"] for g in listed] == [other["id"], gid]  # most recently updated first
        assert listed[1] == {"id": gid, "name": "iris classifier", "nodes": 5, "created_at": saved["created_at"],
                             "updated_at": replaced["updated_at"]}

        assert client.delete(f"/api/graphs/{gid}").status_code == 204
        assert client.get(f"/api/graphs/{gid}").status_code == 404
        assert client.put(f"/api/graphs/{gid}", json={"name": "x"}).status_code == 404
        assert client.delete(f"/api/graphs/{gid}").status_code == 404
        assert [g["id"] for g in client.get("/api/graphs").json()] == [other["id"]]

        # POST /api/graphs/validate is not a saved graph's id
        assert client.post("/api/graphs/validate", json=mlp(4, 3)).json()["valid"] is True
    with app_client(tmp_path, database_url=database_url) as client:  # saved graphs outlive the server
        assert [g["name"] for g in client.get("/api/graphs").json()] == ["second"]


def test_invalid_graphs_can_be_saved_but_malformed_bodies_cannot(tmp_path: Path, database_url: str) -> None:
    unfinished = {"name": "wip", "nodes": [{"id": "a", "type": "Linear"}], "edges": []}
    with app_client(tmp_path, database_url=database_url) as client:
        assert client.post("/api/graphs", json={"graph": unfinished}).status_code == 201
        r = client.post("/api/graphs", json={"graph": {"nodes": [{"type": "Linear"}]}})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "graph", "nodes"]
        assert client.post("/api/graphs", json={"graph": mlp(4, 3), "name": ""}).status_code == 422
