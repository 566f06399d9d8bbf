// The training settings of the Train panel: dataset and config (docs/training-config.md), kept across reloads.
import { create } from "zustand";
import { persist } from "zustand/middleware";
import type { Schemas } from "../api/client";
import { renameListeners } from "./graph";

/** A training config as the server takes it (docs/training-config.md): the generated schema, where a field the server
 * has a default for may be left out. */
export type TrainConfig = Schemas["TrainConfig"];

/** The panel's config: the settings it shows are always set (the defaults below, then what was chosen over them). */
export type PanelConfig = TrainConfig &
  Required<Pick<TrainConfig, "optimizer" | "loss" | "metrics" | "epochs" | "batch_size" | "seed" | "validation_split" | "regularization" | "early_stopping">>;

export const defaultConfig = (): PanelConfig => ({
  optimizer: { type: "adam", lr: 0.001 },
  loss: "sparse_categorical_crossentropy",
  metrics: ["accuracy"],
  epochs: 20,
  batch_size: 32,
  seed: 0,
  validation_split: 0.2,
  regularization: { l1: 0, l2: 0 },
  early_stopping: null,
});

type TrainState = {
  dataset: string;
  config: PanelConfig;
  setDataset: (name: string) => void;
  /** A whole config (a template's, a run's): the panel's defaults fill what it leaves out. */
  setConfig: (config: TrainConfig) => void;
  patch: (part: Partial<PanelConfig>) => void;
};

export const useTrain = create<TrainState>()(
  persist(
    (set, get) => ({
      dataset: "iris",
      config: defaultConfig(),
      setDataset: (dataset) => set({ dataset }),
      setConfig: (config) => set({ config: { ...defaultConfig(), ...config } }),
      patch: (part) => set({ config: { ...get().config, ...part } }),
    }),
    { name: "netcanvas.train" },
  ),
);

/** Renaming an Output renames its entries in per-output losses and metrics. */
function renameKey<T>(value: T, from: string, to: string): T {
  if (!value || typeof value !== "object" || Array.isArray(value) || !(from in value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === from ? to : k, v])) as T;
}

renameListeners.add((from, to) => {
  const { config, setConfig } = useTrain.getState();
  const loss = renameKey(config.loss, from, to);
  const metrics = renameKey(config.metrics, from, to);
  if (loss !== config.loss || metrics !== config.metrics) setConfig({ ...config, loss, metrics });
});
