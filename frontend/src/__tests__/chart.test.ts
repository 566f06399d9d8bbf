// The loss chart's per-batch line: drawn as a line where its samples are dense, as dots where they lie epochs apart.
import { describe, expect, it } from "vitest";
import { type Line, sparse } from "../panels/Chart";

const batch = (x: number[]): Line => ({ label: "batch", x, y: x.map(() => 0.5), color: "#6d8cff", faint: true });

describe("per-batch samples", () => {
  it("a short run's few samples, epochs apart, are dots: no line cutting across the epochs", () => {
    expect(sparse(batch([0.2, 10.6]))).toBe(true);
    expect(sparse(batch([0.2, 3.1, 6.4, 9.9]))).toBe(true);
  });

  it("several samples per epoch are a line, as is a single sample's start", () => {
    expect(sparse(batch([0.1, 0.4, 0.7, 1.0, 1.3, 1.6, 1.9, 2.2]))).toBe(false);
    expect(sparse(batch([0.3]))).toBe(false);
    expect(sparse(batch([]))).toBe(false);
  });

  it("epoch lines are never dots", () => {
    expect(sparse({ label: "train", x: [1, 20], y: [1, 0], color: "#6d8cff" })).toBe(false);
  });
});
