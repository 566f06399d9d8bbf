// Per-layer health of the watched run (health events, docs/api.md): the latest values per node and a short trail.
import { create } from "zustand";
import type { Schemas } from "../api/client";

export type NodeHealth = Schemas["NodeHealth"];
export type HealthEvent = Schemas["HealthEvent"];

/** Samples kept per node for its sparkline. */
export const TRAIL = 24;

type HealthState = {
  lastSeq: number;
  /** The probed step the latest values come from. */
  at: { epoch: number; step: number; steps: number } | null;
  latest: Record<string, NodeHealth>;
  /** Node id -> log10 of its gradient norm at each probed step (null where it had none). */
  trails: Record<string, (number | null)[]>;
  take: (events: { type: string; seq: number }[]) => void;
  clear: () => void;
};

const empty = () => ({ lastSeq: 0, at: null, latest: {}, trails: {} });

/** Fold health events into the state (others are ignored; a replayed duplicate too). Pure. */
export function foldHealth(state: Pick<HealthState, "lastSeq" | "at" | "latest" | "trails">, events: { type: string; seq: number }[]) {
  let { lastSeq, at, latest, trails } = state;
  for (const event of events) {
    if (event.type !== "health" || event.seq <= lastSeq) continue;
    const health = event as HealthEvent;
    lastSeq = event.seq;
    at = { epoch: health.epoch, step: health.step, steps: health.steps };
    latest = health.nodes;
    trails = { ...trails };
    for (const [id, node] of Object.entries(health.nodes)) {
      const g = node.grad_norm;
      const value = g !== null && g !== undefined && g > 0 ? Math.log10(g) : null;
      trails[id] = [...(trails[id] ?? []), value].slice(-TRAIL);
    }
  }
  return { lastSeq, at, latest, trails };
}

export const useHealth = create<HealthState>((set, get) => ({
  ...empty(),
  take: (events) => {
    if (!events.some((e) => e.type === "health")) return;
    set(foldHealth(get(), events));
  },
  clear: () => set(empty()),
}));

/** The flagged nodes, in graph order of the latest event. */
export function flagged(latest: Record<string, NodeHealth>): [string, NodeHealth][] {
  return Object.entries(latest).filter(([, h]) => h.flag);
}

/** A number for a node's strip: 3 significant digits, exponent form when tiny or huge. */
export function short(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return value.toExponential(1);
  return String(Number(value.toPrecision(2)));
}
