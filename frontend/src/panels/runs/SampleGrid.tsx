// A GAN run's generated samples: the latest epoch's grid, refreshed live, and a slider back through the epochs.
import { useState } from "react";
import { useSamples } from "../../stores/samples";
import "./samples.css";

/** Pixels on screen per sample pixel: small images (8×8 digits) are drawn big and sharp. */
function zoomFor(width: number, cols: number): number {
  return Math.max(1, Math.min(8, Math.floor(300 / ((width + 1) * cols))));
}

export function SampleGrid() {
  const grids = useSamples((s) => s.grids);
  // null: follow the newest grid; a number: the epoch picked on the slider
  const [picked, setPicked] = useState<number | null>(null);
  if (!grids.length) return null;
  const index = picked === null ? grids.length - 1 : Math.min(picked, grids.length - 1);
  const grid = grids[index];
  const zoom = zoomFor(grid.width, grid.cols);
  const width = ((grid.width + 1) * grid.cols - 1) * zoom;
  const height = ((grid.height + 1) * grid.rows - 1) * zoom;
  return (
    <div className="sample-grid" data-testid="sample-grid">
      <div className="sample-grid-title">
        <b>Generated samples</b>
        <span className="muted small" data-testid="sample-epoch">
          epoch {grid.epoch}
        </span>
      </div>
      <img
        src={`data:image/png;base64,${grid.png}`}
        width={width}
        height={height}
        alt={`${grid.rows * grid.cols} samples generated after epoch ${grid.epoch}`}
        data-testid="sample-image"
      />
      {grids.length > 1 && (
        <label className="sample-grid-slider small muted">
          <input
            type="range"
            min={0}
            max={grids.length - 1}
            value={index}
            onChange={(e) => {
              const value = Number(e.target.value);
              setPicked(value === grids.length - 1 ? null : value);
            }}
            aria-label="epoch of the samples"
          />
          {picked === null ? "latest" : `epoch ${grid.epoch} of ${grids[grids.length - 1].epoch}`}
        </label>
      )}
      <div className="muted small">The same noise each epoch: watch each sample turn into a digit.</div>
    </div>
  );
}
