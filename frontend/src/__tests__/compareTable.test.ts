// The comparison table's "last" column: a run still going shows its latest epoch's value marked as such, not "—"
// or a value that reads as final.
import { describe, expect, it } from "vitest";
import { configDifferences, readableDataset, shortValue } from "../lib/compare";
import { lastValue } from "../panels/runs/Compare";

const epoch = (n: number, metrics: Record<string, number | null>) => ({ epoch: n, lr: 0.01, seconds: 1, metrics });
const history = [epoch(1, { val_accuracy: 0.8, loss: 1 }), epoch(2, { val_accuracy: 0.9, loss: 0.5 }), epoch(3, { loss: 0.4, val_accuracy: null })];

describe("lastValue", () => {
  it("marks a running or paused run's value with the epoch it is from", () => {
    expect(lastValue({ status: "running", history }, "loss")).toEqual({ value: "0.4000", note: "(epoch 3…)" });
    expect(lastValue({ status: "running", history }, "val_accuracy")).toEqual({ value: "0.9000", note: "(epoch 2…)" });
    expect(lastValue({ status: "paused", history }, "loss")).toEqual({ value: "0.4000", note: "(epoch 3…)" });
  });

  it("shows a finished run's value as it is", () => {
    expect(lastValue({ status: "completed", history }, "loss")).toEqual({ value: "0.4000", note: null });
    expect(lastValue({ status: "stopped", history }, "val_accuracy")).toEqual({ value: "0.9000", note: null });
  });

  it("says why there is no value yet", () => {
    expect(lastValue({ status: "queued", history: [] }, "loss")).toEqual({ value: "queued", note: null });
    expect(lastValue({ status: "running", history: [] }, "loss")).toEqual({ value: "running", note: null });
    expect(lastValue({ status: "failed", history: [] }, "loss")).toEqual({ value: "—", note: null });
  });
});

describe("shortValue", () => {
  it("keeps a short value whole", () => {
    expect(shortValue("0.01")).toBe("0.01");
    expect(shortValue("[3,5]")).toBe("[3,5]");
  });

  it("shortens a long list to its start and its length (a bagging member's bootstrap rows)", () => {
    const rows = JSON.stringify(Array.from({ length: 96 }, (_, i) => i * 3));
    const short = shortValue(rows);
    expect(short).toBe("[0,3,6,9,12,15,18,21,24,27,30,… 96 items]");
    expect(short.length).toBeLessThan(45);
  });

  it("shortens long text", () => {
    expect(shortValue("x".repeat(60))).toBe(`${"x".repeat(32)}…`);
  });
});

describe("readableDataset", () => {
  const uploads = [{ id: "3f2a9c1e77d04b1a", name: "shop.csv" }, { id: "9b0c44aa12ef9e01", name: "shop.csv" }];

  it("names an upload by its file, not its hash, and still tells two of one name apart", () => {
    const rows = configDifferences([{ dataset: readableDataset({ id: "3f2a9c1e77d04b1a", target: "plan" }, uploads) },
                                    { dataset: readableDataset({ id: "9b0c44aa12ef9e01", target: "plan" }, uploads) }]);
    expect(rows).toEqual([{ path: "dataset.id", values: ["shop.csv (3f2a9c1e)", "shop.csv (9b0c44aa)"] }]);
  });

  it("leaves a built-in dataset and an upload it does not know (deleted since) as they are", () => {
    expect(readableDataset({ name: "iris" }, uploads)).toEqual({ name: "iris" });
    expect(readableDataset({ id: "gone" }, uploads)).toEqual({ id: "gone" });
  });
});
