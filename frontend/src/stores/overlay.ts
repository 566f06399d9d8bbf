// Which header dialog or panel is open: the templates gallery, the server graphs, the issues list.
import { create } from "zustand";

export type Dialog = "templates" | "saved" | null;

type OverlayState = {
  dialog: Dialog;
  issuesOpen: boolean;
  openDialog: (dialog: Dialog) => void;
  setIssuesOpen: (open: boolean) => void;
};

export const useOverlay = create<OverlayState>((set) => ({
  dialog: null,
  issuesOpen: false,
  openDialog: (dialog) => set({ dialog }),
  setIssuesOpen: (issuesOpen) => set({ issuesOpen }),
}));
