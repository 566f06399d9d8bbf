// Every error and warning of the latest validation, graph-level ones included (like MATLAB's Network Analyzer):
// clicking one selects its node or edge and centres it on the canvas.
import { useReactFlow } from "@xyflow/react";
import { useEffect } from "react";
import type { Schemas } from "../api/client";
import { focusOn } from "../canvas/view";
import { edgeId } from "../lib/graph";
import { blockOwner } from "../lib/blocks";
import { useGraph } from "../stores/graph";
import { notify } from "../stores/notice";
import { useOverlay } from "../stores/overlay";
import "./issues.css";

type Problem = Schemas["Problem"];
export type Issue = Problem & { level: "error" | "warning" | "hint" };

/** Where an issue points: an edge, a node, several nodes (a cycle), or the graph as a whole. */
export function issueTarget(issue: Problem): { node: string | null; edge: string | null; label: string } {
  if (issue.edge) {
    const { source, target } = issue.edge;
    const id = edgeId(source, issue.edge.source_port ?? "out", target, issue.edge.target_port ?? "in");
    return { node: issue.node ?? null, edge: id, label: `${source} → ${target}` };
  }
  if (issue.nodes?.length) return { node: issue.nodes[0], edge: null, label: issue.nodes.join(" → ") };
  if (issue.node) return { node: issue.node, edge: null, label: issue.node };
  return { node: null, edge: null, label: "graph" };
}

const NO_PROBLEMS: Problem[] = [];

export function IssuesPanel() {
  const open = useOverlay((s) => s.issuesOpen);
  const errors = useGraph((s) => s.validation?.errors ?? NO_PROBLEMS);
  const warnings = useGraph((s) => s.validation?.warnings ?? NO_PROBLEMS);
  const hints = useGraph((s) => s.validation?.hints ?? NO_PROBLEMS);
  const checking = useGraph((s) => s.validation === null && s.nodes.length > 0);
  const flow = useReactFlow();
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && useOverlay.getState().setIssuesOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
  if (!open) return null;
  const issues: Issue[] = [
    ...errors.map((e) => ({ ...e, level: "error" as const })),
    ...warnings.map((w) => ({ ...w, level: "warning" as const })),
    ...hints.map((h) => ({ ...h, level: "hint" as const })),
  ];
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return (
    <section className="issues-panel" data-testid="issues" aria-label="issues">
      <div className="issues-head">
        <h2>Issues</h2>
        <span className="muted" data-testid="issues-count">
          {count(errors.length, "error")} · {count(warnings.length, "warning")}
          {hints.length > 0 && ` · ${count(hints.length, "hint")}`}
        </span>
        <button onClick={() => useOverlay.getState().setIssuesOpen(false)} aria-label="close the issues" title="Close (Esc)">
          ✕
        </button>
      </div>
      {checking && <p className="muted">Checking the graph…</p>}
      {!checking && issues.length === 0 && <p className="muted">No errors or warnings: the graph is ready to train.</p>}
      {!checking && errors.length === 0 && warnings.length > 0 && (
        <p className="muted small">Warnings do not block Train: they say what is likely to go wrong.</p>
      )}
      <ol className="issues-list">
        {issues.map((issue, i) => {
          const where = issueTarget(issue);
          const findable = where.node !== null || where.edge !== null;
          return (
            <li key={`${issue.level}-${i}`}>
              <button
                className={`issue ${issue.level}`}
                disabled={!findable}
                onClick={() => {
                  if (focusOn(flow, where)) return;
                  // An error inside a block (`block1.0.conv1`): show the Block node it is in.
                  const owner = where.node ? blockOwner(where.node, useGraph.getState().nodes) : null;
                  if (!owner || !focusOn(flow, { node: owner })) notify(`'${where.label}' is not on the canvas`);
                }}
                data-testid={`issue-${i}`}
                title={findable ? `Show ${where.edge ? "the connection" : `'${where.node}'`} on the canvas` : "About the graph as a whole"}
              >
                <span className="issue-icon" aria-label={issue.level}>
                  {issue.level === "error" ? "●" : issue.level === "warning" ? "▲" : "◆"}
                </span>
                <span className="issue-message">{issue.message}</span>
                <span className="issue-where">{where.label}</span>
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
