// Which side panel is showing: the inspector, the data tab (uploads), the train panel or the runs list.
import { create } from "zustand";

export type Tab = "inspector" | "data" | "train" | "runs";

export const useUi = create<{ tab: Tab; setTab: (tab: Tab) => void }>((set) => ({
  tab: "inspector",
  setTab: (tab) => set({ tab }),
}));
