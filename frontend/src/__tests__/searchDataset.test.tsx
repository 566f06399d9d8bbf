// A search (and an ensemble) trains on what a run of the Train tab would: the chosen upload, not the built-in dataset
// the Train tab shows under it (a study on mine.csv was sent as "iris" and refused: Input expects [5], iris is [4]).
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { client } from "../api/client";
import { SearchTab } from "../panels/SearchTab";
import { StartForm } from "../panels/runs/Ensembles";
import { type Upload, useDatasets } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useTrain } from "../stores/train";
import { mountPerTest } from "./mount";

const mine = { id: "u1", name: "mine.csv" } as Upload;

describe("the dataset of a search and an ensemble", () => {
  const view = mountPerTest();
  afterEach(() => {
    vi.restoreAllMocks();
    act(() => {
      useDatasets.setState({ uploads: [], chosen: null });
      useGraph.getState().reset();
    });
  });

  const posted = async (button: string) => {
    const post = vi.spyOn(client, "POST").mockResolvedValue({ data: { id: "s1" }, response: new Response() } as never);
    vi.spyOn(client, "GET").mockResolvedValue({ data: [], response: new Response() } as never);
    await act(async () => view.host.querySelector<HTMLButtonElement>(`[data-testid="${button}"]`)!.click());
    expect(post).toHaveBeenCalled();
    return (post.mock.calls[0][1] as { body: { dataset: Record<string, unknown> } }).body.dataset;
  };

  it("is the chosen upload, named in the form", async () => {
    useTrain.getState().setDataset("iris");
    useDatasets.setState({ uploads: [mine], chosen: "u1" });
    useGraph.getState().setMark("config.optimizer.lr", { type: "float", low: 0.001, high: 0.1, log: true });
    vi.spyOn(client, "GET").mockResolvedValue({ data: [], response: new Response() } as never);
    await act(async () => view.root.render(<ReactFlowProvider><SearchTab onOpen={() => {}} /></ReactFlowProvider>));
    expect(view.host.querySelector('[data-testid="search-form"]')!.textContent).toContain("On mine.csv with");
    expect(await posted("search-start")).toMatchObject({ id: "u1" });

    vi.restoreAllMocks();
    await act(async () => view.root.render(<StartForm onStarted={() => {}} />));
    expect(view.host.querySelector('[data-testid="ensemble-form"]')!.textContent).toContain("on mine.csv with");
    expect(await posted("ensemble-start")).toMatchObject({ id: "u1" });
  });

  it("is the built-in dataset when no upload is chosen", async () => {
    useTrain.getState().setDataset("iris");
    useGraph.getState().setMark("config.optimizer.lr", { type: "float", low: 0.001, high: 0.1, log: true });
    vi.spyOn(client, "GET").mockResolvedValue({ data: [], response: new Response() } as never);
    await act(async () => view.root.render(<ReactFlowProvider><SearchTab onOpen={() => {}} /></ReactFlowProvider>));
    expect(view.host.querySelector('[data-testid="search-form"]')!.textContent).toContain("On iris with");
    expect(await posted("search-start")).toEqual({ name: "iris" });
  });
});
