"""GAN runs over HTTP: a bad GAN config is a 422 naming the field and node; a run streams samples, exports its
generator and pauses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from netcanvas.templates import list_templates
from runhelpers import app_client, start_run, wait_for, watch

TEMPLATE = next(t for t in list_templates() if t["id"] == "dcgan-digits")
GRAPH: dict[str, Any] = TEMPLATE["graph"]


def gan_config(**gan: Any) -> dict[str, Any]:
    return {**TEMPLATE["config"], "epochs": 2, "gan": {**TEMPLATE["config"]["gan"], **gan}}


def overlapping() -> dict[str, Any]:
    """The generator's last layer also feeds the discriminator: one node in both parts."""
    graph = copy.deepcopy(GRAPH)
    graph["nodes"].append({"id": "mix", "type": "Add"})
    graph["edges"] = [e for e in graph["edges"] if e["target"] != "d_conv1"]
    graph["edges"] += [{"source": "x", "target": "mix"}, {"source": "g_sigmoid", "target": "mix"},
                       {"source": "mix", "target": "d_conv1"}]
    return graph


@pytest.mark.parametrize(("graph", "config", "loc", "node", "words"), [
    (GRAPH, gan_config(generator="nope"), "generator", None, "the graph has no node 'nope'"),
    (GRAPH, gan_config(discriminator="d_fc"), "discriminator", "d_fc", "'d_fc' is a Linear node"),
    (overlapping(), gan_config(), "discriminator", "g_bn1", "overlap"),
    (GRAPH, gan_config(generator="score", discriminator="fake"), "generator", "score",
     "makes [1] samples"),
])
def test_a_gan_config_that_does_not_fit_the_graph_is_a_422_naming_the_field(
        tmp_path: Path, graph: dict[str, Any], config: dict[str, Any], loc: str, node: str | None,
        words: str) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/runs", json={"graph": graph, "dataset": {"name": "digits"}, "config": config})
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["body", "config", "gan", loc] and problem["node"] == node, problem
    assert words in problem["msg"], problem["msg"]


def test_kind_gan_without_its_block_is_a_422_on_the_config(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/runs", json={"graph": GRAPH, "dataset": {"name": "digits"},
                                           "config": {"kind": "gan"}})
    assert r.status_code == 422
    assert "kind 'gan' needs a 'gan' block" in r.text


def test_a_gan_run_streams_both_losses_and_samples_and_exports_its_generator(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, GRAPH, "digits", gan_config())
        events = watch(client, run_id)
        assert events[-1]["type"] == "done" and events[-1]["status"] == "completed", events[-3:]
        samples = [e for e in events if e["type"] == "samples"]
        assert [s["epoch"] for s in samples] == [1, 2]
        assert samples[0]["png"] and (samples[0]["rows"], samples[0]["cols"]) == (4, 8)
        epoch = next(e for e in events if e["type"] == "epoch")
        assert {"d_loss", "g_loss"} <= set(epoch["metrics"])
        replay = client.get(f"/api/runs/{run_id}/events").json()  # stored and replayed like the others
        assert [e["png"] for e in replay if e["type"] == "samples"] == [s["png"] for s in samples]
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["config"]["kind"] == "gan" and len(run["history"]) == 2
        r = client.get(f"/api/runs/{run_id}/export", params={"format": "onnx"})
        assert r.status_code == 200, r.text
    model = onnx.load_model_from_string(r.content)
    assert [i.name for i in model.graph.input] == ["z"]
    session = ort.InferenceSession(r.content)
    (images,) = session.run(None, {"z": np.zeros((3, 32), np.float32)})
    assert images.shape == (3, 1, 8, 8) and images.min() >= 0 and images.max() <= 1


def test_preflight_binds_a_gan_by_its_discriminator_and_warns_of_a_bad_gan_config(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        good = client.post("/api/graphs/validate", json={"graph": GRAPH, "dataset": {"name": "digits"},
                                                         "config": gan_config()}).json()
        bad = client.post("/api/graphs/validate", json={"graph": GRAPH, "dataset": {"name": "digits"},
                                                        "config": gan_config(discriminator="d_fc")}).json()
    assert good["valid"] and not [w for w in good["warnings"] if w.get("field") in ("dataset", "config.gan")], good
    (warning,) = [w for w in bad["warnings"] if (w.get("field") or "").startswith("config.gan")]
    assert warning["field"] == "config.gan.discriminator" and warning["node"] == "d_fc"


def test_a_gan_run_pauses_and_stopped_while_paused_keeps_its_weights(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, GRAPH, "digits", gan_config(samples=4) | {"epochs": 100_000})
        watch(client, run_id, until="epoch")
        r = client.post(f"/api/runs/{run_id}/pause")
        assert r.status_code == 200, r.text
        wait_for(client, run_id, ("paused",))
        assert (tmp_path / "runs" / run_id / "pause.pt").is_file()
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 200
        run = wait_for(client, run_id, ("stopped",))
        assert run["artifacts"] and client.get(f"/api/runs/{run_id}/export").status_code == 200
        assert not (tmp_path / "runs" / run_id / "pause.pt").exists()
