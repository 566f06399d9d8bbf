import { describe, expect, it } from "vitest";
import { FINAL, type RunEvent, reduceEvents } from "../stores/watchedRun";
import { empty } from "./emptyRun";


describe("a paused run", () => {
  it("shows paused, keeps its charts and progress, and goes on after resume in one numbering", () => {
    const before: RunEvent[] = [
      { seq: 1, type: "status", status: "running" },
      { seq: 2, type: "epoch", epoch: 1, epochs: 3, metrics: { loss: 1.5 }, seconds: 2, lr: 0.1 },
      { seq: 3, type: "batch", epoch: 2, step: 4, steps: 10, loss: 1.2 },
      { seq: 4, type: "status", status: "paused", message: "paused at epoch 2, step 5 of 10" },
    ];
    const paused = reduceEvents(empty(), before);
    expect(paused.status).toBe("paused");
    expect(FINAL.has("paused")).toBe(false); // the websocket stays (and reconnects): the run goes on later
    expect(paused.progress).toMatchObject({ epoch: 2, step: 4, steps: 10, epochsDone: 1 });

    const resumed = reduceEvents(paused, [
      { seq: 5, type: "status", status: "queued", message: "resumed: waiting for a free worker" },
      { seq: 6, type: "status", status: "running", message: "resumed" },
      { seq: 7, type: "log", level: "info", message: "resumed at epoch 2, step 5 of 10" },
      { seq: 8, type: "epoch", epoch: 2, epochs: 3, metrics: { loss: 1.1 }, seconds: 3, lr: 0.1 },
    ]);
    expect(resumed.status).toBe("running");
    expect(resumed.series.epochs).toEqual([1, 2]);
    expect(resumed.series.metrics.loss).toEqual([1.5, 1.1]);
    expect(resumed.lastSeq).toBe(8);
  });
});
