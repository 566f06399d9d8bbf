// An edge labelled with the tensor shape it carries (e.g. 32×8×8).
import { BaseEdge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from "@xyflow/react";
import { memo } from "react";
import { type PortEdge, formatShape, operandIndex } from "../lib/graph";
import { useDrawn } from "./drawn";

function ShapeEdgeView(props: EdgeProps<PortEdge>) {
  const { id, selected } = props;
  const [path, x, y] = getBezierPath(props);
  // The array itself (kept across updates): a string made here would be made for every edge on every drag frame.
  const carried = useDrawn((s) => s.edgeShapes[id]);
  const shape = carried ? formatShape(carried) : "";
  // Into a port with several inputs (Concat, Add, ...), edge order is operand order: number them.
  const operand = useDrawn((s) => operandIndex(s.edges).get(id));
  const error = useDrawn((s) => s.edgeErrors[id] ?? null);
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        className={selected ? "edge-selected" : error ? "edge-invalid" : undefined}
        data-testid={`edge-${id}`}
        aria-invalid={error ? true : undefined}
      />
      {(shape || operand) && (
        <EdgeLabelRenderer>
          {/* Placed with left/top and centred by a zero-size flex box: a transform per label costs a layer each. */}
          <div className="edge-label" style={{ left: x, top: y }}>
            <span>
              {operand ? <b className="operand">{operand}</b> : null}
              {shape}
            </span>
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const ShapeEdgeComponent = memo(ShapeEdgeView);
