// A bar over the canvas while Block nodes are expanded for editing: one Collapse button per block.
import { Panel } from "@xyflow/react";
import { collapseNode, useExpanded } from "../stores/blocks";

export function ExpandedBlocks() {
  const expanded = useExpanded();
  const ids = Object.keys(expanded);
  if (!ids.length) return null;
  return (
    <Panel position="top-center" className="expanded-blocks" data-testid="expanded-blocks">
      {ids.map((id) => (
        <button key={id} onClick={() => collapseNode(id)} data-testid={`btn-collapse-${id}`} title={`Make '${id}' one node again; its layers as edited become the block '${expanded[id].block}'`}>
          Collapse {id} ({expanded[id].block} ×{String(expanded[id].params.repeat ?? 1)})
        </button>
      ))}
    </Panel>
  );
}
