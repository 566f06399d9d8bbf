// A toast with an Undo button, shown after an action that replaced or removed the user's work.
import { useEffect } from "react";
import { create } from "zustand";
import "./undo-toast.css";

const SHOWN_MS = 12_000;

type UndoOffer = { text: string; undo: () => void; done?: () => void; key: number };

export const useUndoOffer = create<{ offer: UndoOffer | null }>(() => ({ offer: null }));

let timer: ReturnType<typeof setTimeout> | null = null;

/** End the offer on screen: `undone` runs its undo, otherwise its `done` (the action becomes final). */
function settle(undone: boolean): void {
  const offer = useUndoOffer.getState().offer;
  if (!offer) return;
  if (timer) clearTimeout(timer);
  timer = null;
  useUndoOffer.setState({ offer: null });
  if (undone) offer.undo();
  else offer.done?.();
}

/** Say what happened and offer to undo it, for a while or until the next offer. `done` runs when the offer ends
 * without Undo (it timed out, was dismissed, or another took its place): for an action held back until then, such
 * as deleting a run's files on the server. */
export function offerUndo(text: string, undo: () => void, done?: () => void): void {
  settle(false);
  const key = Date.now();
  useUndoOffer.setState({ offer: { text, undo, done, key } });
  timer = setTimeout(() => {
    if (useUndoOffer.getState().offer?.key === key) settle(false);
  }, SHOWN_MS);
}

/** Make the offer on screen final now (the page is being closed). */
export const settleUndo = () => settle(false);

/** Take the offer on screen: what its Undo button does. */
export const takeUndo = () => settle(true);

export function UndoToast() {
  const offer = useUndoOffer((s) => s.offer);
  // Closing or reloading the page while an offer is up makes it final (a held-back delete is sent).
  useEffect(() => {
    window.addEventListener("pagehide", settleUndo);
    return () => window.removeEventListener("pagehide", settleUndo);
  }, []);
  if (!offer) return null;
  return (
    <div className="undo-toast" role="status" data-testid="undo-toast">
      <span>{offer.text}</span>
      <button className="primary" onClick={takeUndo} data-testid="undo-toast-undo">
        Undo
      </button>
      <button onClick={() => settle(false)} aria-label="dismiss" title="Dismiss" data-testid="undo-toast-dismiss">
        ✕
      </button>
    </div>
  );
}
