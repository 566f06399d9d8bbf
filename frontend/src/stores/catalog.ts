// The layer catalog, optimizers, losses, metrics and datasets: fetched once.
import { create } from "zustand";
import { type Catalog, type LayerInfo, getCatalog } from "../api/client";

type CatalogState = {
  catalog: Catalog | null;
  layers: Record<string, LayerInfo>;
  error: string | null;
  load: () => Promise<void>;
};

export const useCatalog = create<CatalogState>((set) => ({
  catalog: null,
  layers: {},
  error: null,
  load: async () => {
    try {
      const catalog = await getCatalog();
      set({ catalog, layers: Object.fromEntries(catalog.layers.map((l) => [l.type, l])), error: null });
    } catch (e) {
      set({ error: `Could not load the catalog: ${(e as Error).message}` });
    }
  },
}));

/** Default params of a layer, from its JSON Schema. */
export function defaultParams(layer: LayerInfo): Record<string, unknown> {
  const props = (layer.params_schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(props)) if (p.default !== undefined) out[k] = p.default;
  return out;
}

/** A colour per layer category (palette stripe, node stripe, minimap). Unknown categories fall back to grey. */
export const CATEGORY_COLORS: Record<string, string> = {
  io: "#22b8cf",
  core: "#6d8cff",
  convolution: "#a36bff",
  pooling: "#c084fc",
  normalization: "#f5a524",
  recurrent: "#ff8a3d",
  attention: "#ef5a6f",
  activation: "#30c48d",
  merge: "#8bc34a",
  capsule: "#e879b9",
};

export function categoryColor(category: string | undefined): string {
  return (category && CATEGORY_COLORS[category]) || "#7a849a";
}
