"""The canvas as a working tool: every error findable, replacing the canvas undoable, number fields checked as
typed, layers added connected, layout that keeps edges on their handles, the keyboard and the tabs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from test_app import connect, drop, open_app, select, shot

FOUR_ERRORS: dict[str, Any] = {
    "format": "netcanvas.graph/1", "name": "four errors",
    "nodes": [{"id": "x", "type": "Input", "params": {"shape": [8]}, "position": {"x": 0, "y": 0}},
              {"id": "fc", "type": "Linear", "params": {"out_features": 0}, "position": {"x": 260, "y": 0}},
              {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3},
               "position": {"x": 520, "y": 0}},
              {"id": "odd", "type": "Foo", "params": {}, "position": {"x": 780, "y": 0}}],
    "edges": [{"source": "x", "target": "fc"}],
}


def open_file(page: Page, graph: dict[str, Any], tmp_path: Path, name: str = "graph.json") -> None:
    path = tmp_path / name
    path.write_text(json.dumps(graph))
    page.get_by_test_id("file-input").set_input_files(str(path))


def test_every_error_is_listed_and_clicks_through_to_its_node(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    drop(page, "Input", 300, 300)
    # A lone Input: the one error is about the graph as a whole, listed though no node can be red.
    expect(page.get_by_test_id("summary")).to_contain_text("1 error", timeout=10_000)
    page.get_by_test_id("summary-button").click()
    panel = page.get_by_test_id("issues")
    expect(panel).to_contain_text("the graph has no Output node")
    expect(page.get_by_test_id("issue-0")).to_contain_text("graph")

    open_file(page, FOUR_ERRORS, tmp_path)
    expect(page.get_by_test_id("issues-count")).to_have_text("4 errors · 1 warning", timeout=10_000)
    expect(page.get_by_test_id("summary")).to_contain_text("4 errors · 1 warning")
    for text in ["out_features: Input should be greater than or equal to 1", "unknown layer type 'Foo'",
                 "the graph has no Output node", "input port 'in' is not connected", "does not lead to any Output"]:
        expect(panel).to_contain_text(text)
    # Every node an error names is red.
    for node in ["fc", "conv", "odd"]:
        expect(page.get_by_test_id(f"node-{node}")).to_have_class(re.compile(r"\binvalid\b"))
    shot(page, "issues-panel")

    # Clicking an issue selects its node and centres it on the canvas.
    page.get_by_test_id("issues").get_by_text("Conv2d 'conv'").click()
    expect(page.get_by_test_id("node-conv")).to_have_class(re.compile(r"\bselected\b"))
    expect(page.get_by_test_id("inspector-id")).to_have_value("conv")
    canvas = page.get_by_test_id("canvas").bounding_box()
    page.wait_for_function("""() => {
        const c = document.querySelector('[data-testid=canvas]').getBoundingClientRect();
        const n = document.querySelector('[data-testid=node-conv]').getBoundingClientRect();
        return Math.abs(n.x + n.width / 2 - (c.x + c.width / 2)) < 40
            && Math.abs(n.y + n.height / 2 - (c.y + c.height / 2)) < 40; }""")
    assert canvas is not None

    # Fixing an error takes it off the list; Escape closes the panel, the badge opens it again.
    page.get_by_test_id("issues").get_by_text("out_features: Input should be").click()
    expect(page.get_by_test_id("inspector-id")).to_have_value("fc")
    expect(page.get_by_test_id("param-out_features-error")).to_have_text("must be ≥ 1")
    set_param(page, "out_features", "4")
    expect(page.get_by_test_id("issues-count")).to_have_text("3 errors · 2 warnings", timeout=10_000)
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    page.get_by_test_id("summary-button").click()
    expect(panel).to_be_visible()


def set_param(page: Page, name: str, value: str) -> None:
    field = page.get_by_test_id(f"param-{name}")
    field.fill(value)
    field.press("Enter")


def test_replacing_the_canvas_can_be_undone(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    drop(page, "Input", 250, 250)
    drop(page, "Linear", 550, 250)
    page.get_by_test_id("graph-name").fill("my work")

    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    toast = page.get_by_test_id("undo-toast")
    expect(toast).to_contain_text("'my work' was replaced")
    expect(page.get_by_test_id("node-linear")).to_have_count(0)
    toast.get_by_test_id("undo-toast-undo").click()
    expect(page.get_by_test_id("node-linear")).to_be_visible()
    expect(page.get_by_test_id("graph-name")).to_have_value("my work")
    expect(toast).to_have_count(0)

    page.get_by_test_id("btn-new").click()
    expect(page.get_by_test_id("empty-hint")).to_be_visible()
    expect(toast).to_contain_text("Started a new graph; 'my work' was replaced")
    toast.get_by_test_id("undo-toast-undo").click()
    expect(page.get_by_test_id("node-input")).to_be_visible()

    open_file(page, FOUR_ERRORS, tmp_path, "other.json")
    expect(page.get_by_test_id("node-conv")).to_be_visible()
    expect(toast).to_contain_text("Opened other.json; 'my work' was replaced")
    toast.get_by_test_id("undo-toast-undo").click()
    expect(page.get_by_test_id("node-conv")).to_have_count(0)
    expect(page.get_by_test_id("node-linear")).to_be_visible()

    # The empty canvas's "Templates" is a button that opens the gallery.
    page.get_by_test_id("btn-new").click()
    page.get_by_test_id("hint-templates").click()
    expect(page.get_by_test_id("templates")).to_be_visible()


def test_deleting_a_server_graph_can_be_undone(page: Page, server: str) -> None:
    open_app(page, server)
    drop(page, "Input", 250, 250)
    page.get_by_test_id("btn-saved").click()
    page.get_by_test_id("save-name").fill("keep me?")
    page.get_by_test_id("btn-save-server").click()
    row = page.locator("tr", has_text="keep me?")
    expect(row).to_be_visible()
    row.get_by_test_id("btn-delete").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("undo-toast")).to_contain_text("Deleted graph 'keep me?' from the server.")
    page.get_by_test_id("undo-toast-undo").click()
    expect(row).to_be_visible()
    expect(row).to_contain_text("on the canvas")  # still the graph the canvas was saved to

    row.get_by_test_id("btn-delete").click()
    page.get_by_test_id("undo-toast-dismiss").click()  # the offer ends: now the server deletes it
    expect(page.get_by_test_id("undo-toast")).to_have_count(0)
    page.wait_for_function("async () => !(await (await fetch('/api/graphs')).json())"
                           ".some((g) => g.name === 'keep me?')", polling=200, timeout=10_000)
    page.get_by_test_id("save-name").fill("again")
    page.get_by_test_id("btn-save-server").click()
    expect(page.locator("tr", has_text="again")).to_be_visible()
    expect(row).to_have_count(0)


def test_number_fields_are_checked_as_typed(page: Page, server: str) -> None:
    open_app(page, server)
    drop(page, "Input", 200, 250)
    drop(page, "Linear", 500, 250)
    drop(page, "Output", 800, 250)
    connect(page, "input", "linear")
    connect(page, "linear", "output")
    select(page, "linear")
    field = page.get_by_test_id("param-out_features")
    field.fill("")
    field.press_sequentially("-1")
    expect(field).to_have_value("-1")  # not "01"
    expect(page.get_by_test_id("param-out_features-error")).to_contain_text("≥ 1")
    field.fill("")
    field.press_sequentially("1e")
    expect(page.get_by_test_id("param-out_features-error")).to_have_text("not a number yet")
    field.press_sequentially("3")
    expect(field).to_have_value("1e3")  # not "13"
    expect(page.get_by_test_id("param-out_features-error")).to_have_count(0)
    expect(page.get_by_test_id("shape-linear")).to_have_text("1000", timeout=10_000)
    field.fill("2.5")
    expect(page.get_by_test_id("param-out_features-error")).to_have_text("must be a whole number")
    field.fill("12")
    expect(page.get_by_test_id("shape-linear")).to_have_text("12", timeout=10_000)
    field.press("ArrowUp")
    expect(field).to_have_value("13")
    expect(page.get_by_test_id("shape-linear")).to_have_text("13", timeout=10_000)
    shot(page, "number-field")


def test_double_click_adds_connected_layers_and_paste_lands_at_the_pointer(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("palette-Input").dblclick()
    expect(page.get_by_test_id("node-input")).to_be_visible()
    page.get_by_test_id("palette-Linear").dblclick()
    page.get_by_test_id("palette-Dropout").dblclick()
    page.get_by_test_id("palette-Output").dblclick()
    # Each one after the previous, connected: the chain validates to the end.
    expect(page.get_by_test_id("shape-output")).to_have_text("64", timeout=10_000)
    expect(page.get_by_test_id("summary")).to_contain_text("valid")
    # Side by side, not stacked (the view follows the chain, so the first nodes may be out of view: read the
    # positions from the saved graph).
    page.wait_for_function("(JSON.parse(localStorage.getItem('netcanvas.graph')) || {nodes: []}).nodes.length === 4")
    saved = page.evaluate("JSON.parse(localStorage.getItem('netcanvas.graph'))")
    at = {n["id"]: n["position"] for n in saved["nodes"]}
    chain = [at[n] for n in ["input", "linear", "dropout", "output"]]
    for a, b in zip(chain, chain[1:], strict=False):
        assert b["x"] >= a["x"] + 188 or b["y"] >= a["y"] + 60, f"nodes overlap: {chain}"

    select(page, "dropout")
    page.keyboard.press("Control+c")
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas is not None
    page.mouse.move(canvas["x"] + 120, canvas["y"] + canvas["height"] - 180)
    page.keyboard.press("Control+v")
    pasted = page.get_by_test_id("node-dropout_2")
    expect(pasted).to_be_visible()
    box = pasted.bounding_box()
    assert box is not None
    assert abs(box["x"] - (canvas["x"] + 120)) < 8 and abs(box["y"] - (canvas["y"] + canvas["height"] - 180)) < 8


EDGE_AT_HANDLE = """([edge, handle]) => {
    const path = document.querySelector(`[data-testid="edge-${edge}"]`);
    const h = document.querySelector(`[data-testid="${handle}"]`).getBoundingClientRect();
    const p = path.getPointAtLength(0).matrixTransform(path.getScreenCTM());
    return Math.abs(p.x - (h.x + h.width / 2)) < 6 && Math.abs(p.y - (h.y + h.height / 2)) < 6; }"""
"""Does the edge's drawn path start at the centre of the handle (both as on screen)?"""


def test_auto_layout_moves_edges_with_the_handles(page: Page, server: str) -> None:
    open_app(page, server)
    # Built left to right, then laid out top to bottom (a chain reads best downwards on this canvas).
    drop(page, "Input", 150, 200)
    drop(page, "Linear", 420, 200)
    drop(page, "Output", 690, 200)
    connect(page, "input", "linear")
    connect(page, "linear", "output")
    expect(page.get_by_test_id("shape-output")).to_have_text("64", timeout=10_000)
    edge = ["input:out->linear:in", "handle-input-out-out"]
    assert page.evaluate(EDGE_AT_HANDLE, edge)
    page.get_by_test_id("btn-layout").click()
    expect(page.locator(".react-flow__handle-bottom[data-testid=handle-input-out-out]")).to_have_count(1)
    page.wait_for_function(EDGE_AT_HANDLE, arg=edge)
    shot(page, "auto-layout")


def test_ctrl_s_saves_on_the_server(page: Page, server: str) -> None:
    open_app(page, server)
    drop(page, "Input", 250, 250)
    page.get_by_test_id("graph-name").fill("saved by keyboard")
    page.get_by_test_id("canvas").click(position={"x": 600, "y": 500})
    page.keyboard.press("Control+s")  # not saved yet: the dialog asks for a name
    expect(page.get_by_test_id("saved-graphs")).to_be_visible()
    page.get_by_test_id("btn-save-server").click()
    expect(page.locator("tr", has_text="saved by keyboard")).to_be_visible()
    page.get_by_test_id("saved-graphs").get_by_role("button", name="Close").click()
    drop(page, "Linear", 550, 250)
    page.keyboard.press("Control+s")  # saved: Ctrl+S updates it in place, no dialog
    expect(page.get_by_test_id("notice")).to_have_text("Saved 'saved by keyboard' on the server")
    expect(page.get_by_test_id("saved-graphs")).to_have_count(0)
    page.get_by_test_id("btn-saved").click()
    expect(page.locator("tr", has_text="saved by keyboard").locator("td").nth(1)).to_have_text("2")


def test_a_refused_training_setting_is_named_under_its_field(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("summary")).to_contain_text("valid", timeout=10_000)
    page.get_by_test_id("tab-train").click()
    epochs = page.get_by_test_id("cfg-epochs")
    epochs.fill("")
    epochs.press_sequentially("-1")
    expect(epochs).to_have_value("-1")
    expect(page.get_by_test_id("cfg-epochs-error")).to_have_text("must be ≥ 1")
    epochs.fill("")
    epochs.press_sequentially("1e9")
    expect(epochs).to_have_value("1e9")
    expect(page.get_by_test_id("cfg-epochs-error")).to_have_count(0)
    page.get_by_test_id("btn-train").click()  # past the server's limit: its 422 names config.epochs
    expect(page.get_by_test_id("cfg-epochs-error")).to_contain_text("less than or equal to 100000")
    epochs.fill("3")
    expect(page.get_by_test_id("cfg-epochs-error")).to_have_count(0)


def test_the_train_panel_leads_to_the_issues(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("summary")).to_contain_text("valid", timeout=10_000)
    output = page.locator(".react-flow__node", has=page.locator(".layer-type", has_text=re.compile("^Output$")))
    output.click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("summary")).to_contain_text("1 error", timeout=10_000)
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("train-show-issues").click()
    expect(page.get_by_test_id("issues")).to_contain_text("the graph has no Output node")


def long_chain(length: int) -> dict[str, Any]:
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [8]}, "position": {"x": 0, "y": 0}}]
    nodes += [{"id": f"fc{i}", "type": "Linear", "params": {"out_features": 8}, "position": {"x": 260 * i, "y": 0}}
              for i in range(1, length)]
    nodes.append({"id": "y", "type": "Output", "position": {"x": 260 * length, "y": 0}})
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"format": "netcanvas.graph/1", "name": "long chain", "nodes": nodes, "edges": edges}


def settle_view(page: Page) -> None:
    """Wait until the canvas stops moving: an opened graph is moved into view once React Flow has measured its
    nodes (late on a loaded machine), and the nodes drawn change with the view."""
    transform = "() => document.querySelector('.react-flow__viewport').style.transform"
    last, still = page.evaluate(transform), 0
    for _ in range(80):
        page.wait_for_timeout(250)
        now = page.evaluate(transform)
        still = still + 1 if now == last else 0
        if still == 6:  # unchanged for 1.5 s: longer than the wait for measurements plus the 200 ms move
            return
        last = now
    raise AssertionError("the canvas kept moving for 20 s")


EDGE_END = """(edge) => {
    const path = document.querySelector(`[data-testid="edge-${edge}"]`);
    if (!path) return null;
    const p = path.getPointAtLength(path.getTotalLength());
    return [p.x, p.y]; }"""
"""Where an edge's path ends, in flow coordinates (the SVG's own)."""


def test_a_big_graph_draws_only_what_is_in_view_with_edges_where_the_handles_will_be(page: Page, server: str,
                                                                                     tmp_path: Path) -> None:
    open_app(page, server)
    open_file(page, long_chain(320), tmp_path, "chain.json")  # big enough to be drawn in part (CULL_FROM)
    expect(page.get_by_test_id("node-x")).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text("valid", timeout=20_000)
    settle_view(page)
    drawn = page.locator(".react-flow__node").count()
    assert 0 < drawn < 30, f"{drawn} of 321 nodes drawn: those out of view should not be"
    # An edge into a node not drawn yet ends about where that node's handle will be once drawn and measured.
    ids = page.locator(".react-flow__node").evaluate_all("(ns) => ns.map((n) => n.dataset.id)")
    last = max(int(i[2:]) for i in ids if i.startswith("fc"))
    target = f"fc{last + 1}"
    edge = f"fc{last}:out->{target}:in"
    expect(page.get_by_test_id(f"node-{target}")).to_have_count(0)
    before = page.evaluate(EDGE_END, edge)
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas is not None
    y = canvas["y"] + canvas["height"] / 2 + 100  # below the chain: dragging the empty pane pans the view
    page.mouse.move(canvas["x"] + 700, y)
    page.mouse.down()
    page.mouse.move(canvas["x"] + 200, y, steps=10)
    page.mouse.up()
    expect(page.get_by_test_id(f"node-{target}")).to_be_attached()
    page.wait_for_function(f"""() => {{
        const p = ({EDGE_END})("{edge}");
        const h = document.querySelector('[data-testid="handle-{target}-in-in"]');
        if (!p || !h) return false;
        const path = document.querySelector('[data-testid="edge-{edge}"]');
        const r = h.getBoundingClientRect(), m = path.getScreenCTM();
        const end = new DOMPoint(p[0], p[1]).matrixTransform(m);
        return Math.abs(end.x - r.x) < 2 && Math.abs(end.y - (r.y + r.height / 2)) < 2; }}""")  # a left handle's edge
    after = page.evaluate(EDGE_END, edge)
    assert before is not None and after is not None
    # Estimated for a node of the default size: off by the difference in height at most (a few px).
    assert abs(before[0] - after[0]) < 2 and abs(before[1] - after[1]) < 6, (before, after)


def test_edge_labels_between_close_nodes_are_not_hidden(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    close = {"format": "netcanvas.graph/1", "name": "close", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [12345]}, "position": {"x": 0, "y": 0}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 3}, "position": {"x": 200, "y": 0}},
        {"id": "y", "type": "Output", "position": {"x": 400, "y": 0}}],
        "edges": [{"source": "x", "target": "fc"}, {"source": "fc", "target": "y"}]}
    open_file(page, close, tmp_path, "close.json")
    label = page.locator(".edge-label span", has_text=re.compile("^12345$"))
    expect(label).to_be_visible(timeout=10_000)
    page.add_style_tag(content=".edge-label span { pointer-events: auto !important; }")  # let hit tests find it
    # The label is wider than the 12 px between the nodes: its ends lie over them, and show.
    assert page.evaluate("""() => {
        const label = [...document.querySelectorAll('.edge-label span')].find((s) => s.textContent === '12345');
        const r = label.getBoundingClientRect(), y = r.y + r.height / 2;
        const at = (x) => document.elementFromPoint(x, y) === label;
        return at(r.x + 3) && at(r.right - 3); }""")


def test_a_node_with_several_errors_says_how_many_more(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    graph = {"format": "netcanvas.graph/1", "name": "two on one", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}, "position": {"x": 0, "y": 0}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 0}, "position": {"x": 260, "y": 0}},
        {"id": "y", "type": "Output", "position": {"x": 520, "y": 0}}],
        "edges": [{"source": "fc", "target": "y"}]}  # fc: a bad param and an unconnected input
    open_file(page, graph, tmp_path, "two.json")
    expect(page.get_by_test_id("error-fc")).to_contain_text("(+1 more in the issues)", timeout=10_000)
    page.get_by_test_id("summary-button").click()
    expect(page.get_by_test_id("issues").locator(".issue-where", has_text=re.compile("^fc$"))).to_have_count(2)
