// A GAN (docs/training-config.md#gans): the Train tab's switch for `kind: "gan"`, which Output ends the generator and
// which the discriminator, the loss and the discriminator steps, and how many nodes each part holds.
import { type Schemas } from "../../api/client";
import { renameListeners, useGraph } from "../../stores/graph";
import { useTrain } from "../../stores/train";
import "./gan.css";

type GanSpec = Schemas["GanSpec"];

/** The ids of the nodes that lead to `output` (itself included): one part of a GAN. */
export function upstream(output: string, edges: { source: string; target: string }[]): Set<string> {
  const part = new Set([output]);
  const todo = [output];
  while (todo.length) {
    const id = todo.pop()!;
    for (const e of edges) {
      if (e.target === id && !part.has(e.source)) {
        part.add(e.source);
        todo.push(e.source);
      }
    }
  }
  return part;
}

function setGan(part: Partial<GanSpec> | null) {
  const { config, patch } = useTrain.getState();
  if (part === null) {
    patch({ kind: "supervised", gan: null });
    return;
  }
  patch({ kind: "gan", gan: { ...(config.gan ?? { generator: "", discriminator: "" }), ...part } });
}

// A renamed Output stays the part's end under its new id.
renameListeners.add((from, to) => {
  const gan = useTrain.getState().config.gan;
  if (gan && (gan.generator === from || gan.discriminator === from)) {
    setGan({ generator: gan.generator === from ? to : gan.generator, discriminator: gan.discriminator === from ? to : gan.discriminator });
  }
});

export function GanSettings() {
  const gan = useTrain((s) => (s.config.kind === "gan" ? s.config.gan : null));
  const nodes = useGraph((s) => s.nodes);
  const edges = useGraph((s) => s.edges);
  const outputs = nodes.filter((n) => n.data.type === "Output").map((n) => n.id);
  if (!gan && outputs.length < 2) return null; // a GAN needs two Outputs
  const parts = gan
    ? ([
        ["generator", gan.generator],
        ["discriminator", gan.discriminator],
      ] as const).map(([role, id]) => {
        const part = upstream(id, edges);
        const start = nodes.find((n) => part.has(n.id) && n.data.type === "Input")?.id;
        return { role, id, size: part.size, start };
      })
    : [];
  const shared = gan ? [...upstream(gan.generator, edges)].filter((id) => upstream(gan.discriminator, edges).has(id)) : [];
  return (
    <div className="gan-settings" data-testid="gan-settings">
      <label className="gan-switch">
        <input
          type="checkbox"
          checked={!!gan}
          data-testid="gan-toggle"
          onChange={(e) => setGan(e.target.checked ? { generator: outputs[0], discriminator: outputs[1] } : null)}
        />
        GAN: train a generator against a discriminator
      </label>
      {gan && (
        <>
          {parts.map(({ role, id }) => (
            <label key={role} className="gan-row">
              <span>{role}</span>
              <select value={id} data-testid={`gan-${role}`} onChange={(e) => setGan({ [role]: e.target.value })}>
                {outputs.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </label>
          ))}
          <label className="gan-row">
            <span>loss</span>
            <select value={gan.loss ?? "non_saturating"} data-testid="gan-loss" onChange={(e) => setGan({ loss: e.target.value as GanSpec["loss"] })}>
              <option value="non_saturating">non-saturating</option>
              <option value="wgan_gp">WGAN-GP</option>
            </select>
          </label>
          <label className="gan-row">
            <span>D steps per G step</span>
            <input
              type="number"
              min={1}
              max={20}
              value={gan.d_steps ?? 1}
              onChange={(e) => setGan({ d_steps: Math.max(1, Math.min(20, Number(e.target.value) || 1)) })}
            />
          </label>
          <div className="muted small" data-testid="gan-parts">
            {parts.map((p) => `${p.role}: ${p.start ?? "?"} → ${p.id} (${p.size} nodes)`).join(" · ")}
          </div>
          {shared.length > 0 && (
            <div className="gan-warning small" data-testid="gan-overlap">
              The two parts share {shared.slice(0, 3).join(", ")}: each node must lead to one Output only.
            </div>
          )}
        </>
      )}
    </div>
  );
}
