// Train/Pause/Resume/Stop, the live run, and the training settings below it.
import { useEffect, useState } from "react";
import { client, ok } from "../api/client";
import { refusedConfig } from "../lib/serverErrors";
import { useCatalog } from "../stores/catalog";
import { uploadRef } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useOverlay } from "../stores/overlay";
import { useWatchedRun } from "../stores/watchedRun";
import { useRunList } from "../stores/runList";
import { useTrain } from "../stores/train";
import { Preflight } from "./Preflight";
import { RunView } from "./RunView";
import { GanSettings } from "./train/GanSettings";
import { StartFromRun } from "./train/StartFromRun";
import { TrainSettings } from "./TrainSettings";

export function TrainPanel() {
  const catalog = useCatalog((s) => s.catalog);
  const runId = useWatchedRun((s) => s.runId);
  const status = useWatchedRun((s) => s.status);
  const invalid = useGraph((s) => s.validation?.valid === false);
  const empty = useGraph((s) => s.nodes.length === 0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [pausing, setPausing] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(!runId);
  useEffect(() => {
    if (runId) setSettingsOpen(false);
  }, [runId]);
  if (!catalog) return null;
  const running = status === "running" || status === "queued";

  const pauseOrResume = async (action: "pause" | "resume") => {
    setError(null);
    setPausing(action === "pause" ? runId : null);
    const refused = await useWatchedRun.getState()[action]();
    if (refused) {
      setPausing(null);
      setError(refused);
    }
    void useRunList.getState().refresh();
  };

  const start = async () => {
    setBusy(true);
    setError(null);
    refusedConfig(null, null);
    try {
      const { dataset, config } = useTrain.getState();
      const name = (catalog.datasets.find((d) => d.name === dataset) ?? catalog.datasets[0]).name;
      const graph = useGraph.getState().toJSON();
      const created = await ok(client.POST("/api/runs", { body: { graph, dataset: uploadRef() ?? { name }, config } }));
      useWatchedRun.getState().watch(created.id, "queued"); // the new run at once, not the one shown before
      void useRunList.getState().refresh();
    } catch (e) {
      setError((e as Error).message);
      refusedConfig(e, useTrain.getState().config); // each located message also under its field
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="train-panel" data-testid="train-panel">
      <div className="train-actions">
        <button
          className="primary"
          disabled={busy || running || empty}
          onClick={() => void start()}
          data-testid="btn-train"
          title={invalid ? "The graph has errors: the server will say which" : "Train this graph on the dataset below"}
        >
          {busy ? "Starting…" : running ? "Training…" : "Train"}
        </button>
        {status === "paused" ? (
          <button onClick={() => void pauseOrResume("resume")} data-testid="btn-resume" title="Go on from where the run paused">
            Resume
          </button>
        ) : (
          <button
            disabled={status !== "running" || pausing === runId}
            onClick={() => void pauseOrResume("pause")}
            data-testid="btn-pause"
            title="Pause after the current step; resume later, also after a server restart"
          >
            {pausing === runId && status === "running" ? "Pausing…" : "Pause"}
          </button>
        )}
        <button disabled={!running && status !== "paused"} onClick={() => void useWatchedRun.getState().stop()} data-testid="btn-stop">
          Stop
        </button>
      </div>
      {invalid && !running && (
        <p className="hint warn">
          The graph has errors: training will be refused.
          <button className="link" onClick={() => useOverlay.getState().setIssuesOpen(true)} data-testid="train-show-issues">
            Show the issues
          </button>
        </p>
      )}
      {!running && <Preflight />}
      {error && (
        <pre className="node-error" data-testid="train-error">
          {error}
        </pre>
      )}
      <StartFromRun />
      <GanSettings />
      <RunView />
      <details
        className="settings"
        open={settingsOpen}
        onToggle={(e) => setSettingsOpen((e.target as HTMLDetailsElement).open)}
        data-testid="train-settings"
      >
        <summary>Dataset and training settings</summary>
        {settingsOpen && <TrainSettings catalog={catalog} />}
      </details>
    </div>
  );
}
