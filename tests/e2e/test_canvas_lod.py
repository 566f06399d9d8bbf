"""A big graph zoomed far out (canvas/LodLayer.tsx): its nodes are drawn on one canvas, not as React Flow's elements,
and are still named on hover, selected (a click, a selection box), dragged (one undo step) and shown on the minimap;
its edges are named on hover, selected with a click, deleted and undone;
zooming in brings React Flow's nodes back where the drag left them, and an issue clicked in the issues panel zooms
in on its node."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from test_app import open_app, shot
from test_canvas import open_file, settle_view

NODE_HALF = (94, 37)  # half of NODE_SIZE (frontend/src/lib/layout.ts): a node's centre from its position


def residual_mlp(blocks: int) -> dict[str, Any]:
    """Linear -> ReLU -> Add blocks with a skip around each, twelve to a row: 3 x blocks + 2 nodes."""
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "params": {"shape": [16]},
                                    "position": {"x": 0, "y": 0}}]
    edges: list[dict[str, str]] = []
    prev = "x"
    for i in range(blocks):
        row, col = divmod(i, 12)
        x, y = 300 + col * 600, row * 260
        nodes += [{"id": f"fc{i}", "type": "Linear", "params": {"out_features": 16}, "position": {"x": x, "y": y}},
                  {"id": f"relu{i}", "type": "ReLU", "position": {"x": x + 200, "y": y}},
                  {"id": f"add{i}", "type": "Add", "position": {"x": x + 400, "y": y + 60}}]
        edges += [{"source": prev, "target": f"fc{i}"}, {"source": f"fc{i}", "target": f"relu{i}"},
                  {"source": f"relu{i}", "target": f"add{i}"}, {"source": prev, "target": f"add{i}"}]
        prev = f"add{i}"
    nodes.append({"id": "y", "type": "Output", "position": {"x": 0, "y": (blocks // 12 + 2) * 260}})
    edges.append({"source": prev, "target": "y"})
    return {"format": "netcanvas.graph/1", "name": "big residual MLP", "nodes": nodes, "edges": edges}


def view(page: Page) -> tuple[float, float, float, float, float]:
    """The canvas's top-left corner on the page, and React Flow's viewport: x, y, zoom."""
    return tuple(page.evaluate("""() => {
        const c = document.querySelector('[data-testid=canvas]').getBoundingClientRect();
        const m = new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport')).transform);
        return [c.x, c.y, m.e, m.f, m.a]; }"""))  # type: ignore[return-value]


def on_screen(page: Page, x: float, y: float) -> tuple[float, float]:
    """A flow point (x, y) on the page."""
    left, top, tx, ty, zoom = view(page)
    return left + tx + x * zoom, top + ty + y * zoom


def status_at(page: Page, node: str, x: float, y: float) -> None:
    """Wait until the zoomed-out view's status line names `node` at about (x, y) (positions are rounded there)."""
    page.wait_for_function("""([node, x, y]) => {
        const s = document.querySelector('[data-testid=lod-status]');
        return s && s.dataset.node === node && Math.abs(Number(s.dataset.x) - x) <= 1
            && Math.abs(Number(s.dataset.y) - y) <= 1; }""", arg=[node, x, y], timeout=15_000)


def test_a_big_graph_zoomed_out_is_drawn_on_one_canvas_and_its_nodes_still_drag(page: Page, server: str,
                                                                               tmp_path: Path) -> None:
    open_app(page, server)
    graph = residual_mlp(110)  # 332 nodes: big enough to be drawn in part, and zoomed out, on one canvas
    bad = next(n for n in graph["nodes"] if n["id"] == "fc100")
    bad["params"] = {"out_features": 0}  # one error, far from where the graph opens
    open_file(page, graph, tmp_path, "big.json")
    expect(page.get_by_test_id("node-x")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("summary")).to_contain_text("1 error", timeout=30_000)
    settle_view(page)
    assert page.get_by_test_id("lod-canvas").count() == 0  # at a readable zoom: React Flow's own nodes

    page.get_by_test_id("btn-fit").click()  # the whole graph in view, far too small to read
    expect(page.get_by_test_id("lod-canvas")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(0)
    expect(page.get_by_test_id("lod-minimap")).to_be_visible()
    settle_view(page)
    shot(page, "canvas-zoomed-out")

    node = next(n for n in graph["nodes"] if n["id"] == "fc50")
    start = node["position"]["x"], node["position"]["y"]
    x, y = on_screen(page, start[0] + NODE_HALF[0], start[1] + NODE_HALF[1])
    page.mouse.move(x, y)  # pointing at a node names it (its label is unreadable at this zoom)
    expect(page.get_by_test_id("lod-status")).to_have_attribute("data-node", "fc50")

    before = view(page)
    page.mouse.down()
    page.mouse.move(x + 30, y + 10, steps=3)
    page.mouse.move(x + 60, y + 40, steps=3)
    page.mouse.up()
    zoom = before[4]
    moved = start[0] + 60 / zoom, start[1] + 40 / zoom
    status_at(page, "fc50", *moved)  # the node moved by what the pointer did, in flow units
    assert view(page) == before, "the drag took the node, not the view"

    page.get_by_test_id("btn-undo").click()  # the whole drag is one step
    status_at(page, "fc50", *start)
    page.keyboard.press("Control+Shift+z")
    status_at(page, "fc50", *moved)

    # Shift+drag draws a selection box: the nodes wholly inside it are selected (fc0, relu0, add0; not x, not fc1).
    page.keyboard.down("Shift")
    page.mouse.move(*on_screen(page, 280, -20))
    page.mouse.down()
    page.mouse.move(*on_screen(page, 895, 150), steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.get_by_test_id("lod-status")).to_have_attribute("data-selected", "3")
    expect(page.get_by_test_id("lod-status")).to_have_attribute("data-node", "fc0")

    # A click on the empty pane (above the graph) clears the selection.
    page.mouse.click(*on_screen(page, 3600, -600))
    expect(page.get_by_test_id("lod-status")).to_have_attribute("data-node", "")

    # Zooming in on the moved node brings React Flow's nodes back, the moved one where the drag left it.
    mx, my = on_screen(page, moved[0] + NODE_HALF[0], moved[1] + NODE_HALF[1])
    page.mouse.move(mx, my)
    for _ in range(30):
        if page.get_by_test_id("lod-canvas").count() == 0:
            break
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(150)
    expect(page.get_by_test_id("lod-canvas")).to_have_count(0)
    expect(page.get_by_test_id("node-fc50")).to_be_visible()
    page.wait_for_function("""([x, y]) => {
        const n = document.querySelector('.react-flow__node[data-id="fc50"]');
        const m = n && new DOMMatrixReadOnly(getComputedStyle(n).transform);
        return m && Math.abs(m.e - x) < 0.5 && Math.abs(m.f - y) < 0.5; }""", arg=list(moved))

    # The issues panel, zoomed out again: its error is a click away from its node, shown at a readable zoom.
    page.get_by_test_id("btn-fit").click()
    expect(page.get_by_test_id("lod-canvas")).to_be_visible()
    page.get_by_test_id("summary-button").click()
    page.get_by_test_id("issues").get_by_text("out_features").first.click()
    expect(page.get_by_test_id("node-fc100")).to_be_visible()
    expect(page.get_by_test_id("node-fc100")).to_have_class(re.compile(r"\bselected\b"))
    expect(page.get_by_test_id("lod-canvas")).to_have_count(0)


def canvas_pixels_near(page: Page, x: float, y: float, radius: int = 3) -> list[list[int]]:
    """The zoomed-out canvas's colours (r, g, b, alpha) around a page point."""
    return page.evaluate("""([x, y, r]) => {
        const c = document.querySelector('[data-testid=lod-canvas]');
        const box = c.getBoundingClientRect();
        const k = c.width / box.width;
        const d = c.getContext('2d').getImageData(Math.round((x - box.x - r) * k), Math.round((y - box.y - r) * k),
                                                  Math.round(2 * r * k) + 1, Math.round(2 * r * k) + 1).data;
        const out = [];
        for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        return out; }""", [x, y, radius])  # type: ignore[no-any-return]


def open_zoomed_out(page: Page, tmp_path: Path, name: str) -> None:
    """Open a 332-node graph and fit it in view: far too small to read, it is drawn on the one canvas."""
    open_file(page, residual_mlp(110), tmp_path, name)
    expect(page.get_by_test_id("node-x")).to_be_visible(timeout=20_000)
    settle_view(page)
    page.get_by_test_id("btn-fit").click()
    expect(page.get_by_test_id("lod-canvas")).to_be_visible()
    settle_view(page)


def eventually(page: Page, check: Callable[[], bool], what: str) -> None:
    """Wait up to 10 s for `check` (the canvas is painted on the next animation frame)."""
    for _ in range(100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(what)


def looks_selected(pixels: list[list[int]]) -> bool:
    """Some pixel is (nearly) the selection's accent colour, #6d8cff."""
    return any(abs(r - 0x6D) < 40 and abs(g - 0x8C) < 40 and b > 0xD0 and a > 200 for r, g, b, a in pixels)


def test_a_big_graph_zoomed_out_has_clickable_edges_and_a_zoomable_minimap(page: Page, server: str,
                                                                           tmp_path: Path) -> None:
    open_app(page, server)
    open_zoomed_out(page, tmp_path, "big-edges.json")
    status = page.get_by_test_id("lod-status")

    # The skip edge add49 -> add50 runs straight from (1488, 1137) to (1900, 1137), under fc50 and relu50.
    skip = "add49:out->add50:in"
    x, y = on_screen(page, 1694, 1137)
    page.mouse.move(x, y + 2)  # a couple of pixels off the line still names it
    expect(status).to_have_attribute("data-edge", skip)
    expect(status).to_contain_text("add49 → add50")
    assert not looks_selected(canvas_pixels_near(page, x, y))

    page.mouse.click(x, y + 2)  # selects it, drawn in the accent colour
    expect(status).to_have_attribute("data-selected-edges", "1")
    page.mouse.move(5, 5)  # off the canvas, to see the line: the corner still names the selected edge
    expect(status).to_have_attribute("data-edge", skip)
    eventually(page, lambda: looks_selected(canvas_pixels_near(page, x, y)), "the selected edge is drawn highlighted")
    shot(page, "canvas-zoomed-out-edge-selected")

    page.keyboard.press("Delete")  # removed: nothing there to name or draw
    expect(status).to_have_attribute("data-edge", "")
    page.mouse.move(x, y)
    expect(status).to_have_attribute("data-node", "")
    expect(status).to_have_attribute("data-edge", "")
    page.get_by_test_id("btn-undo").click()  # one step brings it back
    page.mouse.move(x, y + 1)
    expect(status).to_have_attribute("data-edge", skip)

    # A click on the empty pane clears the edge's selection; the view did not move meanwhile.
    before = view(page)
    page.mouse.click(*on_screen(page, 3600, -600))
    expect(status).to_have_attribute("data-selected-edges", "0")
    assert view(page) == before

    # The minimap: the wheel zooms the view (out, here: it stays zoomed out), a click recentres it at that zoom.
    mini = page.get_by_test_id("lod-minimap").bounding_box()
    assert mini is not None
    page.mouse.move(mini["x"] + mini["width"] / 2, mini["y"] + mini["height"] / 2)
    page.mouse.wheel(0, 200)
    page.wait_for_function("z => new DOMMatrixReadOnly(getComputedStyle(document.querySelector("
                           "'.react-flow__viewport')).transform).a < z * 0.9", arg=before[4])
    settle_view(page)
    zoomed = view(page)
    page.mouse.click(mini["x"] + 10, mini["y"] + mini["height"] / 2)
    eventually(page, lambda: view(page)[2] != zoomed[2], "a click on the minimap moves the view")
    assert view(page)[4] == zoomed[4]
