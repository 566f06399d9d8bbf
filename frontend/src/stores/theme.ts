// The colour theme: the user's choice (kept in localStorage) and the theme it resolves to, set on <html> as
// data-theme so that styles.css's variables follow it. "system" follows the browser's prefers-color-scheme.
import { create } from "zustand";
import { persist } from "zustand/middleware";

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";

/** The order the header's control goes through them. */
export const THEME_CHOICES: ThemeChoice[] = ["system", "light", "dark"];

const LIGHT_QUERY = "(prefers-color-scheme: light)";

/** The system's preference; dark where the browser cannot say (the app's look before themes). */
export function systemTheme(): Theme {
  if (typeof window === "undefined" || typeof window.matchMedia !== "function") return "dark";
  return window.matchMedia(LIGHT_QUERY).matches ? "light" : "dark";
}

export function resolveTheme(choice: ThemeChoice): Theme {
  return choice === "system" ? systemTheme() : choice;
}

type ThemeState = {
  choice: ThemeChoice;
  /** The theme shown now: the choice, or the system's preference when the choice is "system". */
  theme: Theme;
  setChoice: (choice: ThemeChoice) => void;
};

export const useTheme = create<ThemeState>()(
  persist(
    (set) => ({
      choice: "system",
      theme: resolveTheme("system"),
      setChoice: (choice) => set({ choice, theme: resolveTheme(choice) }),
    }),
    {
      name: "netcanvas.theme",
      partialize: (s) => ({ choice: s.choice }),
      // The kept choice comes back without its resolved theme: resolve it again (the system may have changed).
      merge: (kept, current) => {
        const choice = (kept as Partial<ThemeState> | undefined)?.choice;
        const valid = choice && THEME_CHOICES.includes(choice) ? choice : current.choice;
        return { ...current, choice: valid, theme: resolveTheme(valid) };
      },
    },
  ),
);

/** Keeps <html data-theme> on the resolved theme, and the resolved theme on the system's preference while the choice
 * is "system". Returns what stops it. */
export function applyTheme(): () => void {
  const root = document.documentElement;
  const set = (theme: Theme) => {
    if (root.dataset.theme !== theme) root.dataset.theme = theme;
  };
  set(useTheme.getState().theme);
  const stop = useTheme.subscribe((s) => set(s.theme));
  const query = typeof window.matchMedia === "function" ? window.matchMedia(LIGHT_QUERY) : null;
  const onSystem = () => {
    const { choice, theme } = useTheme.getState();
    const now = resolveTheme(choice);
    if (now !== theme) useTheme.setState({ theme: now });
  };
  onSystem(); // the system's preference may have changed since the store was made
  query?.addEventListener("change", onSystem);
  return () => {
    stop();
    query?.removeEventListener("change", onSystem);
  };
}

/** A CSS variable's value on <html> now (the theme's), e.g. cssVar("--text"); `fallback` where it has none (tests). */
export function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}
