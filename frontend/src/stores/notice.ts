// One short message at a time at the bottom of the screen (a refused connection, a file that did not open, a save).
import { create } from "zustand";

export type NoticeKind = "info" | "error";

type NoticeState = {
  text: string | null;
  kind: NoticeKind;
  show: (text: string, kind?: NoticeKind) => void;
  clear: () => void;
};

let timer: ReturnType<typeof setTimeout> | null = null;

export const useNotice = create<NoticeState>((set) => ({
  text: null,
  kind: "info",
  show: (text, kind = "error") => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => set({ text: null }), kind === "error" ? 6000 : 3000);
    set({ text, kind });
  },
  clear: () => set({ text: null }),
}));

export const notify = (text: string, kind?: NoticeKind) => useNotice.getState().show(text, kind);
