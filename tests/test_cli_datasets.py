"""`netcanvas datasets add/list/rm` and `netcanvas train --dataset FILE --target COL`: the server's dataset store in
the data directory, one-line errors that name the file, line or column."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from helpers import chain, mlp
from netcanvas.artifacts import RunDir
from netcanvas.cli import app
from netcanvas.data.uploads import DatasetStore
from netcanvas.store import Database, RunRow

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return tmp_path / "data"


def shop_csv(path: Path, rows: int = 90) -> Path:
    rng = np.random.default_rng(0)
    lines = ["age,city,income,bought"]
    for i in range(rows):
        age = int(rng.integers(18, 70))
        lines.append(f"{age},{['lyon', 'paris', 'nice'][i % 3]},{rng.normal(30, 5):.2f},{'yes' if age > 40 else 'no'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def added_id(output: str) -> str:
    found = re.search(r"added ([0-9a-f]{12})", output)
    assert found, output
    return found.group(1)


def test_add_list_and_remove_an_upload_in_the_servers_store(data_dir: Path, tmp_path: Path) -> None:
    csv = shop_csv(tmp_path / "shop.csv")
    added = runner.invoke(app, ["datasets", "add", str(csv), "--name", "shop"])
    assert added.exit_code == 0, added.output
    did = added_id(added.output)
    assert "shop  table, csv, 90 rows" in added.output and "city (categorical)" in added.output
    assert "target by default: bought" in added.output
    assert DatasetStore(data_dir / "datasets").get(did)["name"] == "shop"  # where the server looks

    again = runner.invoke(app, ["datasets", "add", str(csv), "--name", "shop"])
    assert added_id(again.output) == did  # the same file under the same name is stored once

    listed = runner.invoke(app, ["datasets", "list"])
    assert listed.exit_code == 0, listed.output
    assert "digits" in listed.output.split("uploaded:")[0] and f"{did}  shop" in listed.output.split("uploaded:")[1]

    removed = runner.invoke(app, ["datasets", "rm", did])
    assert removed.exit_code == 0 and f"deleted {did} (shop)" in removed.output
    assert "uploaded: none" in runner.invoke(app, ["datasets", "list"]).output
    gone = runner.invoke(app, ["datasets", "rm", did])
    assert gone.exit_code == 2 and f"no uploaded dataset with id '{did}'" in error_line(gone.output)


def test_an_image_zip_is_added_with_its_classes(data_dir: Path, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for label, grey in (("cat", 40), ("dog", 200)):
            for i in range(3):
                img = io.BytesIO()
                Image.new("L", (10, 10), grey + i).save(img, "PNG")
                z.writestr(f"{label}/{i}.png", img.getvalue())
        z.writestr("dog/broken.png", b"not a png")
    (tmp_path / "pets.zip").write_bytes(buf.getvalue())
    result = runner.invoke(app, ["datasets", "add", str(tmp_path / "pets.zip")])
    assert result.exit_code == 0, result.output
    assert "pets.zip  images, zip, 6 rows" in result.output and "label (categorical)" in result.output
    assert "warning: skipped 1 image(s) that could not be decoded: dog/broken.png" in result.output


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.csv", None, "data file not found: "),
    ("empty.csv", b"", "empty.csv: the file is empty"),
    ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "ragged.csv: line 3: 2 fields where the header has 3"),
    ("fake.zip", b"just text, not a zip\n", "fake.zip: the file is not a ZIP file"),
    ("objects.npz", "object", "objects.npz"),
])
def test_unreadable_files_are_one_line_errors(data_dir: Path, tmp_path: Path, name: str, content: bytes | str | None,
                                              message: str) -> None:
    path = tmp_path / name
    if content == "object":
        np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = runner.invoke(app, ["datasets", "add", str(path)])
    assert result.exit_code == 2, result.output
    assert message in error_line(result.output)
    assert DatasetStore(data_dir / "datasets").all() == []  # nothing half-stored


def test_train_on_a_csv_file_with_a_chosen_target(data_dir: Path, tmp_path: Path) -> None:
    csv = shop_csv(tmp_path / "shop.csv", rows=120)
    graph = tmp_path / "mlp.json"
    # age, income, then city one-hot (3): 5 features; 'bought' has two classes
    graph.write_text(json.dumps(mlp(5, 2, hidden=8)))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(graph), "--dataset", str(csv), "--target", "bought",
                                 "--features", "age,city", "--features", "income", "--test-split", "0.25",
                                 "--epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "epoch 2/2" in result.output and "final metrics" in result.output
    run = RunDir(out)
    assert run.info().status == "completed" and "test_accuracy" in run.info().test_metrics
    pipeline = json.loads((out / "preprocessing.json").read_text())["pipeline"]
    assert pipeline["target"] == ["bought"] and pipeline["features"] == ["age", "city", "income"]
    assert pipeline["splits"]["test"] == 30  # a quarter of 120 held out
    stored = DatasetStore(data_dir / "datasets").all()
    assert len(stored) == 1 and stored[0]["file"] == "shop.csv"

    # the same file again is the same upload; its id works as well
    by_id = runner.invoke(app, ["train", str(graph), "--dataset", stored[0]["id"], "--target", "bought",
                                "--epochs", "1", "--out", str(tmp_path / "run2")])
    assert by_id.exit_code == 0, by_id.output
    assert len(DatasetStore(data_dir / "datasets").all()) == 1


def test_train_with_dataset_options_that_do_not_fit_fails_before_training(data_dir: Path, tmp_path: Path) -> None:
    csv = shop_csv(tmp_path / "shop.csv")
    graph = tmp_path / "mlp.json"
    graph.write_text(json.dumps(mlp(5, 2)))
    (tmp_path / "one.csv").write_text("x,label\n" + "".join(f"{i},same\n" for i in range(10)))
    cases = [
        (["--dataset", str(csv), "--target", "price"], "shop.csv: target column 'price' is not in the file "
                                                       "(columns: age, city, income, bought)"),
        (["--dataset", str(csv), "--features", "age,colour"], "colour"),
        (["--dataset", str(tmp_path / "one.csv")], "target column 'label' has one class ('same')"),
        (["--dataset", "digits", "--target", "y"], "--target is for your own data"),
        (["--dataset", "nowhere.csv"], "unknown dataset 'nowhere.csv'"),
        (["--dataset", "0123456789ab"], "no uploaded dataset with id '0123456789ab'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["train", str(graph), *args, "--out", str(tmp_path / "r")])
        assert result.exit_code == 2, (args, result.output)
        assert message in error_line(result.output), args
    assert not (tmp_path / "r").exists()  # nothing trained


def test_a_graph_that_does_not_fit_the_upload_names_the_input(data_dir: Path, tmp_path: Path) -> None:
    graph = tmp_path / "cnn.json"
    graph.write_text(json.dumps(chain([3], ("Linear", {"out_features": 2}))))
    result = runner.invoke(app, ["train", str(graph), "--dataset", str(shop_csv(tmp_path / "shop.csv")),
                                 "--epochs", "1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "Input 'x'" in error_line(result.output) and "[5]" in error_line(result.output)


def test_rm_is_refused_while_a_server_run_uses_the_upload(data_dir: Path, tmp_path: Path) -> None:
    did = added_id(runner.invoke(app, ["datasets", "add", str(shop_csv(tmp_path / "shop.csv"))]).output)
    db = Database(f"sqlite:///{data_dir / 'netcanvas.db'}")
    db.migrate()
    with db.session() as s:
        s.add(RunRow(id="r1", graph={}, dataset={"id": did}, config={}, status="running"))
    db.close()
    result = runner.invoke(app, ["datasets", "rm", did])
    assert result.exit_code == 1
    assert "used by run(s) r1 that are queued or running" in error_line(result.output)
    assert DatasetStore(data_dir / "datasets").get(did)["id"] == did  # still there
