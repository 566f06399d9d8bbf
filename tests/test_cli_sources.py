"""`netcanvas datasets fetch NAME` against a local HTTP mirror (NETCANVAS_DATASET_MIRROR), then `train` on the
fetched dataset's id; offline and checksum errors are one `error:` line naming the files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import chain
from netcanvas.cli import app
from sourcehelpers import cifar_file, closed_port_url, mirror, register

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return tmp_path / "data"


def test_fetch_cifar10_then_train_on_it(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, _, _ = cifar_file()
    register(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": data})
    with mirror(tmp_path / "www", {"cifar10": {"cifar-10-binary.tar.gz": data}}) as url:
        monkeypatch.setenv("NETCANVAS_DATASET_MIRROR", url)
        result = runner.invoke(app, ["datasets", "fetch", "cifar10"])
    assert result.exit_code == 0, result.output
    found = re.search(r"fetched ([0-9a-f]{12})  CIFAR-10  images, cifar-binary, 48 rows", result.output)
    assert found, result.output
    assert f"cifar-10-binary.tar.gz: {len(data):,} of {len(data):,} bytes" in result.output

    listed = runner.invoke(app, ["datasets", "list"])
    assert "cifar10        CIFAR-10" in listed.output and "(fetched)" in listed.output

    graph = tmp_path / "cnn.json"
    graph.write_text(json.dumps(chain([3, 32, 32], ("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2}),
                                      ("Flatten", {}), ("Linear", {"out_features": 10}))))
    trained = runner.invoke(app, ["train", str(graph), "--dataset", found.group(1), "--epochs", "1",
                                  "--out", str(tmp_path / "run")])
    assert trained.exit_code == 0, trained.output


def test_fetch_offline_and_unknown(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCANVAS_DATASET_MIRROR", closed_port_url())
    result = runner.invoke(app, ["datasets", "fetch", "fashion_mnist"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "t10k-labels-idx1-ubyte.gz" in errors[0]
    assert str((data_dir / "downloads" / "fashion_mnist").resolve()) in errors[0]
    unknown = runner.invoke(app, ["datasets", "fetch", "imagenet"])
    assert unknown.exit_code == 2 and "no downloadable dataset 'imagenet'" in unknown.output
