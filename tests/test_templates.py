"""Every template validates, binds to its dataset and trains with a falling loss."""

import math
import time
from typing import Any

import numpy as np
import pytest
import torch

from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.shapes import validate_graph
from netcanvas.templates import HERE as TEMPLATES_DIR
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig, train
from netcanvas.training.gan import split_gan, train_gan

TEMPLATES = {t["id"]: t for t in list_templates()}
FAMILIES = {"MLP", "CNN", "ResNet", "Inception", "MobileNet", "RNN", "LSTM", "GRU", "Transformer",
            "Multi-input / multi-output", "Autoencoder", "Capsule network", "GAN"}
STATED = {"capsnet-digits": ("val_accuracy", 0.975, "~98% validation accuracy"),
          "rnn-timeseries": ("val_mae", 0.13, "validation MAE ~0.10"),
          "transformer-blocks-text": ("val_accuracy", 0.95, "~100% validation accuracy")}
"""Templates whose full training is checked against the metric their description states (a bound a little below it)."""


def test_a_template_for_every_family() -> None:
    assert {t["family"] for t in TEMPLATES.values()} == FAMILIES


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_is_complete_validates_and_binds_to_its_dataset(template_id: str) -> None:
    template: dict[str, Any] = TEMPLATES[template_id]
    assert set(template) == {"id", "name", "description", "family", "graph", "dataset", "config"}
    assert (TEMPLATES_DIR / f"{template_id}.json").is_file()
    assert template["name"] and template["description"]
    # /2 only where the template uses blocks (docs/graph-format.md#blocks-and-repeats), /1 elsewhere
    version = "2" if "blocks" in template["graph"] else "1"
    assert template["graph"]["format"] == f"netcanvas.graph/{version}"
    report = validate_graph(template["graph"])
    assert report.valid and report.warnings == [], (report.errors, report.warnings)
    TrainConfig.model_validate(template["config"])  # the config as written, not only the shortened one below
    compiled = compile_graph(template["graph"])
    dataset = data.load(template["dataset"]["name"])
    fields = {f.name for f in dataset.fields}
    gan = TrainConfig.model_validate(template["config"]).gan
    if gan is not None:  # the discriminator's image Input binds; a GAN has no targets
        compiled = split_gan(template["graph"], gan).data_signature
    data.bind(compiled, dataset)
    if len(compiled.input_names) > 1 or len(compiled.output_names) > 1:  # bound by name, not automatically
        assert set(compiled.input_names) | set(compiled.output_names) <= fields
    positions = {n["id"]: n["position"] for n in template["graph"]["nodes"]}
    for edge in template["graph"]["edges"]:  # laid out left to right on the canvas
        assert positions[edge["source"]]["x"] < positions[edge["target"]]["x"], edge


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_trains_briefly_with_falling_loss(template_id: str) -> None:
    template: dict[str, Any] = TEMPLATES[template_id]
    assert validate_graph(template["graph"]).valid
    config = TrainConfig.model_validate({**template["config"], "epochs": 3, "early_stopping": None})
    torch.manual_seed(0)
    if config.gan is not None:  # a GAN's losses need not fall: both are finite and it draws samples
        parts = split_gan(template["graph"], config.gan)
        prepared = data.prepare(data.load(template["dataset"]["name"]), parts.data_signature, seed=0)
        events: list[Any] = []
        result = train_gan(parts, prepared, config, events.append)
        assert result.status == "completed", result.error
        assert all(math.isfinite(h["metrics"]["d_loss"] + h["metrics"]["g_loss"]) for h in result.history)
        assert [e.epoch for e in events if e.type == "samples"] == [1, 2, 3]
        return
    compiled = compile_graph(template["graph"])
    prepared = data.prepare(data.load(template["dataset"]["name"]), compiled, seed=0, validation_split=0.2)
    result = train(compiled, prepared, config, lambda e: None)
    assert result.status == "completed", result.error
    losses = [h["metrics"]["loss"] for h in result.history]
    assert losses[-1] < losses[0]


def full_training(template: dict[str, Any], graph: dict[str, Any] | None = None) -> dict[str, float]:
    """Best validation metrics of a training run with the template's own config."""
    torch.manual_seed(0)
    compiled = compile_graph(graph or template["graph"])
    prepared = data.prepare(data.load(template["dataset"]["name"]), compiled, seed=0,
                            validation_split=template["config"]["validation_split"])
    result = train(compiled, prepared, TrainConfig.model_validate(template["config"]), lambda e: None)
    assert result.status == "completed", result.error
    return {k: (min if "mae" in k or "loss" in k else max)(h["metrics"][k] for h in result.history)
            for k in result.history[0]["metrics"]}


@pytest.mark.parametrize("template_id", sorted(STATED))
def test_template_reaches_the_metric_its_description_states(template_id: str) -> None:
    template: dict[str, Any] = TEMPLATES[template_id]
    metric, bound, stated = STATED[template_id]
    assert stated in template["description"]
    best = full_training(template)[metric]
    assert (best >= bound) if "accuracy" in metric else (best <= bound), best


def test_capsule_network_beats_a_same_size_mlp_on_digits() -> None:
    template: dict[str, Any] = TEMPLATES["capsnet-digits"]
    capsnet = compile_graph(template["graph"])
    size = sum(p.numel() for p in capsnet.module.parameters())
    hidden = round((size - 10) / (64 + 1 + 10))  # 64 -> hidden -> 10 with biases: the same parameter count
    mlp = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": hidden}), ("ReLU", {}),
                ("Linear", {"out_features": 10}))
    mlp_size = sum(p.numel() for p in compile_graph(mlp).module.parameters())
    assert abs(mlp_size - size) < 0.01 * size
    assert full_training(template)["val_accuracy"] > full_training(template, mlp)["val_accuracy"]


def test_resnet_template_builds_its_stage_from_a_repeated_block() -> None:
    graph = TEMPLATES["resnet-digits"]["graph"]
    stage = next(n for n in graph["nodes"] if n["type"] == "Block")
    assert stage["params"] == {"block": "basic", "repeat": 2, "shared": False}
    report = validate_graph(graph)
    assert {"stage1.0.conv_a", "stage1.1.skip"} <= set(report.nodes)
    names = {name for name, _ in compile_graph(graph).module.named_parameters()}
    assert {"stage1_0_conv_a.weight", "stage1_1_conv_b.weight"} <= names


def test_transformer_template_repeats_an_encoder_layer_drawn_from_layers() -> None:
    graph = TEMPLATES["transformer-blocks-text"]["graph"]
    layers = next(n for n in graph["nodes"] if n["type"] == "Block")
    assert layers["params"] == {"block": "encoder_layer", "repeat": 2, "shared": False}
    report = validate_graph(graph)
    assert report.valid and report.nodes["layers.1.norm2"].output_shape == [24, 32]
    names = {name for name, _ in compile_graph(graph).module.named_parameters()}
    assert {"layers_0_attn.in_proj_weight", "layers_1_ff2.weight"} <= names


def test_templates_endpoint(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from netcanvas.api.app import create_app
    from netcanvas.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        body = client.get("/api/templates").json()
    assert {t["id"] for t in body} == set(TEMPLATES)
    assert all(t["graph"]["nodes"] and t["dataset"]["name"] for t in body)


def test_template_files_ship_in_the_package() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "templates/*.json" in pyproject["tool"]["setuptools"]["package-data"]["netcanvas"]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (as FID does)."""
    from scipy import linalg

    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_dcgan_makes_confident_varied_digits_in_under_a_minute() -> None:
    """The DCGAN template's stated metric. A logistic regression fitted in this test on the real digits labels the
    generated samples: most with confidence above 0.5 (real digits ~88 %, uniform noise ~10 %) and all ten digits
    appear. Their Fréchet distance to held-out real digits (20 PCA features) is well below random noise's."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    template: dict[str, Any] = TEMPLATES["dcgan-digits"]
    assert "labels ~75% of generated samples with confidence above 0.5" in template["description"]
    config = TrainConfig.model_validate(template["config"])
    assert config.gan is not None
    torch.manual_seed(0)
    parts = split_gan(template["graph"], config.gan)
    digits = data.load("digits")
    prepared = data.prepare(digits, parts.data_signature, seed=0, validation_split=config.validation_split)
    started = time.process_time()  # CPU time: a machine loaded by others stretches the wall time, not this
    result = train_gan(parts, prepared, config, lambda e: None)
    seconds = time.process_time() - started
    assert result.status == "completed", result.error
    assert seconds < 60, seconds  # about 35 s of one core's time (config.num_threads is 1)
    images, labels = digits.arrays["x"].reshape(len(digits.arrays["x"]), -1), digits.arrays["y"]
    generator = parts.generator.module.eval()
    with torch.no_grad():
        fake = generator(torch.randn(500, 32, generator=torch.Generator().manual_seed(1))).reshape(500, -1).numpy()
    classifier = LogisticRegression(C=0.1, max_iter=2000).fit(images, labels)
    probabilities = classifier.predict_proba(fake)
    confident = probabilities.max(1) > 0.5
    assert confident.mean() > 0.6, confident.mean()
    assert len(set(probabilities.argmax(1)[confident])) == 10
    pca = PCA(20, random_state=0).fit(images[:1200])
    held_out = pca.transform(images[1200:])
    noise = np.random.default_rng(0).random(fake.shape)
    assert frechet_distance(pca.transform(fake), held_out) < 0.3 * frechet_distance(pca.transform(noise), held_out)
