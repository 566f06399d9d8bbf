import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { fieldError, locateErrors } from "../lib/serverErrors";

describe("a 422 sorted to its fields", () => {
  const error = new ApiError("…", 422, [
    { loc: ["body", "config", "epochs"], msg: "Input should be greater than or equal to 1", type: "greater_than_equal" },
    { loc: ["body", "config", "optimizer", "adam", "lr"], msg: "Input should be greater than 0", type: "greater_than" },
    { loc: ["body", "graph", "nodes", "fc"], msg: "Output 'fc' gives 3 class scores", type: "dataset", node: "fc" },
    { loc: ["body", "dataset", "name"], msg: "unknown dataset 'x'", type: "dataset", node: null },
  ]);

  it("gives each field its message, each node its own, and keeps the rest", () => {
    const located = locateErrors(error, ["body", "config"]);
    expect(located.fields.epochs).toBe("Input should be greater than or equal to 1");
    expect(fieldError(located, "optimizer.lr")).toBe("Input should be greater than 0");
    expect(fieldError(located, "optimizer.adam.lr")).toBe("Input should be greater than 0");
    expect(fieldError(located, "batch_size")).toBeUndefined();
    expect(located.nodes).toEqual({ fc: "Output 'fc' gives 3 class scores" });
    expect(located.other).toEqual(["dataset.name: unknown dataset 'x'"]);
  });

  it("keeps a message without locations whole", () => {
    expect(locateErrors(new ApiError("the body is not valid JSON", 422, "the body is not valid JSON"), ["body"]).other).toEqual([
      "the body is not valid JSON",
    ]);
    expect(locateErrors(new Error("offline"), ["body"]).other).toEqual(["offline"]);
  });
});
