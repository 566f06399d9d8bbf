// Datasets the server can download (MNIST, Fashion-MNIST, CIFAR-10): each with a Download button, the bytes received
// while it downloads, and "Use it" once it is an upload. Offline, the server's answer names the files to fetch and the
// folder to put them in; it is shown as it is.
import { useEffect, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { useDatasets } from "../../stores/datasets";
import "./data.css";

type Source = Schemas["DownloadableDataset"];

const POLL_MS = 700;

function megabytes(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

export function Sources() {
  const [sources, setSources] = useState<Source[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const load = async () => setSources(await ok(client.GET("/api/datasets/sources")));

  useEffect(() => {
    load().catch(() => setSources([]));
  }, []);

  useEffect(() => {
    if (!busy) return;
    const timer = window.setInterval(() => void load().catch(() => undefined), POLL_MS);
    return () => window.clearInterval(timer);
  }, [busy]);

  const download = async (name: string) => {
    setBusy(name);
    setErrors((e) => ({ ...e, [name]: "" }));
    try {
      const dataset = await ok(client.POST("/api/datasets/sources/{name}/fetch", { params: { path: { name } } }));
      await useDatasets.getState().refresh();
      useDatasets.getState().choose(dataset.id);
    } catch (e) {
      setErrors((all) => ({ ...all, [name]: (e as Error).message }));
    } finally {
      setBusy(null);
      await load().catch(() => undefined);
    }
  };

  if (!sources.length) return null;
  return (
    <section className="sources" data-testid="sources">
      <h3>Download a dataset</h3>
      {sources.map((s) => {
        const progress = s.fetching;
        return (
          <div key={s.name} className="source-row" data-testid={`source-${s.name}`}>
            <div>
              <b>{s.title}</b> <span className="muted small">{s.doc}</span>
            </div>
            {s.dataset_id ? (
              <button onClick={() => useDatasets.getState().choose(s.dataset_id ?? null)} data-testid={`use-${s.name}`}>
                Use it
              </button>
            ) : (
              <button disabled={busy !== null} onClick={() => void download(s.name)} data-testid={`download-${s.name}`}
                title={`Fetch ${s.files.map((f) => f.name).join(", ")} once into ${s.folder}, checked by checksum`}>
                {busy === s.name ? "Downloading…" : "Download"}
              </button>
            )}
            {busy === s.name && progress && (
              <div className="source-progress small" data-testid={`progress-${s.name}`}>
                {progress.file}: {megabytes(progress.received)}
                {progress.total ? ` of ${megabytes(progress.total)}` : ""}
                {progress.total ? <progress max={progress.total} value={progress.received} /> : null}
              </div>
            )}
            {errors[s.name] && (
              <pre className="node-error" data-testid={`source-error-${s.name}`}>
                {errors[s.name]}
              </pre>
            )}
          </div>
        );
      })}
    </section>
  );
}
