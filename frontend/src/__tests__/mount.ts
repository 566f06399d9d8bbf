// One React root per test, in a fresh element of the page: the set-up the component tests share.
import { act } from "react";
import { type Root, createRoot } from "react-dom/client";
import { afterEach, beforeEach } from "vitest";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Mounted {
  host: HTMLDivElement;
  root: Root;
}

/** Registers hooks that give each test of the calling suite a new `host` element with a React `root` in it
 * (sized by `style`, e.g. for React Flow), unmounted and removed after the test. */
export function mountPerTest(style: Partial<Pick<CSSStyleDeclaration, "width" | "height">> = {}): Mounted {
  const mounted = {} as Mounted;
  beforeEach(() => {
    mounted.host = document.createElement("div");
    Object.assign(mounted.host.style, style);
    document.body.appendChild(mounted.host);
    mounted.root = createRoot(mounted.host);
  });
  afterEach(() => {
    act(() => mounted.root.unmount());
    mounted.host.remove();
  });
  return mounted;
}

/** Types `text` into `input` as a user does, as React sees it: through the value setter React tracks, then an
 * input event. */
export function typeInto(input: HTMLInputElement, text: string): void {
  act(() => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, text);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}
