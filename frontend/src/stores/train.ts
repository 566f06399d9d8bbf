// The training settings of the Train panel: dataset and config (docs/training-config.md), kept across reloads.
import { create } from "zustand";
import { persist } from "zustand/middleware";
import { renameListeners } from "./graph";

export type TrainConfig = {
  optimizer: { type: string; lr: number; [k: string]: unknown };
  loss: string | Record<string, string>;
  metrics: string[] | Record<string, string[]>;
  epochs: number;
  batch_size: number;
  seed: number;
  validation_split: number;
  regularization: { l1: number; l2: number };
  early_stopping: { monitor: string; patience: number; restore_best_weights: boolean; mode?: string; min_delta?: number } | null;
  schedule?: Record<string, unknown> | null;
  [k: string]: unknown;
};

export const defaultConfig = (): TrainConfig => ({
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
  config: TrainConfig;
  setDataset: (name: string) => void;
  setConfig: (config: TrainConfig) => void;
  patch: (part: Partial<TrainConfig>) => void;
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
