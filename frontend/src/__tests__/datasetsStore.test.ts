// The uploads list: a list asked for before an upload finished (the Data tab asks when it opens) must not undo the
// upload when its answer comes after it (CI saw a new upload vanish from the list, the old list put back over it);
// deleting an upload can be undone as deleting a run can.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as api from "../api/client";
import { type Upload, useDatasets } from "../stores/datasets";
import { settleUndo, takeUndo, useUndoOffer } from "../ui/UndoToast";

vi.mock("../api/client", async (original) => ({ ...(await original<typeof api>()), upload: vi.fn() }));

const old = { id: "u1", name: "old.csv" } as Upload;
const made = { id: "u2", name: "new.zip" } as Upload;

/** A list GET whose answers the test releases one by one, each the list the server had when it was asked. */
function slowLists(...lists: Upload[][]) {
  const releases: (() => void)[] = [];
  const get = vi.spyOn(api.client, "GET").mockImplementation(((path: string) => {
    if (path !== "/api/datasets") return new Promise(() => {}); // the chosen upload's detail: not looked at here
    const list = lists[Math.min(releases.length, lists.length - 1)];
    return new Promise((resolve) => releases.push(() => resolve({ data: list, response: new Response() })));
  }) as never);
  const listsAsked = () => get.mock.calls.filter((call) => (call as unknown[])[0] === "/api/datasets").length;
  const release = async (i: number) => {
    releases[i]();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { listsAsked, release };
}

describe("the uploads list", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    useDatasets.setState({ uploads: [], chosen: null, detail: null });
  });

  it("keeps an upload that finished while an older list was on its way, and asks again", async () => {
    const { listsAsked, release } = slowLists([old], [made, old]);
    vi.mocked(api.upload).mockResolvedValue(made);
    const listing = useDatasets.getState().refresh(); // asked before the upload lands
    await useDatasets.getState().send(new File(["x"], "new.zip"));
    expect(useDatasets.getState().uploads.map((u) => u.name)).toEqual(["new.zip"]);

    await release(0); // the stale answer: without new.zip
    expect(useDatasets.getState().uploads.map((u) => u.name)).toEqual(["new.zip"]);
    expect(listsAsked()).toBe(2); // the refresh asked again
    await release(1);
    await listing;
    expect(useDatasets.getState().uploads.map((u) => u.name)).toEqual(["new.zip", "old.csv"]);
    expect(useDatasets.getState().chosen).toBe("u2");
  });

  it("takes a list that crossed no change as it is", async () => {
    const { release } = slowLists([old]);
    const listing = useDatasets.getState().refresh();
    await release(0);
    await listing;
    expect(useDatasets.getState().uploads).toEqual([old]);
  });
});

describe("deleting an upload", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    useDatasets.setState({ uploads: [], chosen: null, detail: null, deleting: [], options: {} });
  });

  it("hides it at once, Undo brings it back chosen, and the server deletes it only when the offer ends", async () => {
    const server = [old, made];
    vi.spyOn(api.client, "GET").mockImplementation(((path: string) =>
      Promise.resolve({ data: path === "/api/datasets" ? server : null, response: new Response() })) as never);
    const del = vi.spyOn(api.client, "DELETE").mockResolvedValue({ data: null, response: new Response() } as never);
    useDatasets.setState({ uploads: [old, made], chosen: "u2", options: { u2: { target: ["y"] } as never } });

    useDatasets.getState().remove("u2");
    expect(useDatasets.getState().uploads).toEqual([old]);
    expect(useDatasets.getState().chosen).toBeNull(); // runs do not train on it meanwhile
    expect(useUndoOffer.getState().offer?.text).toBe("Deleted upload 'new.zip'.");
    await useDatasets.getState().refresh(); // the server still lists it: it stays hidden
    expect(useDatasets.getState().uploads).toEqual([old]);

    takeUndo();
    await vi.waitFor(() => expect(useDatasets.getState().chosen).toBe("u2"));
    expect(useDatasets.getState().uploads).toEqual([old, made]);
    expect(del).not.toHaveBeenCalled();

    useDatasets.getState().remove("u2");
    server.pop();
    settleUndo();
    await vi.waitFor(() => expect(useDatasets.getState().deleting).toEqual([]));
    expect(del).toHaveBeenCalledTimes(1);
    expect(useDatasets.getState().uploads).toEqual([old]);
    expect(useDatasets.getState().options).toEqual({}); // its options go with it
  });
});
