// Several runs side by side: one chosen metric's curves, the test metrics, and what changed between them
// (config fields, graph nodes, params and edges), so that the difference in results can be traced to a choice.
import { useEffect, useMemo, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { type Difference, configDifferences, graphDifferences, lowerIsBetter, readableDataset, shortValue } from "../../lib/compare";
import { defaultParams, useCatalog } from "../../stores/catalog";
import { useDatasets } from "../../stores/datasets";
import type { RunSummary } from "../../stores/runList";
import { Chart, type Line, color } from "../Chart";
import "./compare.css";

type Detail = Schemas["RunDetail"];
const runDetail = (id: string) => ok(client.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } }));

const fixed = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(4));

function RunName({ detail, i }: { detail: Detail; i: number }) {
  return (
    <>
      <span className="swatch" style={{ background: color(i) }} /> {detail.name}
    </>
  );
}

/**
 * A run's last value of `metric` as the table shows it: `0.9300`, `0.9300 (epoch 4…)` while it runs or is paused
 * (the epoch of that value; the value will change), `queued` or `—` when it has none yet.
 */
export function lastValue(detail: Pick<Detail, "status" | "history">, metric: string): { value: string; note: string | null } {
  const last = [...detail.history].reverse().find((h) => typeof h.metrics[metric] === "number" && Number.isFinite(h.metrics[metric]));
  if (!last) return { value: detail.status === "queued" || detail.status === "running" ? detail.status : "—", note: null };
  const going = detail.status === "running" || detail.status === "paused";
  return { value: fixed(last.metrics[metric]), note: going ? `(epoch ${last.epoch}…)` : null };
}

function Differences({ title, rows, details, testId, same }: { title: string; rows: Difference[]; details: Detail[]; testId: string; same: string }) {
  return (
    <div className="compare-diff" data-testid={testId}>
      <h4>{title}</h4>
      {rows.length === 0 ? (
        <p className="muted small">{same}</p>
      ) : (
        <table className="table compact">
          <thead>
            <tr>
              <th />
              {details.map((d, i) => (
                <th key={d.id}>
                  <RunName detail={d} i={i} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.path}>
                <td className="mono">{row.path}</td>
                {row.values.map((v, i) => (
                  <td key={details[i].id} className={`mono${v !== row.values[0] ? " changed" : ""}`} title={v.length > 40 ? v : undefined}>
                    {shortValue(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Compare({ ids, runs }: { ids: string[]; runs: RunSummary[] }) {
  const [details, setDetails] = useState<Detail[]>([]);
  const [metric, setMetric] = useState<string | null>(null);
  const layers = useCatalog((s) => s.layers);
  // Refetch when a compared run makes progress (its epochs_done or status in the polled list changes).
  const version = ids.map((id) => runs.find((r) => r.id === id)).map((r) => `${r?.id}:${r?.status}:${r?.epochs_done}`).join(",");
  useEffect(() => {
    let live = true;
    Promise.all(ids.map((id) => runDetail(id))).then(
      (d) => live && setDetails(d),
      () => live && setDetails([]),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version]);
  const names = useMemo(
    () => [...new Set(details.flatMap((d) => d.history.flatMap((h) => Object.keys(h.metrics))))].sort(),
    [details],
  );
  const tests = useMemo(() => [...new Set(details.flatMap((d) => Object.keys(d.test_metrics)))].sort(), [details]);
  const uploads = useDatasets((s) => s.uploads);
  const configRows = useMemo(
    () => configDifferences(details.map((d) => ({ dataset: readableDataset(d.dataset, uploads), ...d.config }))),
    [details, uploads],
  );
  const graphRows = useMemo(
    () => graphDifferences(details.map((d) => d.graph), (type) => (layers[type] ? defaultParams(layers[type]) : {})),
    [details, layers],
  );
  const shown = metric && names.includes(metric) ? metric : names.includes("val_loss") ? "val_loss" : (names[0] ?? "loss");
  const lower = lowerIsBetter(shown);
  const lines: Line[] = useMemo(
    () =>
      details.map((d, i) => ({
        label: `${d.name} · ${d.id.slice(0, 6)}`,
        x: d.history.map((h) => h.epoch),
        y: d.history.map((h) => h.metrics[shown] ?? Number.NaN),
        color: color(i),
      })),
    [details, shown],
  );
  return (
    <div className="compare" data-testid="compare">
      <div className="compare-head">
        <h3>Compare {ids.length} runs</h3>
        <label className="small">
          metric{" "}
          <select value={shown} onChange={(e) => setMetric(e.target.value)} data-testid="compare-metric">
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      <Chart title={shown.replace(/_/g, " ")} lines={lines} testId="chart-compare" />
      <div className="compare-scroll">
      <table className="table compact" data-testid="compare-table">
        <thead>
          <tr>
            <th>run</th>
            <th>last {shown}</th>
            <th title={`The ${lower ? "lowest" : "highest"} ${shown} of any epoch`}>best {shown}</th>
            {tests.map((t) => (
              <th key={t}>{t}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {details.map((d, i) => {
            const points = d.history
              .map((h) => ({ epoch: h.epoch, v: h.metrics[shown] }))
              .filter((p): p is { epoch: number; v: number } => typeof p.v === "number" && Number.isFinite(p.v));
            const best = points.reduce<{ epoch: number; v: number } | null>(
              (b, p) => (b === null || (lower ? p.v < b.v : p.v > b.v) ? p : b),
              null,
            );
            const last = lastValue(d, shown);
            return (
              <tr key={d.id}>
                <td className="compare-run">
                  <RunName detail={d} i={i} />
                </td>
                <td className="mono" data-testid={`compare-last-${d.id}`}>
                  {last.value}
                  {last.note && (
                    <span className="muted" title={`${d.status}: the value of its latest epoch so far`}>
                      {" "}
                      {last.note}
                    </span>
                  )}
                </td>
                <td className="mono">
                  {best ? fixed(best.v) : "—"}
                  {best && <span className="muted"> (epoch {best.epoch})</span>}
                </td>
                {tests.map((t) => (
                  <td key={t} className="mono">
                    {fixed(d.test_metrics[t])}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
      {details.length > 1 && (
        <>
          <Differences title="Config differences" rows={configRows} details={details} testId="compare-config" same="Same training config." />
          <Differences title="Graph differences" rows={graphRows} details={details} testId="compare-graph" same="Same graph (layers, params and connections)." />
        </>
      )}
    </div>
  );
}
