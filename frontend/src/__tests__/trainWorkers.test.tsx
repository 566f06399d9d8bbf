// The Train panel's data-parallel `workers` field: shown where the server's executor is Ray (GET /api/catalog says
// which), checked as typed against the config schema's bounds, the server's 422 under it.
import { act } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError, type Catalog } from "../api/client";
import { refusedConfig } from "../lib/serverErrors";
import { TrainSettings } from "../panels/TrainSettings";
import { useDatasets } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { defaultConfig, useTrain } from "../stores/train";
import { mountPerTest, typeInto } from "./mount";

const WORKERS = { type: "integer", minimum: 1, maximum: 64, default: 1, description: "Data-parallel workers" };

function catalogOf(executor: "local" | "ray"): Catalog {
  return {
    layers: [],
    optimizers: [{ type: "adam", doc: "Adam", params_schema: { properties: {} } }],
    schedules: [],
    losses: [{ type: "mse", doc: "" }],
    metrics: [],
    datasets: [{ name: "iris", doc: "", task: "classification", size: 150, fields: [], samples: {}, vocabulary_size: null }],
    devices: [],
    config_schema: { properties: { workers: WORKERS } },
    executor,
  } as unknown as Catalog;
}

describe("workers in the Train panel", () => {
  const view = mountPerTest();
  beforeEach(() => {
    useTrain.setState({ dataset: "iris", config: defaultConfig() });
    useGraph.setState({ nodes: [], edges: [], past: [], future: [] });
    useDatasets.setState({ chosen: null, uploads: [] });
    refusedConfig(null, null);
  });

  const show = (executor: "local" | "ray") => act(() => view.root.render(<TrainSettings catalog={catalogOf(executor)} />));
  const field = () => view.host.querySelector<HTMLInputElement>('[data-testid="cfg-workers"]');
  const problem = () => view.host.querySelector('[data-testid="cfg-workers-error"]')?.textContent ?? null;
  const type = (text: string) => typeInto(field()!, text);

  it("is not offered where runs train on the local executor", () => {
    show("local");
    expect(view.host.querySelector('[data-testid="cfg-epochs"]')).not.toBeNull();
    expect(field()).toBeNull();
  });

  it("is offered on a Ray server, checked against the schema's bounds as typed", () => {
    show("ray");
    expect(field()?.value).toBe("1");
    type("4");
    expect(useTrain.getState().config.workers).toBe(4);
    expect(problem()).toBeNull();
    type("65");
    expect(problem()).toBe("must be ≤ 64");
    type("2.5");
    expect(problem()).toBe("must be a whole number");
    type("0");
    expect(problem()).toBe("must be ≥ 1");
  });

  it("shows on a local server a config that asks for workers, with the server's refusal under it", () => {
    useTrain.getState().patch({ workers: 2 }); // a config taken from a run that trained on Ray
    const refusal = "data-parallel training (workers > 1) needs NETCANVAS_EXECUTOR=ray";
    refusedConfig(new ApiError(refusal, 422, [{ loc: ["body", "config", "workers"], msg: refusal, node: null }]),
      useTrain.getState().config);
    show("local");
    expect(field()?.value).toBe("2");
    expect(problem()).toBe(refusal);
    type("1");
    expect(useTrain.getState().config.workers).toBe(1);
    expect(field()).toBeNull(); // nothing left that this server cannot do
  });
});
