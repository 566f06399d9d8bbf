// Free-text fields of the inspector (an int or a pair, a size or a word): text that cannot be a value is said under
// the field and not sent, as a number field does, instead of the server's error about a union member.
import { act } from "react";
import { describe, expect, it, vi } from "vitest";
import { type JsonSchema, SchemaForm, textProblem } from "../panels/SchemaForm";
import { mountPerTest, typeInto } from "./mount";

const size = { type: "integer", minimum: 1, maximum: 4096 };
/** Conv2d's kernel_size: a size or a [height, width] pair. */
const kernel: JsonSchema = {
  anyOf: [size, { type: "array", minItems: 2, maxItems: 2, prefixItems: [size, size] }],
};
/** Conv2d's padding: a size, a pair, or one of two words. */
const padding: JsonSchema = {
  anyOf: [
    { type: "integer", minimum: 0, maximum: 4096 },
    { type: "array", minItems: 2, maxItems: 2, prefixItems: [{ type: "integer", minimum: 0 }, { type: "integer", minimum: 0 }] },
    { type: "string", enum: ["same", "valid"] },
  ],
};
/** Input's shape: sizes, null for a dynamic axis. */
const shape: JsonSchema = { type: "array", minItems: 1, maxItems: 6, items: { anyOf: [{ type: "integer" }, { type: "null" }] } };
/** Output's name: any text, or none. */
const name: JsonSchema = { anyOf: [{ type: "string" }, { type: "null" }] };

describe("textProblem", () => {
  it("names a word in a list of numbers, an item out of bounds and a wrong count", () => {
    expect(textProblem("3, x", kernel)).toBe("“x” is not a number");
    expect(textProblem("3, 0", kernel)).toBe("item 2 must be ≥ 1");
    expect(textProblem("3, 2.5", kernel)).toBe("item 2 must be a whole number");
    expect(textProblem("3, 3, 3", kernel)).toBe("3 values; it takes 2");
    expect(textProblem("3, null", kernel)).toBe("item 2 must be a number");
    expect(textProblem("abc", kernel)).toBe("“abc” is not a number");
    expect(textProblem("", kernel)).toBe("enter a value");
  });

  it("takes what the schema takes", () => {
    for (const text of ["3", "3, 5", "[3, 5]"]) expect(textProblem(text, kernel)).toBeNull();
    for (const text of ["same", "valid", "1", "1, 2"]) expect(textProblem(text, padding)).toBeNull();
    for (const text of ["1, 28, 28", "null, 8", "?, 8"]) expect(textProblem(text, shape)).toBeNull();
    for (const text of ["label", "", "3, x"]) expect(textProblem(text, name)).toBeNull();
  });

  it("names an empty item instead of dropping it", () => {
    expect(textProblem("1,,0", shape)).toBe("item 2 is empty");
    expect(textProblem("1, 28,", shape)).toBe("item 3 is empty");
    expect(textProblem(", 3", kernel)).toBe("item 1 is empty");
    expect(textProblem("[3, , 5]", kernel)).toBe("item 2 is empty");
  });

  it("lists the words a field takes besides numbers", () => {
    expect(textProblem("sme", padding)).toBe("“sme” is not a number or one of same, valid");
  });
});

describe("SchemaForm's free-text field", () => {
  const view = mountPerTest();
  const schema: JsonSchema = { type: "object", properties: { kernel_size: kernel } };
  const field = () => view.host.querySelector<HTMLInputElement>('[data-testid="param-kernel_size"]')!;
  const problem = () => view.host.querySelector('[data-testid="param-kernel_size-error"]')?.textContent ?? null;
  const type = (text: string) => typeInto(field(), text);
  const enter = () => act(() => field().dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })));

  it("says what is wrong with typed text and does not send it; a good value is sent", () => {
    const onChange = vi.fn();
    act(() => view.root.render(<SchemaForm schema={schema} values={{ kernel_size: 3 }} onChange={onChange} />));
    type("3, x");
    expect(problem()).toBe("“x” is not a number");
    expect(field().getAttribute("aria-invalid")).toBe("true");
    enter();
    expect(onChange).not.toHaveBeenCalled();
    expect(field().value).toBe("3, x"); // kept, to be corrected

    type("3, 5");
    expect(problem()).toBeNull();
    enter();
    expect(onChange).toHaveBeenCalledWith({ kernel_size: [3, 5] }, "kernel_size");
  });

  it("refuses an Input shape with an empty item as typed (1,,0 is not [1, 0])", () => {
    const onChange = vi.fn();
    const shapeForm: JsonSchema = { type: "object", properties: { shape } };
    act(() => view.root.render(<SchemaForm schema={shapeForm} values={{ shape: [4] }} onChange={onChange} />));
    const input = view.host.querySelector<HTMLInputElement>('[data-testid="param-shape"]')!;
    typeInto(input, "1,,0");
    expect(view.host.querySelector('[data-testid="param-shape-error"]')?.textContent).toBe("item 2 is empty");
    act(() => input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })));
    expect(onChange).not.toHaveBeenCalled();
  });

  it("goes back to the value in use when left with text that cannot be one", () => {
    const onChange = vi.fn();
    act(() => view.root.render(<SchemaForm schema={schema} values={{ kernel_size: 3 }} onChange={onChange} />));
    type("3, 3, 3");
    expect(problem()).toBe("3 values; it takes 2");
    act(() => field().dispatchEvent(new FocusEvent("focusout", { bubbles: true })));
    expect(onChange).not.toHaveBeenCalled();
    expect(field().value).toBe("3");
    expect(problem()).toBeNull();
  });
});
