// The Ensembles tab's member count is a checked number field like the others: text that is not a number, or a count
// out of bounds, is named under it as typed, and text that is not a number is never sent.
import { act } from "react";
import { describe, expect, it, vi } from "vitest";
import { ApiError, client } from "../api/client";
import { StartForm } from "../panels/runs/Ensembles";
import { mountPerTest, typeInto } from "./mount";

describe("the ensemble form's members field", () => {
  const view = mountPerTest();
  const field = () => view.host.querySelector<HTMLInputElement>('[data-testid="ensemble-members"]')!;
  const problem = () => view.host.querySelector('[data-testid="ensemble-members-error"]')?.textContent ?? null;
  const type = (text: string) => typeInto(field(), text);

  it("names bad text under the field as typed and sends the last good count", async () => {
    const post = vi.spyOn(client, "POST").mockResolvedValue({ data: { id: "e1" }, response: new Response() } as never);
    const onStarted = vi.fn();
    act(() => view.root.render(<StartForm onStarted={onStarted} />));
    expect(field().type).toBe("text"); // not a native number input, which hides what was typed
    type("1");
    expect(problem()).toBe("must be ≥ 2");
    type("51");
    expect(problem()).toBe("must be ≤ 50");
    type("4");
    expect(problem()).toBeNull();
    type("4x");
    expect(problem()).toBe("not a number yet");
    expect(field().getAttribute("aria-invalid")).toBe("true");
    await act(async () => view.host.querySelector<HTMLButtonElement>('[data-testid="ensemble-start"]')!.click());
    expect(post).toHaveBeenCalledTimes(1);
    expect((post.mock.calls[0][1] as { body: { members: number } }).body.members).toBe(4);
    expect(onStarted).toHaveBeenCalledWith("e1");
    post.mockRestore();
  });

  it("shows the server's refusal of the count under the field, once, and the rest below the form", async () => {
    const refuse = (detail: unknown) =>
      vi.spyOn(client, "POST").mockRejectedValue(new ApiError("refused", 422, detail) as never);
    act(() => view.root.render(<StartForm onStarted={() => {}} />));
    const start = () => act(async () => view.host.querySelector<HTMLButtonElement>('[data-testid="ensemble-start"]')!.click());
    const below = () => view.host.querySelector('[data-testid="ensemble-problem"]')?.textContent ?? null;

    let post = refuse([{ loc: ["body", "members"], msg: "this server trains at most 8 members", type: "value_error" }]);
    await start();
    expect(problem()).toBe("this server trains at most 8 members");
    expect(below()).toBeNull(); // not said a second time under the form
    post.mockRestore();

    post = refuse([{ loc: ["body", "members"], msg: "at most 8", type: "value_error" },
                   { loc: ["body", "config", "epochs"], msg: "Input should be greater than 0", type: "greater_than" }]);
    await start();
    expect(problem()).toBe("at most 8");
    expect(below()).toBe("config.epochs: Input should be greater than 0");
    post.mockRestore();
  });
});
