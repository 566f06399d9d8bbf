"""The Data tab in the browser: drop a CSV, pick its target, see the preview and the Input that does not fit (amber,
on the canvas too), fix it, train and predict on a typed row; upload an image ZIP, see samples per class and
augmentation previews, resize the images to fit a CNN and train it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect
from test_app import PREDICT_MS, open_app, select, set_field, shot

TRAIN_MS = 120_000


def shop_csv(rows: int = 150) -> str:
    """plan (3 classes) follows age and city; the last column, visits, is a number (not the target we want)."""
    rng = np.random.default_rng(0)
    lines = ["plan,age,city,income,visits"]
    for i in range(rows):
        age = int(rng.integers(18, 80))
        city = ["lyon", "paris", "nice"][i % 3]
        plan = "basic" if age < 38 else "plus" if age < 58 else "premium"
        lines.append(f"{plan},{age},{city},{rng.normal(30, 5):.2f},{int(rng.integers(0, 9))}")
    return "\n".join(lines) + "\n"


def drop_file(page: Page, test_id: str, name: str, text: str) -> None:
    """A real drop event carrying a File, as a browser makes one when a file is dragged from the desktop."""
    transfer = page.evaluate_handle(
        "([name, text]) => { const dt = new DataTransfer(); dt.items.add(new File([text], name, {type: 'text/csv'}));"
        " return dt; }", [name, text])
    page.get_by_test_id(test_id).dispatch_event("dragover", {"dataTransfer": transfer})
    page.get_by_test_id(test_id).dispatch_event("drop", {"dataTransfer": transfer})


def test_drop_a_csv_pick_the_target_fix_the_input_train_and_predict_a_row(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()  # Input x [4], 3 classes out
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=5000)
    page.get_by_test_id("tab-data").click()
    drop_file(page, "drop-zone", "shop.csv", shop_csv())

    expect(page.get_by_test_id("upload-shop.csv")).to_contain_text("table, 150 rows", timeout=30_000)
    expect(page.get_by_test_id("column-city")).to_contain_text("categorical")
    expect(page.get_by_test_id("column-city")).to_contain_text("lyon (50), nice (50), paris (50)")
    expect(page.get_by_test_id("column-age")).to_contain_text("mean")
    expect(page.get_by_test_id("data-preview")).to_contain_text("premium")
    expect(page.get_by_test_id("role-visits")).to_have_value("target")  # the last column, by default

    page.get_by_test_id("role-plan").select_option("target")
    expect(page.get_by_test_id("role-visits")).to_have_value("feature")
    # age, income, visits, then city one-hot: [6]; the template's Input takes [4]
    expect(page.get_by_test_id("fit-x")).to_contain_text("expects [4] float32, the field is [6] float32")
    expect(page.get_by_test_id("fit-x")).to_have_class("bind-row warn")
    expect(page.get_by_test_id("warning-x")).to_contain_text("the field is [6]")  # amber on the canvas
    expect(page.get_by_test_id("pipeline")).to_contain_text("target plan: classification over 3 classes")
    expect(page.get_by_test_id("split-counts")).to_contain_text("train 96 · validation 24 · test 30")
    shot(page, "data-csv")

    page.get_by_test_id("tab-inspector").click()
    select(page, "x")  # fix the Input's shape
    set_field(page, "shape", "6")
    expect(page.get_by_test_id("warning-x")).to_have_count(0)
    page.get_by_test_id("tab-data").click()
    expect(page.get_by_test_id("fit-x")).to_contain_text("✓ receives x [6] float32")

    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("dataset-select")).to_have_value(
        "upload:" + page.evaluate("JSON.parse(localStorage.getItem('netcanvas.datasets')).state.chosen"))
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("25")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=TRAIN_MS)
    expect(page.get_by_test_id("test-metrics")).to_contain_text("accuracy")

    page.get_by_test_id("row-age").fill("70")
    page.get_by_test_id("row-city").select_option("nice")
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction-y")).to_contain_text("premium", timeout=PREDICT_MS)
    shot(page, "data-predict")

    page.get_by_test_id("tab-data").click()  # a deleted upload can be had back
    page.get_by_test_id("delete-shop.csv").click()
    expect(page.get_by_test_id("upload-shop.csv")).to_have_count(0)
    expect(page.get_by_test_id("undo-toast")).to_contain_text("Deleted upload 'shop.csv'.")
    page.get_by_test_id("undo-toast-undo").click()
    expect(page.get_by_test_id("choose-shop.csv")).to_be_checked()
    expect(page.get_by_test_id("column-city")).to_contain_text("categorical")


def image_zip(path: Path, size: int = 16, per_class: int = 12) -> Path:
    """Three classes of grey images: horizontal stripes, vertical stripes, a bright square."""
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w") as z:
        for label in ("rows", "columns", "square"):
            for i in range(per_class):
                a = rng.integers(0, 40, (size, size)).astype(np.uint8)
                if label == "rows":
                    a[::4] = 230
                elif label == "columns":
                    a[:, ::4] = 230
                else:
                    a[4:12, 4:12] = 230
                buf = io.BytesIO()
                Image.fromarray(a, "L").save(buf, "PNG")
                z.writestr(f"{label}/{i}.png", buf.getvalue())
    return path


def test_upload_an_image_zip_see_samples_and_augmentation_and_train_a_cnn(page: Page, server: str,
                                                                       tmp_path: Path) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()  # Input x [1, 8, 8], 10 classes out
    page.get_by_test_id("tab-data").click()
    page.get_by_test_id("upload-input").set_input_files(str(image_zip(tmp_path / "stripes.zip")))

    expect(page.get_by_test_id("upload-stripes.zip")).to_contain_text("images, 36 rows", timeout=30_000)
    expect(page.get_by_test_id("image-samples").locator("img")).to_have_count(12)  # 4 per class
    expect(page.get_by_test_id("image-samples")).to_contain_text("columns")
    expect(page.get_by_test_id("fit-x")).to_contain_text("expects [1, 8, 8] float32, the field is [1, 16, 16]")

    page.get_by_test_id("aug-hflip").check()
    page.get_by_test_id("aug-rotation").fill("20")
    strip = page.get_by_test_id("augment-strip")
    expect(strip).to_have_attribute("data-options", '{"hflip":true,"vflip":false,"rotation":20,"crop_padding":0,'
                                                    '"brightness":0,"noise":0}', timeout=20_000)
    expect(strip.locator("img")).to_have_count(8)

    page.get_by_test_id("pre-height").fill("8")
    page.get_by_test_id("pre-width").fill("8")
    expect(page.get_by_test_id("fit-x")).to_contain_text("✓ receives image [1, 8, 8] float32")
    expect(page.get_by_test_id("pipeline")).to_contain_text("images: grey, resized to 8x8")
    shot(page, "data-images")

    page.get_by_test_id("tab-inspector").click()
    select(page, "fc2")
    set_field(page, "out_features", "3")
    page.get_by_test_id("tab-train").click()
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("3")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=TRAIN_MS)
    expect(page.get_by_test_id("test-metrics")).to_contain_text("accuracy")


def test_offline_download_names_the_files_and_text_shows_its_tokens(page: Page, server_offline: str) -> None:
    open_app(page, server_offline)
    page.get_by_test_id("tab-data").click()
    expect(page.get_by_test_id("source-mnist")).to_contain_text("MNIST", timeout=20_000)
    page.get_by_test_id("download-mnist").click()
    error = page.get_by_test_id("source-error-mnist")
    expect(error).to_contain_text("cannot download MNIST: the connection was refused", timeout=30_000)
    expect(error).to_contain_text("t10k-labels-idx1-ubyte.gz")
    expect(error).to_contain_text("downloads/mnist")
    expect(page.get_by_test_id("download-mnist")).to_be_enabled()

    reviews = "review,label\n" + "".join(f"\"{'Great fun film' if i % 2 else 'dull slow plot'} number {i}\","
                                         f"{'pos' if i % 2 else 'neg'}\n" for i in range(40))
    drop_file(page, "drop-zone", "reviews.csv", reviews)
    tokens = page.get_by_test_id("token-samples")
    expect(tokens).to_contain_text("dull slow plot number 0", timeout=30_000)
    expect(tokens.locator(".token-sample").nth(1).locator(".token").first).to_have_text("great")
    shot(page, "data-sources")
    tokens.scroll_into_view_if_needed()
    shot(page, "data-tokens")
