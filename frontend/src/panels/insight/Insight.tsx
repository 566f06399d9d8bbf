// "Evaluate & explain": a finished run's evaluation and explanations in a wide dialog over the app.
import { useEffect, useState } from "react";
import type { GraphJSON } from "../../api/client";
import { EvaluationView } from "./Evaluation";
import { ExplainView } from "./Explain";
import "./insight.css";

const ATTENTION = new Set(["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer"]);

export function InsightButton({ runId, graph }: { runId: string; graph?: GraphJSON }) {
  const [open, setOpen] = useState(false);
  const [tab, setTab] = useState<"evaluation" | "explain">("evaluation");
  useEffect(() => {
    if (!open) return;
    const close = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [open]);
  const hasAttention = (graph?.nodes ?? []).some((n) => ATTENTION.has(n.type));
  return (
    <>
      <button className="insight-open" onClick={() => setOpen(true)} data-testid="btn-insight">
        Evaluate &amp; explain…
      </button>
      {open && (
        <div className="insight-backdrop" onClick={() => setOpen(false)}>
          <div className="insight-dialog" role="dialog" aria-label="Evaluation and explanations" onClick={(e) => e.stopPropagation()} data-testid="insight">
            <header>
              <button className={tab === "evaluation" ? "active" : ""} onClick={() => setTab("evaluation")} data-testid="insight-tab-evaluation">
                Evaluation
              </button>
              <button className={tab === "explain" ? "active" : ""} onClick={() => setTab("explain")} data-testid="insight-tab-explain">
                Explain a prediction
              </button>
              <span className="grow" />
              <span className="muted small">run {runId}</span>
              <button onClick={() => setOpen(false)} aria-label="Close" data-testid="insight-close">
                ✕
              </button>
            </header>
            <div className="insight-body">
              {tab === "evaluation" ? <EvaluationView runId={runId} /> : <ExplainView runId={runId} hasAttention={hasAttention} />}
            </div>
          </div>
        </div>
      )}
    </>
  );
}
