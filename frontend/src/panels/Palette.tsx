// Every layer of the catalog, grouped by category and searchable; drag one onto the canvas.
import { type CSSProperties, useMemo, useState } from "react";
import { DRAG_MIME } from "../canvas/Canvas";
import { categoryColor, useCatalog } from "../stores/catalog";

export function Palette() {
  const catalog = useCatalog((s) => s.catalog);
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = new Map<string, { type: string; doc: string }[]>();
    for (const l of catalog?.layers ?? []) {
      if (q && !l.type.toLowerCase().includes(q) && !l.doc.toLowerCase().includes(q) && !l.category.includes(q)) continue;
      out.set(l.category, [...(out.get(l.category) ?? []), { type: l.type, doc: l.doc }]);
    }
    return [...out.entries()];
  }, [catalog, query]);

  return (
    <aside className="palette" data-testid="palette">
      <input
        className="search"
        placeholder="Search layers…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="palette-search"
      />
      <div className="palette-groups">
        {groups.map(([category, layers]) => (
          <section key={category}>
            <h3>{category}</h3>
            {layers.map((l) => (
              <div
                key={l.type}
                className="palette-item"
                style={{ "--cat": categoryColor(category) } as CSSProperties}
                draggable
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_MIME, l.type);
                  e.dataTransfer.effectAllowed = "move";
                }}
                title={l.doc}
                data-testid={`palette-${l.type}`}
              >
                {l.type}
              </div>
            ))}
          </section>
        ))}
        {groups.length === 0 && <p className="muted">No layer matches “{query}”.</p>}
      </div>
    </aside>
  );
}
