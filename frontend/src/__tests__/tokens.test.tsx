// Text samples with their tokens: the Data tab's upload view and the built-in text set's samples as words.
import { act } from "react";
import { describe, expect, it } from "vitest";
import type { DatasetInfo } from "../api/client";
import { DatasetView, TokenSamples } from "../panels/DatasetView";
import { mountPerTest } from "./mount";

const view = mountPerTest();

describe("TokenSamples", () => {
  it("shows each text, one chip per token with its id, unknown tokens marked and the cut count", () => {
    act(() =>
      view.root.render(
        <TokenSamples
          samples={[
            { text: "Great fun film", tokens: ["great", "fun", "film"], ids: [5, 9, 7], cut: 0 },
            { text: "a rare word and more", tokens: ["a", "[UNK]"], ids: [4, 1], cut: 3 },
          ]}
        />,
      ),
    );
    const samples = view.host.querySelectorAll(".token-sample");
    expect(samples).toHaveLength(2);
    expect(samples[0].querySelector(".token-text")?.textContent).toBe("Great fun film");
    const chips = [...samples[0].querySelectorAll(".token")];
    expect(chips.map((c) => c.textContent)).toEqual(["great", "fun", "film"]);
    expect(chips.map((c) => c.getAttribute("title"))).toEqual(["id 5", "id 9", "id 7"]);
    expect(samples[0].textContent).not.toContain("cut");
    expect(samples[1].querySelector(".token.unknown")?.textContent).toBe("[UNK]");
    expect(samples[1].textContent).toContain("+3 cut");
  });

  it("renders nothing without samples", () => {
    act(() => view.root.render(<TokenSamples samples={[]} />));
    expect(view.host.querySelector("[data-testid=token-samples]")).toBeNull();
  });
});

describe("DatasetView", () => {
  it("shows a built-in text set's token ids as words", () => {
    const dataset = {
      name: "text",
      doc: "reviews",
      task: "classification",
      size: 2,
      fields: [
        { name: "x", shape: [4], dtype: "int64", role: "input", classes: null, doc: "" },
        { name: "y", shape: [], dtype: "int64", role: "target", classes: ["neg", "pos"], doc: "" },
      ],
      samples: { x: [[3, 4, 0, 0]], y: [1] },
      vocabulary_size: 10,
      tokens: { x: [["the", "movie"]] },
    } as DatasetInfo;
    act(() => view.root.render(<DatasetView dataset={dataset} />));
    const section = view.host.querySelector("[data-testid=token-samples]");
    expect(section?.querySelector("h4")?.textContent).toBe("x as words");
    expect([...(section?.querySelectorAll(".token") ?? [])].map((c) => c.textContent)).toEqual(["the", "movie"]);
  });
});
