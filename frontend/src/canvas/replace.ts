// Replacing the canvas (New, Templates, Open, a server graph) is undoable: a toast offers the previous graph back,
// with the server graph it was saved as and, when a template also changed them, the dataset and training config.
import { useGraph } from "../stores/graph";
import { useLibrary } from "../stores/library";
import { useTrain } from "../stores/train";
import { useWatchedRun } from "../stores/watchedRun";
import { offerUndo } from "../ui/UndoToast";

/** Run `replace` (which loads another graph) and, if the canvas held a graph, offer to bring it back. A finished run
 * shown in the Train panel belongs to the graph replaced: it goes too (and comes back with Undo); a live one stays. */
export function replaceCanvas(done: string, replace: () => void, onRestored?: () => void): void {
  const { nodes, edges, name, direction, search } = useGraph.getState();
  const serverId = useLibrary.getState().currentId;
  const { dataset, config } = useTrain.getState();
  const { runId, status } = useWatchedRun.getState();
  const finishedRun = runId && status !== "running" && status !== "queued" && status !== "paused" ? runId : null;
  replace();
  if (finishedRun) useWatchedRun.getState().clear();
  if (!nodes.length) return;
  offerUndo(`${done}; '${name}' was replaced.`, () => {
    useGraph.getState().restore({ nodes, edges, name, direction, search });
    useLibrary.setState({ currentId: serverId });
    useTrain.setState({ dataset, config });
    if (finishedRun) useWatchedRun.getState().watch(finishedRun);
    onRestored?.();
  });
}
