// A toast with an Undo button, shown after an action that replaced or removed the user's work.
import { create } from "zustand";
import "./undo-toast.css";

const SHOWN_MS = 12_000;

type UndoOffer = { text: string; undo: () => void; key: number };

export const useUndoOffer = create<{ offer: UndoOffer | null }>(() => ({ offer: null }));

let timer: ReturnType<typeof setTimeout> | null = null;

/** Say what happened and offer to undo it (for a while, or until the next offer). */
export function offerUndo(text: string, undo: () => void): void {
  if (timer) clearTimeout(timer);
  const key = Date.now();
  useUndoOffer.setState({ offer: { text, undo, key } });
  timer = setTimeout(() => {
    if (useUndoOffer.getState().offer?.key === key) useUndoOffer.setState({ offer: null });
  }, SHOWN_MS);
}

export function UndoToast() {
  const offer = useUndoOffer((s) => s.offer);
  if (!offer) return null;
  return (
    <div className="undo-toast" role="status" data-testid="undo-toast">
      <span>{offer.text}</span>
      <button
        className="primary"
        onClick={() => {
          useUndoOffer.setState({ offer: null });
          offer.undo();
        }}
        data-testid="undo-toast-undo"
      >
        Undo
      </button>
      <button onClick={() => useUndoOffer.setState({ offer: null })} aria-label="dismiss" title="Dismiss">
        ✕
      </button>
    </div>
  );
}
