import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Progress, type RunEvent, fractionDone, reduceEvents, secondsLeft, useWatchedRun } from "../stores/watchedRun";
import { empty } from "./emptyRun";


describe("run events", () => {
  it("fold into series, progress and results; a metric missing in an epoch is a gap", () => {
    const events: RunEvent[] = [
      { seq: 1, type: "status", status: "running" },
      { seq: 2, type: "batch", epoch: 1, step: 5, steps: 10, loss: 2 },
      { seq: 3, type: "epoch", epoch: 1, epochs: 3, metrics: { loss: 1.5, val_loss: 1.6 }, seconds: 2, lr: 0.1 },
      { seq: 4, type: "log", level: "warning", message: "careful" },
      { seq: 5, type: "epoch", epoch: 2, epochs: 3, metrics: { loss: 1.0, accuracy: 0.5 }, seconds: 4, lr: 0.1 },
      { seq: 6, type: "done", status: "completed", test_metrics: { test_loss: 1.1 } },
    ];
    const s = reduceEvents(empty(), events);
    expect(s.series.epochs).toEqual([1, 2]);
    expect(s.series.metrics.loss).toEqual([1.5, 1.0]);
    expect(s.series.metrics.val_loss).toEqual([1.6, Number.NaN]);
    expect(s.series.metrics.accuracy).toEqual([Number.NaN, 0.5]);
    expect(s.series.batchX).toEqual([0.5]);
    expect(s.progress?.epochSeconds).toEqual([2, 4]);
    expect(s.logs.map((l) => l.message)).toEqual(["careful"]);
    expect(s.status).toBe("completed");
    expect(s.testMetrics).toEqual({ test_loss: 1.1 });
  });

  it("ignore events already seen (a reconnect replays after the last seq, never before)", () => {
    const first = reduceEvents(empty(), [{ seq: 1, type: "batch", epoch: 1, step: 1, steps: 2, loss: 3 }]);
    const again = reduceEvents(first, [
      { seq: 1, type: "batch", epoch: 1, step: 1, steps: 2, loss: 3 },
      { seq: 2, type: "batch", epoch: 1, step: 2, steps: 2, loss: 2 },
    ]);
    expect(again.series.batchLoss).toEqual([3, 2]);
    expect(again.lastSeq).toBe(2);
    // The original state is not mutated.
    expect(first.series.batchLoss).toEqual([3]);
  });

  it("estimate progress and time left from the mean epoch", () => {
    const p: Progress = { epoch: 3, step: 5, steps: 10, epochs: 4, epochsDone: 2, epochSeconds: [2, 4] };
    expect(fractionDone(p)).toBeCloseTo(2.5 / 4);
    expect(secondsLeft(p)).toBeCloseTo(1.5 * 3);
    expect(secondsLeft({ ...p, epochSeconds: [] })).toBeNull();
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(event: RunEvent) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  close() {
    this.onclose?.();
  }
}

describe("run websocket", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ id: "r1", name: "run", epochs: 2, dataset: { name: "iris" } }))));
  });
  afterEach(() => {
    useWatchedRun.getState().clear();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("reconnects on its own and resumes after the last event seen", async () => {
    useWatchedRun.getState().watch("r1");
    const first = FakeSocket.all[0];
    expect(first.url).toMatch(/\/api\/runs\/r1\/events\?after=0$/);
    first.onopen?.();
    first.send({ seq: 1, type: "status", status: "running" });
    first.send({ seq: 2, type: "epoch", epoch: 1, epochs: 2, metrics: { loss: 1 }, seconds: 1, lr: 0.1 });
    await vi.advanceTimersByTimeAsync(60);
    expect(useWatchedRun.getState().lastSeq).toBe(2);
    first.close(); // the server went away
    expect(useWatchedRun.getState().connected).toBe(false);
    await vi.advanceTimersByTimeAsync(400);
    const second = FakeSocket.all[1];
    expect(second.url).toMatch(/after=2$/);
    second.onopen?.();
    second.send({ seq: 3, type: "epoch", epoch: 2, epochs: 2, metrics: { loss: 0.5 }, seconds: 1, lr: 0.1 });
    second.send({ seq: 4, type: "done", status: "completed", test_metrics: { test_loss: 0.4 } });
    second.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.all).toHaveLength(2); // finished: no more reconnects
    const s = useWatchedRun.getState();
    expect(s.series.metrics.loss).toEqual([1, 0.5]);
    expect(s.status).toBe("completed");
    expect(s.info?.name).toBe("run");
  });

  it("a new run replaces a finished one at once, queued, before any of its events arrive", async () => {
    useWatchedRun.getState().watch("r1");
    const first = FakeSocket.all[0];
    first.send({ seq: 1, type: "done", status: "completed", test_metrics: { test_loss: 0.4 } });
    await vi.advanceTimersByTimeAsync(60);
    expect(useWatchedRun.getState().status).toBe("completed");
    useWatchedRun.getState().watch("r2", "queued");
    const s = useWatchedRun.getState();
    expect([s.runId, s.status, s.lastSeq, s.testMetrics]).toEqual(["r2", "queued", 0, null]);
    expect(FakeSocket.all[1].url).toMatch(/\/api\/runs\/r2\/events\?after=0$/);
  });
});
