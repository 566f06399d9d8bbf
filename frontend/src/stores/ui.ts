// Which side panel is showing: the inspector, the data tab (uploads), the train panel, the runs list or the search tab.
import { create } from "zustand";

export type Tab = "inspector" | "data" | "train" | "runs" | "search";

export const useUi = create<{ tab: Tab; setTab: (tab: Tab) => void }>((set) => ({
  tab: "inspector",
  setTab: (tab) => set({ tab }),
}));
