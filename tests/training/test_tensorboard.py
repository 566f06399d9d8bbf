"""TensorBoard event files: every run writes them, and TensorBoard's own reader finds what they should hold."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import typer
from starlette.testclient import TestClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from netcanvas.api.app import create_app
from netcanvas.cli import logdir_spec
from netcanvas.runs.execute import execute
from netcanvas.settings import Settings
from netcanvas.training.events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent
from netcanvas.training.tensorboard import LOG_DIR, tag_of

LENET = Path(__file__).parents[1] / "fixtures" / "graphs" / "lenet_digits.json"


def read(run: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(run / LOG_DIR), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def train_lenet(out: Path, **config: Any) -> list[Event]:
    events: list[Event] = []
    outcome = execute(json.loads(LENET.read_text()), {"name": "digits"},
                      {"epochs": 2, "batch_size": 64, **config}, out, events.append)
    assert outcome.status == "completed", outcome.error
    return events


def test_a_run_writes_scalars_histograms_and_the_graph(tmp_path: Path) -> None:
    events = train_lenet(tmp_path / "run", metrics=["accuracy"])
    board = read(tmp_path / "run")
    tags = board.Tags()
    for tag in ("loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr", "batch/loss", "loss/test",
                "accuracy/test"):
        assert tag in tags["scalars"], (tag, tags["scalars"])
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    written = board.Scalars("accuracy/val")
    assert [s.step for s in written] == [1, 2]
    assert [round(s.value, 5) for s in written] == [round(e.metrics["val_accuracy"], 5) for e in epochs]
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert len(board.Scalars("batch/loss")) == len(batches)
    # weight and gradient histograms, per epoch, named by node id
    assert "weights/conv1.weight" in tags["histograms"] and "gradients/fc1.bias" in tags["histograms"]
    assert [h.step for h in board.Histograms("weights/conv1.weight")] == [1, 2]
    assert tags["graph"] is True
    assert not [e for e in events if isinstance(e, LogEvent) and e.message.startswith("tensorboard")]


def test_histograms_are_written_less_often_when_they_would_cost_too_much(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from netcanvas.training import tensorboard

    monkeypatch.setattr(tensorboard, "SHARE", 1e-12)  # any histogram costs too much: the first and the last only
    train_lenet(tmp_path / "run", epochs=4)
    board = read(tmp_path / "run")
    assert [h.step for h in board.Histograms("weights/conv1.weight")] == [1, 4]
    assert [s.step for s in board.Scalars("loss/train")] == [1, 2, 3, 4]  # scalars every epoch all the same


def test_a_gan_run_writes_both_losses_its_scores_and_both_parts_histograms(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from netcanvas.templates import list_templates
    from netcanvas.training import tensorboard

    monkeypatch.setattr(tensorboard, "SHARE", 1e-12)  # the ordinary rule: histograms after the first and last epoch
    template = next(t for t in list_templates() if t["id"] == "dcgan-digits")
    events: list[Event] = []
    config = {**template["config"], "epochs": 3, "batch_size": 128}  # "tensorboard" left to its default
    outcome = execute(template["graph"], {"name": "digits"}, config, tmp_path / "run", events.append)
    assert outcome.status == "completed", outcome.error
    board = read(tmp_path / "run")
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_accuracy", "val_d_real", "val_d_fake"} <= set(epochs[0].metrics)
    for name in epochs[0].metrics:
        written = board.Scalars(tag_of(name))
        assert [s.step for s in written] == [1, 2, 3], name
        assert [s.value for s in written] == pytest.approx([e.metrics[name] for e in epochs], rel=1e-6), name
    assert [s.value for s in board.Scalars("lr")] == pytest.approx([e.lr for e in epochs])
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.test_metrics
    for name, value in done.test_metrics.items():
        (written,) = board.Scalars(tag_of(name))
        assert (written.step, written.value) == (3, pytest.approx(value, rel=1e-6))
    assert len(board.Scalars("batch/loss")) == len([e for e in events if isinstance(e, BatchEvent)])
    histograms = board.Tags()["histograms"]
    for tag in ("weights/g_fc.weight", "weights/g_bn1.weight", "weights/d_conv1.weight", "weights/d_fc.bias",
                "gradients/g_up2.weight", "gradients/d_fc.weight"):
        assert [h.step for h in board.Histograms(tag)] == [1, 3], (tag, histograms)
    assert not [e for e in events if isinstance(e, LogEvent) and e.message.startswith("tensorboard")]


def test_tensorboard_can_be_turned_off(tmp_path: Path) -> None:
    train_lenet(tmp_path / "run", epochs=1, tensorboard=False)
    assert not (tmp_path / "run" / LOG_DIR).exists()


def test_tags() -> None:
    assert tag_of("val_accuracy") == "accuracy/val"
    assert tag_of("test_y_loss") == "y_loss/test"
    assert tag_of("loss") == "loss/train"


def test_the_logs_download_as_a_zip_and_open_by_run_name(tmp_path: Path) -> None:
    train_lenet(tmp_path / "runs" / "abc123", epochs=1)
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        r = client.get("/api/runs/abc123/tensorboard")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert "abc123-tensorboard.zip" in r.headers["content-disposition"]
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert names and all(n.startswith("abc123/events.out.tfevents.") for n in names)
        missing = client.get("/api/runs/nope/tensorboard")
        assert missing.status_code == 404 and "no TensorBoard logs" in missing.json()["detail"]
        assert client.get("/api/runs/..%2F..%2Fetc/tensorboard").status_code == 404
    spec = logdir_spec([tmp_path / "runs" / "abc123"])
    assert spec == f"abc123:{(tmp_path / 'runs' / 'abc123' / LOG_DIR).resolve()}"
    with pytest.raises(typer.Exit):
        logdir_spec([tmp_path])  # no event files there


def test_histograms_count_like_numpy_and_skip_nan(tmp_path: Path) -> None:
    import numpy as np
    import torch

    from netcanvas.compiler import compile_graph
    from netcanvas.training.tensorboard import BINS, TensorBoardLog

    log = TensorBoardLog(tmp_path, compile_graph(json.loads(LENET.read_text())))
    values = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 3 + 1
    log.histogram("h", values, 1)
    log.histogram("constant", torch.full((7,), 2.5), 1)
    log.histogram("nan", torch.tensor([1.0, float("nan")]), 1)
    log.histogram("inf", torch.tensor([1.0, float("inf")]), 1)
    log.close()
    board = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    board.Reload()
    assert set(board.Tags()["histograms"]) == {"h", "constant"}
    written = board.Histograms("h")[0].histogram_value
    counts, edges = np.histogram(values.numpy(), bins=BINS)
    assert written.num == 1000 and written.min == pytest.approx(float(values.min()))
    assert written.max == pytest.approx(float(values.max()))
    assert written.sum == pytest.approx(float(values.double().sum()))
    assert written.sum_squares == pytest.approx(float((values.double() ** 2).sum()))
    assert list(written.bucket_limit) == pytest.approx(list(edges[1:]), abs=1e-5)  # numpy: float32 edges
    assert sum(written.bucket) == 1000
    assert np.abs(np.array(written.bucket) - counts).sum() <= 2  # a value on an edge may fall either side
    constant = board.Histograms("constant")[0].histogram_value
    assert constant.num == 7 and sum(constant.bucket) == 7 and constant.min == constant.max == 2.5


def test_record_checksums_are_tensorboards() -> None:
    """The vectorized CRC-32C gives TensorBoard's own checksum for records short, long and over its tables."""
    import random

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    from netcanvas.training.tensorboard import Crc32c, crc32c

    crc = crc32c()
    rng = random.Random(0)
    lengths = [0, 1, 7, 8, Crc32c.SHORTEST - 1, Crc32c.SHORTEST, 555, Crc32c.LONGEST - 1, Crc32c.LONGEST,
               Crc32c.LONGEST + 1, 5000]
    for n in lengths + [rng.randrange(1, Crc32c.LONGEST) for _ in range(30)]:
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc.masked(data) == masked_crc32c(data), n
    assert crc.masked(b"\xff" * 1000) == masked_crc32c(b"\xff" * 1000)
