import { describe, expect, it } from "vitest";
import type { NodeJSON } from "../api/client";
import { bindings } from "../lib/binding";
import type { LayerNode } from "../lib/graph";
import { boolParam, numParam, oneOf, paramsOf, shapeParam, strParam } from "../lib/params";

const json = (params?: Record<string, unknown>): NodeJSON => ({ id: "n", type: "Input", params });
const canvas = (params: Record<string, unknown>): LayerNode => ({ id: "n", type: "layer", position: { x: 0, y: 0 }, data: { type: "Input", params } });

describe("node param accessors", () => {
  it("read a graph JSON node and a canvas node alike", () => {
    expect(paramsOf(json({ units: 3 }))).toEqual({ units: 3 });
    expect(paramsOf(json())).toEqual({});
    expect(numParam(json({ units: 3 }), "units", 0)).toBe(3);
    expect(numParam(canvas({ units: 3 }), "units", 0)).toBe(3);
  });

  it("answer the fallback for a missing param or one of another type", () => {
    const node = canvas({ n: "12", f: Number.NaN, inf: Number.POSITIVE_INFINITY, b: 1, s: 5, flag: "true", none: null });
    expect(numParam(node, "n", 7)).toBe(7); // a string is not a number, even one that reads as one
    expect(numParam(node, "f", 7)).toBe(7);
    expect(numParam(node, "inf", null)).toBeNull();
    expect(numParam(node, "missing", undefined)).toBeUndefined();
    expect(boolParam(node, "b", false)).toBe(false); // 1 is not true
    expect(boolParam(canvas({ bias: true }), "bias", false)).toBe(true);
    expect(strParam(node, "s", "float32")).toBe("float32");
    expect(strParam(canvas({ dtype: "int64" }), "dtype", "float32")).toBe("int64");
    expect(strParam(node, "none", "x")).toBe("x");
  });

  it("read a shape: whole sizes and null for a dynamic axis, else the fallback", () => {
    expect(shapeParam(canvas({ shape: [1, 28, 28] }), "shape", [])).toEqual([1, 28, 28]);
    expect(shapeParam(canvas({ shape: [null, 16] }), "shape", [])).toEqual([null, 16]);
    expect(shapeParam(canvas({ shape: [] }), "shape", [4])).toEqual([]);
    for (const bad of [[1.5], [-1], ["4"], [[2]], "4", 4, { 0: 4 }]) {
      expect(shapeParam(canvas({ shape: bad }), "shape", [4])).toEqual([4]);
    }
  });

  it("narrow a value to one of the choices", () => {
    const modes: ("auto" | "min" | "max")[] = ["auto", "min", "max"];
    expect(oneOf("min", modes, "auto")).toBe("min");
    expect(oneOf("median", modes, "auto")).toBe("auto");
    expect(oneOf(undefined, modes, "max")).toBe("max");
  });

  it("let the binding report a malformed Input shape instead of failing on it", () => {
    const field = { name: "x", role: "input" as const, shape: [4], dtype: "float32" };
    const good = bindings([canvas({ shape: [4] })], { fields: [field] });
    expect(good[0].problem).toBeNull();
    const bad = bindings([canvas({ shape: "4", dtype: 3 })], { fields: [field] });
    expect(bad[0].problem).toBe("expects [] float32, the field is [4] float32");
  });
});
