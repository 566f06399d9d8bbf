// The runs list names what a run trained on: an upload by its file name, not its id.
import { describe, expect, it } from "vitest";
import { datasetName } from "../panels/RunsPanel";

describe("datasetName", () => {
  const uploads = [{ id: "e96fb941c1ee", name: "mine.csv" }];
  it("is a built-in dataset's name or an upload's file name", () => {
    expect(datasetName({ name: "iris" }, uploads)).toBe("iris");
    expect(datasetName({ id: "e96fb941c1ee", target: ["bought"] }, uploads)).toBe("mine.csv");
  });
  it("is the upload's id when the upload is gone", () => {
    expect(datasetName({ id: "0123456789ab" }, uploads)).toBe("0123456789ab");
  });
});
