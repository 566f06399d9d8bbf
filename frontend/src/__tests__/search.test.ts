import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { fromGraphJSON, toGraphJSON } from "../lib/graph";
import { markedParams, pruneSpace, renameInSpace } from "../lib/search";
import { useGraph } from "../stores/graph";
import { problemsByField } from "../stores/studies";
import { tunable } from "../panels/TuneMarks";

const lr = { type: "float" as const, low: 1e-4, high: 0.1, log: true };
const width = { type: "int" as const, low: 16, high: 64 };

describe("search marks", () => {
  beforeEach(() => {
    useGraph.getState().reset();
    useGraph.setState({ past: [], future: [] });
  });

  it("are saved in the graph's search, renamed with their node and dropped with it", () => {
    const id = useGraph.getState().addNode("Linear", { out_features: 32 }, { x: 0, y: 0 });
    useGraph.getState().setMark(`nodes.${id}.out_features`, width);
    useGraph.getState().setMark("config.optimizer.lr", lr);
    expect(useGraph.getState().toJSON()).toMatchObject({ search: { [`nodes.${id}.out_features`]: width, "config.optimizer.lr": lr } });
    useGraph.getState().rename(id, "fc1");
    expect(markedParams(useGraph.getState().search, "fc1")).toEqual(["out_features"]);
    const back = fromGraphJSON(toGraphJSON(useGraph.getState()));
    expect(back.search["nodes.fc1.out_features"]).toEqual(width);
    expect(pruneSpace(back.search, [])).toEqual({ "config.optimizer.lr": lr });
    expect(renameInSpace({ "nodes.a.b.p": width }, "a", "z")).toEqual({ "nodes.a.b.p": width });
  });

  it("are undone and redone like any edit", () => {
    useGraph.getState().setMark("config.optimizer.lr", lr);
    useGraph.getState().undo();
    expect(useGraph.getState().search).toEqual({});
    useGraph.getState().redo();
    expect(useGraph.getState().search).toEqual({ "config.optimizer.lr": lr });
    expect(toGraphJSON({ ...useGraph.getState(), search: {} })).not.toHaveProperty("search");
  });

  it("fit numbers, integers and choices, not text", () => {
    expect(tunable({ type: "integer" })).toEqual({ kind: "int", options: null });
    expect(tunable({ anyOf: [{ type: "number" }, { type: "null" }] })).toEqual({ kind: "float", options: null });
    expect(tunable({ enum: ["relu", "gelu"] })).toEqual({ kind: "categorical", options: ["relu", "gelu"] });
    expect(tunable({ type: "boolean" })).toEqual({ kind: "categorical", options: [true, false] });
    expect(tunable({ type: "string" })).toBeNull();
  });
});

describe("a refused study", () => {
  it("puts each problem next to its field", () => {
    const error = new ApiError("422", 422, [
      { loc: ["body", "space", "nodes.fc9.out_features"], msg: "the graph has no node 'fc9'" },
      { loc: ["body", "trials"], msg: "too few" },
      { loc: ["body", "graph", "search", "config.epochs"], msg: "low > high" },
      { loc: ["body", "dataset", "name"], msg: "unknown dataset" },
    ]);
    expect(problemsByField(error)).toEqual({
      "nodes.fc9.out_features": "the graph has no node 'fc9'",
      trials: "too few",
      "config.epochs": "low > high",
      "": "dataset.name: unknown dataset",
    });
  });
});
