// Transfer learning (docs/training-config.md#starting-from-a-run): the Train tab's "Start from run…" (config.init.run
// and lr_scale), the frozen nodes (config.init.freeze: locked in the inspector, a lock on the canvas), and what the
// watched run loaded (its `init` event). The frozen list lives in the training config; the canvas only shows it.
import { useEffect, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { renameListeners, useGraph } from "../../stores/graph";
import { useRunList } from "../../stores/runList";
import { useTrain } from "../../stores/train";
import { useWatchedRun } from "../../stores/watchedRun";
import "./transfer.css";

type Init = Schemas["Init"];
type InitEvent = Schemas["InitEvent"];

const NO_FREEZE: string[] = [];
const STARTABLE = new Set(["completed", "stopped"]);

/** Change the config's init; an init that does nothing is dropped (the config stays as it was without one). */
function setInit(part: Partial<Init>) {
  const { config, patch } = useTrain.getState();
  const next: Init = { ...config.init, ...part };
  const idle = !next.run && !next.freeze?.length && (next.lr_scale ?? 1) === 1;
  patch({ init: idle ? null : next });
}

/** Whether a node is frozen (not trained) in the training config. */
export function useFrozen(id: string): boolean {
  return useTrain((s) => (s.config.init?.freeze ?? NO_FREEZE).includes(id));
}

export function toggleFrozen(id: string) {
  const freeze = useTrain.getState().config.init?.freeze ?? [];
  setInit({ freeze: freeze.includes(id) ? freeze.filter((f) => f !== id) : [...freeze, id] });
}

// A renamed node stays frozen under its new id.
renameListeners.add((from, to) => {
  const freeze = useTrain.getState().config.init?.freeze ?? [];
  if (freeze.includes(from)) setInit({ freeze: freeze.map((f) => (f === from ? to : f)) });
});

/** A padlock (drawn, not an emoji: not every system has an emoji font). */
export function Lock() {
  return (
    <svg className="lock-icon" viewBox="0 0 12 14" width="10" height="12" aria-hidden="true">
      <path d="M3 6V4a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
      <rect x="1" y="6" width="10" height="7.5" rx="1.5" fill="currentColor" />
    </svg>
  );
}

/** The lock on a canvas node. */
export function FrozenBadge({ id }: { id: string }) {
  const frozen = useFrozen(id);
  if (!frozen) return null;
  return (
    <span className="layer-frozen" title="frozen: not trained (feature extraction)" data-testid={`frozen-badge-${id}`}>
      <Lock />
    </span>
  );
}

/** The inspector's lock toggle, for nodes with weights. */
export function FreezeToggle({ id }: { id: string }) {
  const frozen = useFrozen(id);
  const params = useGraph((s) => s.validation?.nodes[id]?.params ?? 0);
  if (params === 0 && !frozen) return null;
  return (
    <label className="freeze-toggle" title="A frozen node keeps its weights (loaded with Start from run…) while the others train">
      <input type="checkbox" checked={frozen} onChange={() => toggleFrozen(id)} data-testid="inspector-freeze" />
      <Lock /> Frozen: not trained (feature extraction)
    </label>
  );
}

/** What the watched run loaded, from its `init` event. */
function InitReport() {
  const runId = useWatchedRun((s) => s.runId);
  const status = useWatchedRun((s) => s.status);
  const epochs = useWatchedRun((s) => s.progress?.epochsDone ?? 0);
  const transfer = useWatchedRun((s) => Boolean(s.info?.config?.init));
  const [report, setReport] = useState<{ runId: string; event: InitEvent } | null>(null);
  const started = status !== null && status !== "queued";
  // The event comes before the first epoch: looked for when the run starts, then after each epoch until found.
  useEffect(() => {
    if (!runId || !transfer || !started || report?.runId === runId) return;
    let live = true;
    void ok(client.GET("/api/runs/{run_id}/events", { params: { path: { run_id: runId }, query: { after: 0 } } }))
      .then((events) => {
        const found = events.find((e): e is InitEvent => e.type === "init");
        if (live && found) setReport({ runId, event: found });
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [runId, transfer, started, epochs, status, report?.runId]);
  if (!report || report.runId !== runId) return null;
  const { event } = report;
  return (
    <div className="init-report" data-testid="init-report">
      {event.run && (
        <p>
          Loaded from run <span className="mono">{event.run}</span>:{" "}
          <b data-testid="init-loaded">{event.loaded.length ? event.loaded.join(", ") : "no node matched"}</b>
          {event.lr_scale !== 1 && <span className="muted"> (fine-tuned at {event.lr_scale}× the learning rate)</span>}
        </p>
      )}
      {event.mismatched.length > 0 && (
        <p className="warn" data-testid="init-mismatched">
          Mismatched, left fresh:{" "}
          {event.mismatched.map((m) => (
            <span key={m.node} title={m.reason}>
              <b>{m.node}</b> ({m.reason}){" "}
            </span>
          ))}
        </p>
      )}
      {event.fresh.length > 0 && <p className="muted">New in this graph, fresh: {event.fresh.join(", ")}</p>}
      {event.frozen.length > 0 && <p data-testid="init-frozen"><Lock /> Frozen: {event.frozen.join(", ")}</p>}
    </div>
  );
}

export function StartFromRun() {
  const runs = useRunList((s) => s.runs);
  const init = useTrain((s) => s.config.init);
  const ids = useGraph((s) => s.nodes.map((n) => n.id).join("\n"));
  const [open, setOpen] = useState(Boolean(init?.run || init?.freeze?.length));
  const frozen = init?.freeze ?? NO_FREEZE;
  const present = new Set(ids.split("\n"));
  const stale = frozen.filter((f) => !present.has(f));
  const choices = runs.filter((r) => STARTABLE.has(r.status) || r.id === init?.run);
  const source = runs.find((r) => r.id === init?.run);
  const watched = useWatchedRun((s) => s.status);
  const active = Boolean(init?.run || frozen.length);
  useEffect(() => {
    void useRunList.getState().refresh(); // a run that just finished can be started from
  }, [watched]);
  useEffect(() => {
    if (active) setOpen(true); // a template or a lock in the inspector set it: show it
  }, [active]);
  return (
    <>
      <details className="start-from-run" open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)} data-testid="start-from-run">
        <summary>
          Start from run…
          {init?.run && <span className="muted"> {source ? source.name : init.run}</span>}
          {frozen.length > 0 && (
            <span className="muted">
              {" "}
              · <Lock /> {frozen.length} frozen
            </span>
          )}
        </summary>
        <label className="field">
          <span className="field-name">weights</span>
          <select value={init?.run ?? ""} onChange={(e) => setInit({ run: e.target.value || null })} data-testid="init-run">
            <option value="">fresh (random) weights</option>
            {choices.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} · {String(r.dataset.name ?? r.dataset.id ?? "")} · {r.status} · {new Date(r.created_at).toLocaleString()}
              </option>
            ))}
          </select>
        </label>
        {init?.run && (
          <>
            <p className="muted small">Weights are loaded into the nodes whose id and shapes match; the others start fresh.</p>
            <label className="field" title="Fine-tune the loaded nodes that are not frozen more gently than the new ones">
              <span className="field-name">learning-rate factor of the loaded nodes</span>
              <input
                type="number"
                min={0.001}
                max={1}
                step={0.1}
                value={init.lr_scale ?? 1}
                onChange={(e) => {
                  const value = Number(e.target.value);
                  if (value > 0 && value <= 1) setInit({ lr_scale: value });
                }}
                data-testid="init-lr-scale"
              />
            </label>
          </>
        )}
        <div className="frozen-list" data-testid="frozen-list">
          <span className="field-name">frozen</span>{" "}
          {frozen.length === 0 ? (
            <span className="muted small">none: select a node and tick Frozen in the inspector</span>
          ) : (
            frozen.map((id) => (
              <span key={id} className={`frozen-chip${present.has(id) ? "" : " stale"}`} title={present.has(id) ? "not trained" : "no such node in the graph"}>
                <Lock /> {id}
                <button className="link" onClick={() => toggleFrozen(id)} title={`Unfreeze ${id}`} aria-label={`Unfreeze ${id}`}>
                  ×
                </button>
              </span>
            ))
          )}
        </div>
        {stale.length > 0 && (
          <p className="warn small" data-testid="frozen-stale">
            Not in the graph (training would be refused): {stale.join(", ")}
          </p>
        )}
      </details>
      <InitReport />
    </>
  );
}
