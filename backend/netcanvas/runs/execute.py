"""One training run from graph JSON to a run directory; shared by the server's worker process and the CLI.

Loads the dataset, compiles the graph (after ``torch.manual_seed``), prepares the splits,
calls the pure training loop and writes everything into a ``RunDir``. Every failure —
a bad config, an unknown dataset, an invalid graph, a loss that became NaN — ends as a
``failed`` outcome with an ``error`` event and a ``done`` event, never as an exception.
The best and last weights are written as training goes (``Checkpoints``): an ``epoch``
event is sent after its weights are on disk, so a run killed mid-way keeps its best
weights so far. The ``done`` event is sent only after the final weights are on disk, so
whoever sees it can export the model at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file

from .. import __version__
from ..artifacts import RunDir, RunInfo
from ..compiler import CompiledGraph, GraphInvalid, compile_graph
from ..data import DataError, PreparedData, load, prepare
from ..data.errors import UploadError
from ..data.fit import prepare_upload
from ..data.resample import resample, split_seed
from ..data.uploads import DatasetStore
from ..graph import Graph, field_errors
from ..training import TrainConfig, train
from ..training.config import Init
from ..training.events import DoneEvent, ErrorEvent, Event, InitEvent, InitMismatch, LogEvent, StatusEvent
from ..training.gan import GanError, GanParts, split_gan, train_gan
from ..training.loop import Parallel
from ..training.pause import PAUSE_FILE, CheckpointError, Pause, load_paused, save_paused
from ..training.tensorboard import TensorBoardLog
from ..training.transfer import Matched, check_freeze, match_weights, weights_file
from ..weights import node_state_dict

Emit = Callable[[Event], None]
PARALLEL_NEEDS_RAY = "data-parallel training (workers > 1) needs NETCANVAS_EXECUTOR=ray"


def parallel_problem(config: TrainConfig, on_ray: bool) -> str | None:
    """Why ``config.workers`` > 1 cannot train here, or None."""
    if not on_ray:
        return PARALLEL_NEEDS_RAY
    if config.gan is not None:
        return "data-parallel training does not cover GAN runs; give a GAN 1 worker"
    return None


class Sharding(Parallel, Protocol):
    """A data-parallel worker (runs/ray_train.py): its shard of the training split, and the loop's hooks."""

    def shard(self, data: PreparedData) -> PreparedData: ...


@dataclass
class RunOutcome:
    status: str
    """completed | stopped | failed | paused"""
    error: str | None = None
    node: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None


def validation_message(error: ValidationError, what: str) -> str:
    """A pydantic error as one readable line per field: ``config.optimizer.lr: ...``."""
    return "; ".join(f"{what}.{loc}: {msg}" if loc else f"{what}: {msg}" for loc, msg in field_errors(error))


def graph_message(error: GraphInvalid) -> str:
    return "invalid graph: " + "; ".join(p.message for p in error.errors)


class Checkpoints:
    """Writes the best and last weights into the run directory while training (each file atomically).

    The best weights are written whenever the monitored metric improves (before the epoch's event: its
    ``best`` is on disk). The last ones are written (or linked to the best file, when they are the best)
    after an epoch unless that would make their writes more than ``SHARE`` of the time since the previous
    one (a small model's quick epochs, or a big model), then less often. A write that fails (a full disk) is
    reported once and training goes on.
    """

    SHARE = 0.02

    def __init__(self, run_dir: RunDir, compiled: CompiledGraph, emit: Emit):
        self.run_dir, self.compiled, self.emit = run_dir, compiled, emit
        self.written_at = -float("inf")
        self.cost = 0.0
        self.broken = False

    def __call__(self, state: dict[str, torch.Tensor], best: bool) -> None:
        started = time.perf_counter()
        last = started - self.written_at >= self.cost / self.SHARE
        if self.broken or not (best or last):
            return
        try:
            if best:
                self.run_dir.write_weights(node_state_dict(self.compiled, state), "best")
            if last:
                last_started = time.perf_counter()
                if best:
                    self.run_dir.copy_weights("best", "last")
                else:
                    self.run_dir.write_weights(node_state_dict(self.compiled, state), "last")
        except OSError as e:
            self.broken = True
            self.emit(LogEvent(level="warning", message=f"could not write the weights during training ({e}); "
                                                        "they are written again when the run ends"))
            return
        if last:
            self.written_at = time.perf_counter()
            self.cost = self.written_at - last_started


def execute(graph: Graph | dict[str, Any], dataset: dict[str, Any], config: TrainConfig | dict[str, Any],
            out: str | Path, emit: Emit, should_stop: Callable[[], bool] = lambda: False, *,
            run_id: str | None = None, threads: int | None = None,
            created_at: datetime | None = None, datasets_dir: str | Path | None = None,
            should_pause: Callable[[], bool] | None = None, resume: bool = False,
            runs_dir: str | Path | None = None, parallel: Sharding | None = None) -> RunOutcome:
    """Train ``graph`` on a built-in ``dataset`` ({"name": ...}) or an upload ({"id": ...} in ``datasets_dir``)
    with ``config``; write the run into ``out``.

    ``should_pause`` is asked before each step: when it says so, the run's state goes to ``pause.pt`` in the run
    directory and the run ends ``paused`` (a ``status`` event, no ``done``). ``resume`` starts from that file;
    one that is missing or cannot be read fails the run with a message naming it. The file is removed when the
    run ends. ``parallel``: this process is one worker of a data-parallel run (runs/ray_train.py), which trains
    on its shard of the training split; without it a config asking for several ``workers`` fails."""
    run_dir = RunDir(out)
    graph_data = graph.model_dump(mode="json", exclude_unset=True) if isinstance(graph, Graph) else graph
    config_data = config.model_dump(mode="json") if isinstance(config, TrainConfig) else config
    info = RunInfo(id=run_id, dataset=dataset, seed=_seed(config), status="running",
                   created_at=(created_at or datetime.now(UTC)).isoformat(),
                   netcanvas_version=__version__, torch_version=torch.__version__)
    run_dir.begin(graph_data, config_data, info)
    held: list[DoneEvent] = []
    paused: list[StatusEvent] = []

    def forward(event: Event) -> None:
        if isinstance(event, DoneEvent):
            held.append(event)  # sent once the files are written
        elif isinstance(event, StatusEvent) and event.status == "paused":
            paused.append(event)  # likewise
        else:
            emit(event)

    outcome = _train(graph_data, dataset, config, run_dir, forward, should_stop, threads, datasets_dir,
                     should_pause, resume, Path(runs_dir) if runs_dir is not None else run_dir.path.parent,
                     parallel)
    if outcome.status == "paused":
        info.status = "paused"
        run_dir.write_history(outcome.history)
        run_dir.write_info(info)
        emit(paused[-1])
        return outcome
    (run_dir.path / PAUSE_FILE).unlink(missing_ok=True)
    info.status, info.error = outcome.status, outcome.error
    info.metrics, info.test_metrics = outcome.metrics, outcome.test_metrics
    info.finished_at = datetime.now(UTC).isoformat()
    done = held[-1] if held else DoneEvent(status=outcome.status, metrics=outcome.metrics,  # type: ignore[arg-type]
                                           test_metrics=outcome.test_metrics, best_epoch=outcome.best_epoch)
    info.runtime = done.runtime.model_dump() if done.runtime is not None else None
    run_dir.write_history(outcome.history)
    run_dir.write_info(info)
    emit(done)
    return outcome


def _seed(config: TrainConfig | dict[str, Any]) -> int | None:
    if isinstance(config, TrainConfig):
        return config.seed
    seed = config.get("seed", 0)
    return seed if isinstance(seed, int) else None


def _train(graph: dict[str, Any], dataset: dict[str, Any], config: TrainConfig | dict[str, Any],
           run_dir: RunDir, emit: Emit, should_stop: Callable[[], bool], threads: int | None,
           datasets_dir: str | Path | None = None, should_pause: Callable[[], bool] | None = None,
           resume: bool = False, runs_dir: Path | None = None, parallel: Sharding | None = None) -> RunOutcome:
    def fail(message: str, node: str | None = None) -> RunOutcome:
        emit(ErrorEvent(message=message, node=node))
        return RunOutcome(status="failed", error=message, node=node)

    pause_file = run_dir.path / PAUSE_FILE
    try:
        paused = load_paused(pause_file) if resume else None
    except CheckpointError as e:
        return fail(f"cannot resume: {e}")
    pause = Pause(requested=should_pause or (lambda: False), save=lambda state: save_paused(pause_file, state),
                  resume=paused)

    try:
        cfg = config if isinstance(config, TrainConfig) else TrainConfig.model_validate(config)
    except ValidationError as e:
        return fail(validation_message(e, "config"))
    if cfg.workers > 1 and (problem := parallel_problem(cfg, parallel is not None)):
        return fail(f"config.workers: {problem}")
    if threads is not None and "num_threads" not in cfg.model_fields_set:
        cfg = cfg.model_copy(update={"num_threads": threads})
    torch.set_num_threads(cfg.num_threads)
    name = dataset.get("name")
    if not isinstance(name, str) and not (isinstance(dataset.get("id"), str) and datasets_dir is not None):
        return fail("dataset: give a built-in dataset as {\"name\": ...}")
    try:
        ds = load(name) if isinstance(name, str) else None
    except KeyError as e:
        return fail(str(e).strip("'\""))
    torch.manual_seed(cfg.seed)
    try:
        compiled = compile_graph(graph)
    except GraphInvalid as e:
        return fail(graph_message(e), e.errors[0].node if e.errors else None)
    gan: GanParts | None = None
    if cfg.gan is not None:  # two parts of the graph, each compiled on its own (training/gan.py)
        torch.manual_seed(cfg.seed)
        try:
            gan = split_gan(graph, cfg.gan)
        except GanError as e:
            return fail(f"config.gan.{e.field}: {e}", e.node)
        if cfg.init is not None:
            return fail("config.init: a GAN run cannot start from another run's weights")
        compiled = gan.data_signature  # the data binds to the discriminator's image Input
    try:
        seed = split_seed(dataset, cfg.seed)  # an ensemble member's split is its ensemble's
        if ds is None:
            data = prepare_upload(DatasetStore(Path(datasets_dir or ".")), dataset, compiled, seed=seed,
                                  validation_split=cfg.validation_split)
        else:
            data = prepare(ds, compiled, seed=seed, validation_split=cfg.validation_split,
                           overrides=dataset.get("binding") or None)
        data = resample(data, dataset)
        data = parallel.shard(data) if parallel is not None else data
    except (DataError, UploadError) as e:
        return fail(str(e))
    run_dir.write_preprocessing(data.preprocessing)
    try:
        loaded = start_from(compiled, cfg.init, runs_dir or run_dir.path.parent, emit)
    except ValueError as e:
        return fail(str(e))
    if should_stop():
        return RunOutcome(status="stopped")
    if gan is not None:
        return _train_gan(gan, data, cfg, run_dir, emit, should_stop, pause)
    board = TensorBoardLog.for_run(run_dir.path, compiled, data, emit) if cfg.tensorboard else None
    result = train(compiled, data, cfg, board.wrap(emit) if board else emit, should_stop,
                   Checkpoints(run_dir, compiled, emit), loaded=loaded, pause=pause, parallel=parallel)
    if board is not None:
        board.close()
    if result.best_state is not None:
        run_dir.write_weights(node_state_dict(compiled, result.best_state), "best")
    if result.last_state is not None:
        run_dir.write_weights(node_state_dict(compiled, result.last_state), "last")
    return RunOutcome(status=result.status, error=result.error, node=result.node, metrics=result.metrics,
                      test_metrics=result.test_metrics, history=result.history, best_epoch=result.best_epoch)


def start_from(compiled: CompiledGraph, init: Init | None, runs_dir: Path | None, emit: Emit) -> list[str]:
    """Load ``init.run``'s weights into the nodes that match by id and shape (a run id among the directories of
    ``runs_dir``, or a run directory or weights file), report it with an ``init`` event, and return the loaded
    node ids. Raises ValueError naming ``config.init.run`` or ``config.init.freeze[i]``."""
    if init is None:
        return []
    check_freeze(init, set(compiled.module_names) | set(compiled.node_types))
    matched = Matched()
    if init.run is not None:
        try:
            file = weights_file(init.run, runs_dir)
            tensors = load_file(str(file))
        except ValueError as e:
            raise ValueError(f"config.init.run: {e}") from None
        except (OSError, SafetensorError) as e:
            raise ValueError(f"config.init.run: the weights of '{init.run}' cannot be read ({e})") from None
        matched = match_weights(compiled, tensors)
    emit(InitEvent(run=init.run, loaded=matched.loaded, frozen=init.freeze, fresh=matched.fresh,
                   mismatched=[InitMismatch(node=m.node, reason=m.reason) for m in matched.mismatched],
                   lr_scale=init.lr_scale))
    if init.run is not None:
        left = [m.node for m in matched.mismatched]
        emit(LogEvent(level="warning" if left else "info",
                      message=f"started from run {init.run}: loaded {len(matched.loaded)} nodes"
                              + (f"; mismatched, left fresh: {', '.join(left)}" if left else "")))
    return matched.loaded


def _train_gan(gan: GanParts, data: PreparedData, cfg: TrainConfig, run_dir: RunDir, emit: Emit,
               should_stop: Callable[[], bool], pause: Pause) -> RunOutcome:
    """A GAN run: both parts' weights (keyed by node id) are written after every epoch and at the end (a paused
    run's too); TensorBoard gets its events and both parts' histograms."""
    broken: list[OSError] = []

    def checkpoint(state: dict[str, torch.Tensor], best: bool) -> None:
        if broken:
            return
        try:
            run_dir.write_weights(state, "best")
            run_dir.copy_weights("best", "last")
        except OSError as e:
            broken.append(e)
            emit(LogEvent(level="warning", message=f"could not write the weights during training ({e}); "
                                                   "they are written again when the run ends"))

    board = (TensorBoardLog.for_run(run_dir.path, [gan.generator, gan.discriminator], None, emit)
             if cfg.tensorboard else None)  # no graph: a GAN is two modules
    result = train_gan(gan, data, cfg, board.wrap(emit) if board else emit, should_stop, checkpoint, pause)
    if board is not None:
        board.close()
    for which, state in (("best", result.best_state), ("last", result.last_state)):
        if state is not None:
            run_dir.write_weights(state, which)
    return RunOutcome(status=result.status, error=result.error, node=result.node, metrics=result.metrics,
                      test_metrics=result.test_metrics, history=result.history, best_epoch=result.best_epoch)
