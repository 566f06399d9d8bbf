// The colour theme: "system" (the default) follows prefers-color-scheme, light or dark chosen in the header is set on
// <html data-theme> and kept in localStorage.
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Header } from "../panels/Header";
import { applyTheme, useTheme } from "../stores/theme";
import { mountPerTest } from "./mount";

// A stand-in for the browser's prefers-color-scheme, installed before the store is first imported (it reads it then).
const system = vi.hoisted(() => {
  const state = { light: true, listeners: new Set<() => void>() };
  window.matchMedia = ((query: string) =>
    ({
      media: query,
      get matches() {
        return query.includes("light") ? state.light : !state.light;
      },
      addEventListener: (_: string, listener: () => void) => state.listeners.add(listener),
      removeEventListener: (_: string, listener: () => void) => state.listeners.delete(listener),
    }) as unknown as MediaQueryList) as typeof window.matchMedia;
  return state;
});

/** The system's preference changes, as when the OS switches to its night look. */
function systemTurns(light: boolean): void {
  system.light = light;
  act(() => system.listeners.forEach((listener) => listener()));
}

const kept = () => JSON.parse(localStorage.getItem("netcanvas.theme") ?? "null")?.state?.choice ?? null;

/** Each test of the block starts with the theme applied, the system light or dark, nothing chosen or kept. */
function themePerTest(light: boolean): void {
  let stop: () => void = () => {};
  beforeEach(() => {
    system.light = light;
    stop = applyTheme();
  });
  afterEach(() => {
    stop();
    act(() => useTheme.getState().setChoice("system"));
    localStorage.clear();
  });
}

describe("the colour theme", () => {
  themePerTest(true);

  it("follows the system's preference by default, and its changes", () => {
    expect(useTheme.getState().choice).toBe("system");
    expect(document.documentElement.dataset.theme).toBe("light");
    systemTurns(false);
    expect(useTheme.getState().theme).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    systemTurns(true);
    expect(document.documentElement.dataset.theme).toBe("light");
  });

  it("sets a chosen theme on the page and keeps it in localStorage, whatever the system says", () => {
    act(() => useTheme.getState().setChoice("dark"));
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(kept()).toBe("dark");
    systemTurns(true);
    expect(document.documentElement.dataset.theme).toBe("dark"); // a choice is not the system's
    act(() => useTheme.getState().setChoice("light"));
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(kept()).toBe("light");
  });

  it("comes back as kept after a reload", async () => {
    act(() => useTheme.getState().setChoice("dark"));
    const stored = localStorage.getItem("netcanvas.theme")!;
    useTheme.setState({ choice: "system", theme: "light" }); // as a fresh page starts, before reading what was kept
    localStorage.setItem("netcanvas.theme", stored); // (the store writes what it is set to)
    await act(() => useTheme.persist.rehydrate());
    expect(useTheme.getState()).toMatchObject({ choice: "dark", theme: "dark" });
  });
});

describe("the header's theme control", () => {
  const view = mountPerTest();
  themePerTest(false);

  const control = () => view.host.querySelector<HTMLSelectElement>('[data-testid="theme-select"]')!;
  /** Picks `value` as a user does: through the value setter React tracks, then a change event. */
  const pick = (value: string) =>
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value")!.set!.call(control(), value);
      control().dispatchEvent(new Event("change", { bubbles: true }));
    });

  it("shows the choice and switches the theme", () => {
    act(() =>
      view.root.render(
        <ReactFlowProvider>
          <Header />
        </ReactFlowProvider>,
      ),
    );
    expect(control().getAttribute("aria-label")).toBe("theme");
    expect(control().title).toBeTruthy();
    expect(control().value).toBe("system");
    expect(document.documentElement.dataset.theme).toBe("dark"); // the system's, here dark
    pick("light");
    expect(useTheme.getState().choice).toBe("light");
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(kept()).toBe("light");
    pick("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(control().value).toBe("dark");
  });
});
