"""GANs: the two parts cut from one graph, their errors, training with both losses, samples, the generator's export."""

from __future__ import annotations

import base64
import copy
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from netcanvas import data
from netcanvas.artifacts import RunDir
from netcanvas.export.service import export_run
from netcanvas.runs.execute import execute
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig
from netcanvas.training.events import DoneEvent, EpochEvent, ErrorEvent, Event, SamplesEvent
from netcanvas.training.gan import GanError, part_graphs, sample_grid, split_gan, train_gan

TEMPLATE = next(t for t in list_templates() if t["id"] == "dcgan-digits")
GRAPH: dict[str, Any] = TEMPLATE["graph"]


def config(**gan: Any) -> TrainConfig:
    return TrainConfig.model_validate({**TEMPLATE["config"], "epochs": 2,
                                       "gan": {**TEMPLATE["config"]["gan"], **gan}})


def trained(cfg: TrainConfig) -> tuple[Any, list[Event]]:
    assert cfg.gan is not None
    torch.manual_seed(0)
    parts = split_gan(GRAPH, cfg.gan)
    prepared = data.prepare(data.load("digits"), parts.data_signature, seed=0, validation_split=0.2)
    events: list[Event] = []
    return train_gan(parts, prepared, cfg, events.append), events


def test_the_parts_are_the_nodes_upstream_of_each_output() -> None:
    cut = part_graphs(GRAPH, config().gan)  # type: ignore[arg-type]
    assert (cut.noise, cut.images) == ("z", "x")
    generator = {n["id"] for n in cut.generator["nodes"]}
    discriminator = {n["id"] for n in cut.discriminator["nodes"]}
    assert "g_up2" in generator and "fake" in generator and "d_fc" not in generator
    assert "d_conv1" in discriminator and "score" in discriminator and "z" not in discriminator
    assert generator | discriminator == {n["id"] for n in GRAPH["nodes"]}
    assert all(e["source"] in generator for e in cut.generator["edges"])


def with_edge(source: str, target: str) -> dict[str, Any]:
    graph = copy.deepcopy(GRAPH)
    graph["nodes"].append({"id": "join", "type": "Add"})
    graph["edges"] = [e for e in graph["edges"] if e["target"] != target]
    graph["edges"] += [{"source": source, "target": "join"},
                       {"source": next(e["source"] for e in GRAPH["edges"] if e["target"] == target),
                        "target": "join"},
                       {"source": "join", "target": target}]
    return graph


@pytest.mark.parametrize(("graph", "spec", "field", "words"), [
    (GRAPH, {"generator": "nope"}, "generator", "no node 'nope'"),
    (GRAPH, {"discriminator": "d_fc"}, "discriminator", "'d_fc' is a Linear node"),
    (GRAPH, {"discriminator": "fake"}, "discriminator", "both 'fake'"),
    (with_edge("g_up2", "d_conv1"), {}, "discriminator", "overlap"),
    ({**GRAPH, "nodes": [*GRAPH["nodes"], {"id": "lost", "type": "Input", "params": {"shape": [3]}},
                         {"id": "lost_out", "type": "Output"}],
      "edges": [*GRAPH["edges"], {"source": "lost", "target": "lost_out"}]}, {}, "generator", "'lost'"),
])
def test_a_gan_config_that_does_not_fit_the_graph_names_the_field(graph: dict[str, Any], spec: dict[str, str],
                                                                   field: str, words: str) -> None:
    with pytest.raises(GanError) as caught:
        split_gan(graph, config(**spec).gan)  # type: ignore[arg-type]
    assert caught.value.field == field and words in str(caught.value), str(caught.value)


def test_parts_that_do_not_fit_together_are_refused() -> None:
    graph = copy.deepcopy(GRAPH)
    next(n for n in graph["nodes"] if n["id"] == "g_up2")["params"]["out_channels"] = 3
    with pytest.raises(GanError, match=r"makes \[3, 8, 8\] samples but .*'x' takes \[1, 8, 8\]"):
        split_gan(graph, config().gan)  # type: ignore[arg-type]
    graph = copy.deepcopy(GRAPH)
    next(n for n in graph["nodes"] if n["id"] == "d_fc")["params"]["out_features"] = 2
    with pytest.raises(GanError, match="must give one score"):
        split_gan(graph, config().gan)  # type: ignore[arg-type]


def test_kind_gan_needs_its_block_and_the_block_needs_the_kind() -> None:
    with pytest.raises(ValueError, match="kind 'gan' needs a 'gan' block"):
        TrainConfig.model_validate({"kind": "gan"})
    with pytest.raises(ValueError, match="needs \"kind\": \"gan\""):
        TrainConfig.model_validate({"gan": {"generator": "a", "discriminator": "b"}})
    with pytest.raises(ValueError, match="loss"):
        TrainConfig.model_validate({"kind": "gan", "gan": {"generator": "a", "discriminator": "b", "loss": "l2"}})


def test_training_reports_both_losses_and_a_sample_grid_every_epoch() -> None:
    result, events = trained(config())
    assert result.status == "completed", result.error
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    samples = [e for e in events if isinstance(e, SamplesEvent)]
    assert [e.epoch for e in epochs] == [e.epoch for e in samples] == [1, 2]
    for event in epochs:
        assert {"d_loss", "g_loss", "d_real", "d_fake", "d_accuracy", "val_d_accuracy"} <= set(event.metrics)
        assert all(math.isfinite(v) for v in event.metrics.values())
    grid = Image.open(io.BytesIO(base64.b64decode(samples[-1].png)))
    assert (samples[-1].rows, samples[-1].cols) == (4, 8) and grid.mode == "L"
    assert grid.size == (8 * 9 - 1, 4 * 9 - 1)
    assert samples[0].png != samples[1].png  # the generator learned between the epochs
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.best_epoch == 2
    assert set(done.test_metrics) == {"test_d_real", "test_d_fake", "test_d_accuracy"}
    assert result.best_state is not None and {"g_fc.weight", "d_fc.weight"} <= set(result.best_state)


def test_the_generator_learns_the_pixel_statistics_of_the_data() -> None:
    """After a short run the samples are closer to the digits' mean image than the untrained generator's."""
    torch.manual_seed(0)
    cfg = config()
    untrained = split_gan(GRAPH, cfg.gan).generator.module.eval()  # type: ignore[arg-type]
    result, _ = trained(TrainConfig.model_validate({**cfg.model_dump(), "epochs": 8}))
    assert result.status == "completed"
    trained_parts = split_gan(GRAPH, cfg.gan)  # type: ignore[arg-type]
    from netcanvas.weights import load_node_state_dict

    load_node_state_dict(trained_parts.generator, {k: v for k, v in result.best_state.items() if k.startswith("g_")})
    real = torch.from_numpy(data.load("digits").arrays["x"]).float().mean(0)
    noise = torch.randn(500, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = (untrained(noise).mean(0) - real).abs().mean()
        after = (trained_parts.generator.module.eval()(noise).mean(0) - real).abs().mean()
    assert after < 0.7 * before, (float(before), float(after))


def test_wgan_gp_trains_with_a_critic() -> None:
    result, events = trained(config(loss="wgan_gp", d_steps=2))
    assert result.status == "completed", result.error
    last = [e for e in events if isinstance(e, EpochEvent)][-1]
    assert "d_accuracy" not in last.metrics and math.isfinite(last.metrics["d_loss"])


def test_a_diverging_gan_fails_with_a_message() -> None:
    result, events = trained(config(d_optimizer={"type": "sgd", "lr": 10.0}, g_optimizer={"type": "sgd", "lr": 10.0},
                                    loss="wgan_gp", gp_weight=0.0))
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    if result.status == "failed":  # either it diverges and says so, or it survives: never an exception
        assert errors and "loss became" in errors[0].message
    assert isinstance(events[-1], DoneEvent)


def test_sample_grid_of_rgb_images_and_of_non_images() -> None:
    png, rows, cols = sample_grid(torch.rand(10, 3, 4, 4), 0.0, 1.0)  # type: ignore[misc]
    image = Image.open(io.BytesIO(base64.b64decode(png)))
    assert (rows, cols, image.mode, image.size) == (2, 8, "RGB", (8 * 5 - 1, 2 * 5 - 1))
    assert sample_grid(torch.rand(4, 10), 0.0, 1.0) is None


def test_a_gan_run_exports_its_generator_alone_to_onnx(tmp_path: Path) -> None:
    events: list[Event] = []
    outcome = execute(GRAPH, {"name": "digits"}, {**TEMPLATE["config"], "epochs": 1}, tmp_path / "run", events.append)
    assert outcome.status == "completed", outcome.error
    assert any(isinstance(e, SamplesEvent) for e in events)
    run = RunDir(tmp_path / "run")
    generator = run.load_model()
    assert generator.input_names == ["z"] and generator.output_names == ["fake"]
    path, report = export_run(run, "onnx")
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["z"]
    noise = np.random.default_rng(0).standard_normal((5, 32)).astype(np.float32)
    (images,) = session.run(None, {"z": noise})
    with torch.no_grad():
        expected = generator.module(torch.from_numpy(noise)).numpy()
    assert images.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(images, expected, atol=1e-5)


def test_a_gan_run_with_a_bad_part_fails_naming_the_field(tmp_path: Path) -> None:
    events: list[Event] = []
    bad = {**TEMPLATE["config"], "gan": {**TEMPLATE["config"]["gan"], "generator": "nope"}}
    outcome = execute(GRAPH, {"name": "digits"}, bad, tmp_path / "run", events.append)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.startswith("config.gan.generator: the graph has no node 'nope'")


def test_the_supervised_loop_refuses_a_gan_config_with_a_message() -> None:
    from netcanvas.compiler import compile_graph
    from netcanvas.training import train

    cfg = config()
    parts = split_gan(GRAPH, cfg.gan)  # type: ignore[arg-type]
    prepared = data.prepare(data.load("digits"), parts.data_signature, seed=0)
    result = train(compile_graph(GRAPH), prepared, cfg, lambda e: None)
    assert result.status == "failed" and "a GAN trains its two parts" in (result.error or "")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("loss", ["non_saturating", "wgan_gp"])
def test_a_gan_trains_on_cuda_and_hands_back_cpu_weights(loss: str) -> None:
    cfg = TrainConfig.model_validate({**config(loss=loss).model_dump(), "device": "cuda"})
    result, events = trained(cfg)
    assert result.status == "completed", result.error
    assert [e.epoch for e in events if isinstance(e, SamplesEvent)] == [1, 2]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.runtime is not None and done.runtime.device == "cuda:0"
    assert all(v.device.type == "cpu" for v in result.best_state.values())
