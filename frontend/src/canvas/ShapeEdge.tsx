// An edge labelled with the tensor shape it carries (e.g. 32×8×8).
import { BaseEdge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from "@xyflow/react";
import { memo } from "react";
import { type PortEdge, formatShape } from "../lib/graph";
import { useGraph } from "../stores/graph";

function ShapeEdgeView(props: EdgeProps<PortEdge>) {
  const { id, source, target, sourceHandleId, targetHandleId, selected } = props;
  const [path, x, y] = getBezierPath(props);
  const shape = useGraph((s) => {
    const e = s.validation?.edges.find(
      (v) =>
        v.source === source &&
        v.target === target &&
        v.source_port === (sourceHandleId ?? "out") &&
        v.target_port === (targetHandleId ?? "in"),
    );
    return e?.shape ? formatShape(e.shape) : "";
  });
  return (
    <>
      <BaseEdge id={id} path={path} className={selected ? "edge-selected" : undefined} />
      {shape && (
        <EdgeLabelRenderer>
          <div className="edge-label" style={{ transform: `translate(-50%, -50%) translate(${x}px, ${y}px)` }}>
            {shape}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const ShapeEdgeComponent = memo(ShapeEdgeView);
