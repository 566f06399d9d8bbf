import { beforeEach, describe, expect, it } from "vitest";
import { toggleFrozen } from "../panels/train/StartFromRun";
import { useGraph } from "../stores/graph";
import { defaultConfig, useTrain } from "../stores/train";

describe("frozen nodes in the training config", () => {
  beforeEach(() => {
    useTrain.setState({ config: defaultConfig() });
    useGraph.setState({ nodes: [], edges: [], past: [], future: [], name: "t", validation: null });
  });

  it("locks and unlocks a node in config.init.freeze, dropping an init that does nothing", () => {
    toggleFrozen("conv1");
    toggleFrozen("bn1");
    expect(useTrain.getState().config.init).toEqual({ freeze: ["conv1", "bn1"] });
    toggleFrozen("conv1");
    expect(useTrain.getState().config.init).toEqual({ freeze: ["bn1"] });
    toggleFrozen("bn1");
    expect(useTrain.getState().config.init).toBeNull();
  });

  it("keeps the source run when the last lock goes", () => {
    useTrain.getState().patch({ init: { run: "abc123", freeze: ["c1"] } });
    toggleFrozen("c1");
    expect(useTrain.getState().config.init).toEqual({ run: "abc123", freeze: [] });
  });

  it("keeps a renamed node frozen under its new id", () => {
    const id = useGraph.getState().addNode("Linear", { out_features: 3 }, { x: 0, y: 0 });
    toggleFrozen(id);
    expect(useGraph.getState().rename(id, "head")).toBeNull();
    expect(useTrain.getState().config.init?.freeze).toEqual(["head"]);
  });
});
