// A GAN run's sample grids (samples events, docs/api.md): one PNG per epoch from the same fixed noise.
import { create } from "zustand";
import type { Schemas } from "../api/client";

export type SamplesEvent = Schemas["SamplesEvent"];

type SamplesState = {
  lastSeq: number;
  /** Every grid received, oldest first (a replay brings the earlier epochs back). */
  grids: SamplesEvent[];
  take: (events: { type: string; seq: number }[]) => void;
  clear: () => void;
};

/** Grids kept: a long run's earliest epochs go first. Each grid is a few kB. */
export const KEPT = 200;

/** Fold samples events into the grids (others are ignored; a replayed duplicate too). Pure. */
export function foldSamples(state: Pick<SamplesState, "lastSeq" | "grids">, events: { type: string; seq: number }[]) {
  let { lastSeq, grids } = state;
  const fresh = events.filter((e): e is SamplesEvent & { seq: number } => e.type === "samples" && e.seq > lastSeq);
  if (!fresh.length) return { lastSeq, grids };
  lastSeq = fresh[fresh.length - 1].seq;
  grids = [...grids, ...fresh].slice(-KEPT);
  return { lastSeq, grids };
}

export const useSamples = create<SamplesState>((set, get) => ({
  lastSeq: 0,
  grids: [],
  take: (events) => {
    if (!events.some((e) => e.type === "samples")) return;
    set(foldSamples(get(), events));
  },
  clear: () => set({ lastSeq: 0, grids: [] }),
}));
