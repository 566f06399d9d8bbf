// The Data tab's Columns table, "values": an integer feature with many values (an age) reads as a range, not a list
// of every value one per line down the whole tab.
import { describe, expect, it } from "vitest";
import { columnValues } from "../panels/DataTab";

const ages = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [String(18 + i), 2]));

describe("columnValues", () => {
  it("gives an integer column with many values its range and mean", () => {
    const age = { name: "age", dtype: "numeric", missing: 0, min: 18, max: 62, mean: 41.5, distinct: 45, classes: ages };
    expect(columnValues(age)).toBe("18 … 62, mean 41.5");
  });

  it("lists few classes with their counts", () => {
    expect(columnValues({ name: "bought", dtype: "numeric", missing: 0, min: 0, max: 1, mean: 0.8, distinct: 2, classes: { "0": 24, "1": 96 } })).toBe(
      "0 (24), 1 (96)",
    );
    expect(columnValues({ name: "city", dtype: "categorical", missing: 0, distinct: 3, classes: { a: 48, b: 33, c: 39 } })).toBe("a (48), b (33), c (39)");
  });

  it("shortens many categories to the first few and their number", () => {
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`c${i}`, 1]));
    expect(columnValues({ name: "code", dtype: "categorical", missing: 0, distinct: 30, classes: many })).toBe(
      "c0 (1), c1 (1), c2 (1), c3 (1), c4 (1), c5 (1), c6 (1), c7 (1), … 30 distinct",
    );
  });

  it("says a float column's range, an array's shape, a text column's distinct count", () => {
    expect(columnValues({ name: "income", dtype: "numeric", missing: 0, min: 20.5, max: 120, mean: 66.25 })).toBe("20.5 … 120, mean 66.25");
    expect(columnValues({ name: "x", dtype: "array", missing: 0, shape: [8, 8] })).toBe("[8, 8]");
    expect(columnValues({ name: "review", dtype: "text", missing: 0, distinct: 120 })).toBe("120 distinct");
  });
});
