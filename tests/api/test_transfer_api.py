"""Starting a run from another run's weights through the API: what is loaded, what is left fresh, bad inits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from helpers import trunk_cnn
from netcanvas.store import RunRow
from runhelpers import LONG, app_client, start_run, wait_for, watch

QUICK = {"epochs": 2, "batch_size": 32}


def test_a_run_starts_from_another_runs_weights_and_keeps_frozen_nodes(tmp_path: Path) -> None:
    with app_client(tmp_path, worker_threads=2) as client:
        source = start_run(client, trunk_cnn(10), "digits", QUICK)
        wait_for(client, source, ("completed",))
        config = {**QUICK, "init": {"run": source, "freeze": ["c1", "bn1"], "lr_scale": 0.1}}
        target = start_run(client, trunk_cnn(5), "digits_5_9", config)
        events = watch(client, target)
        assert events[-1]["status"] == "completed", events
        init = next(e for e in events if e["type"] == "init")
        assert init["run"] == source and sorted(init["loaded"]) == ["bn1", "c1"]
        assert init["mismatched"] == [{"node": "fc", "reason": "weight is 5×256 here but 10×256 in the run"}]
        assert init["fresh"] == [] and init["frozen"] == ["c1", "bn1"] and init["lr_scale"] == 0.1
        assert any(e["type"] == "log" and "mismatched, left fresh: fc" in e["message"] for e in events)
        assert client.get(f"/api/runs/{target}").json()["config"]["init"]["freeze"] == ["c1", "bn1"]

        before = load_file(str(tmp_path / "runs" / source / "best.safetensors"))
        after = load_file(str(tmp_path / "runs" / target / "best.safetensors"))
        for key in ("c1.weight", "c1.bias", "bn1.weight", "bn1.running_mean", "bn1.running_var"):
            assert torch.equal(before[key], after[key]), key
        assert after["fc.weight"].shape == (5, 256)


def bad_init(client: Any, init: dict[str, Any], graph: dict[str, Any] | None = None) -> dict[str, Any]:
    r = client.post("/api/runs", json={"graph": graph or trunk_cnn(5), "dataset": {"name": "digits_5_9"},
                                       "config": {**QUICK, "init": init}})
    assert r.status_code == 422, r.text
    detail: dict[str, Any] = r.json()["detail"][0]
    return detail


def test_bad_inits_are_refused_naming_the_field_and_nothing_is_queued(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        d = bad_init(client, {"run": "0123456789abcdef"})
        assert d["loc"] == ["body", "config", "init", "run"]
        assert d["msg"] == "config.init.run: no run with id '0123456789abcdef'"
        d = bad_init(client, {"run": "../../etc"})
        assert "config.init.run: no run with id" in d["msg"]
        d = bad_init(client, {"freeze": ["c1", "conv9"]})
        assert d["loc"] == ["body", "config", "init", "freeze", 1]
        assert d["msg"] == "config.init.freeze[1]: the graph has no node 'conv9'"
        d = bad_init(client, {"freeze": ["c1", "bn1", "fc"]})
        assert d["loc"] == ["body", "config", "init", "freeze"] and "nothing to train" in d["msg"]
        d = bad_init(client, {"run": "x", "lr_scale": 2})
        assert d["loc"][:4] == ["body", "config", "init", "lr_scale"]

        running = start_run(client, trunk_cnn(5), "digits_5_9", LONG)
        d = bad_init(client, {"run": running})
        assert d["msg"].startswith(f"config.init.run: run '{running}' is ") and "finished run" in d["msg"]
        client.post(f"/api/runs/{running}/stop")
        wait_for(client, running, ("stopped",))
        assert [r["id"] for r in client.get("/api/runs").json()] == [running]  # nothing else was queued

        # a finished run without weights (its files are gone)
        for name in ("best.safetensors", "last.safetensors"):
            (tmp_path / "runs" / running / name).unlink(missing_ok=True)
        d = bad_init(client, {"run": running})
        assert d["msg"] == f"config.init.run: run '{running}' has no weights (stopped before its first epoch ended)"
        with client.app.state.db.session() as s:  # type: ignore[attr-defined]
            assert s.query(RunRow).count() == 1
