"""The light theme: the header's control switches to it, the page then reads dark on light, and a reload keeps it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from test_app import connect, drop, open_app, shot
from test_canvas_lod import eventually, open_zoomed_out


def luminance(css_colour: str) -> float:
    """The relative luminance (0 black .. 1 white) of a computed colour, `rgb(r, g, b)` or `rgba(r, g, b, a)`."""
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css_colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def colours(page: Page, test_id: str | None = None) -> tuple[float, float]:
    """The luminance of the page's (or an element's) background and of its text."""
    found = page.evaluate(
        """(id) => {
            const el = id ? document.querySelector(`[data-testid="${id}"]`) : document.body;
            const style = getComputedStyle(el);
            const bg = id ? style.backgroundColor : getComputedStyle(document.documentElement).backgroundColor;
            return [bg, style.color];
        }""",
        test_id,
    )
    return luminance(found[0]), luminance(found[1])


def test_the_system_preference_is_the_default(page: Page, server: str) -> None:
    page.emulate_media(color_scheme="light")
    open_app(page, server)
    expect(page.get_by_test_id("theme-select")).to_have_value("system")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.emulate_media(color_scheme="dark")  # the system changes while the page is open
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'")


def test_switch_to_light_keep_it_across_a_reload(page: Page, server: str) -> None:
    page.emulate_media(color_scheme="dark")
    open_app(page, server)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background, text = colours(page)
    assert background < 0.05 and text > 0.6  # the dark look: light text on a dark page

    page.get_by_test_id("theme-select").select_option("light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    background, text = colours(page)
    assert background > 0.85 and text < 0.05
    page.reload()
    expect(page.get_by_test_id("palette-Linear")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("theme-select")).to_have_value("light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"

    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=5000)
    node_bg, node_text = colours(page, "node-fc2")
    assert node_bg > 0.7 and node_text < 0.05  # the canvas nodes too
    shot(page, "theme-light")

    page.get_by_test_id("tab-data").click()
    shot(page, "theme-light-data")
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("dataset-select")).to_have_value("iris")
    shot(page, "theme-light-train")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=120_000)  # a busy 2-core machine
    shot(page, "theme-light-trained")
    page.get_by_test_id("tab-runs").click()
    shot(page, "theme-light-runs")

    # errors and warnings: a node in error, the issues panel
    page.get_by_test_id("tab-inspector").click()
    header_height = page.locator(".header").bounding_box()["height"]
    drop(page, "Conv2d", 750, 250)
    connect(page, "x", "conv2d")
    expect(page.get_by_test_id("error-conv2d")).to_contain_text("expects input of shape")
    expect(page.get_by_test_id("summary-button")).to_contain_text("1 error")
    # the wider summary does not wrap the header onto a second line, which would push the canvas down
    assert page.locator(".header").bounding_box()["height"] == header_height
    page.get_by_test_id("summary-button").click()
    shot(page, "theme-light-error")
    page.get_by_test_id("theme-select").select_option("dark")  # the same in the dark theme, to compare
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    shot(page, "theme-dark-error")


def painted(page: Page, rgb: tuple[int, int, int]) -> bool:
    """Some pixels of the zoomed-out canvas are (nearly) this colour."""
    return bool(page.evaluate("""([r, g, b]) => {
        const c = document.querySelector('[data-testid=lod-canvas]');
        if (!c || !c.width || !c.height) return false;  // not laid out yet
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        const near = (i) => Math.abs(d[i] - r) < 4 && Math.abs(d[i + 1] - g) < 4 && Math.abs(d[i + 2] - b) < 4;
        for (let i = 0; i < d.length; i += 4) if (near(i) && d[i + 3] > 200) n++;
        return n > 50; }""", list(rgb)))


def test_the_zoomed_out_canvas_follows_the_theme(page: Page, server: str, tmp_path: Path) -> None:
    page.emulate_media(color_scheme="light")
    open_app(page, server)
    open_zoomed_out(page, tmp_path, "big.json")
    light_body, dark_body = (0xD6, 0xDC, 0xE7), (0x2E, 0x36, 0x4A)  # --lod-body in each theme
    eventually(page, lambda: painted(page, light_body) and not painted(page, dark_body),
               "the zoomed-out canvas is drawn in the light theme's colours")
    shot(page, "theme-light-zoomed-out")
    page.get_by_test_id("theme-select").select_option("dark")  # drawn again in the dark theme's colours
    eventually(page, lambda: painted(page, dark_body) and not painted(page, light_body),
               "the zoomed-out canvas is drawn again in the dark theme's colours")
