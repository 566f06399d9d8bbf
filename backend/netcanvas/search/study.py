"""Studies: an optuna sampler and pruner driving ordinary runs (docs/search.md).

Each study has one driver thread, in the server that owns it (``search_studies.owner``): the one that started it,
or took it over once its owner was gone (several servers may share one database, ``runs/cluster.py``). The
driver asks optuna for a trial, writes its values into the graph and config, submits the run through the run
manager like any other run, and follows the run's stored epoch events: each epoch's objective is reported to
the pruner, and a pruned trial's run is stopped and says so. A study and its trials live in the database
(``store/studies.py``); when a server takes a study over it replays them into optuna and carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from pydantic import TypeAdapter
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..runs import RunManager
from ..runs.drivers import POLL_SECONDS, DriverService
from ..runs.drivers import Driver as BaseDriver
from ..store import FINISHED, Database, RunRow, utcnow
from ..store.studies import StudyRow, TrialRow
from ..training import TrainConfig
from .space import Categorical, Dimension, FloatRange, Space, Target, apply, grid_values, parse_key

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)

Sampler = Literal["grid", "random", "tpe"]
Direction = Literal["minimize", "maximize"]
SPACE_ADAPTER: TypeAdapter[Space] = TypeAdapter(Space)


class TrialRejected(Exception):
    """A trial's graph or config cannot train (the reason is the message); the trial fails, the study goes on."""


Prepare = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any],
                                                                           TrainConfig]]
"""Checks a trial's graph, dataset and config as ``POST /api/runs`` does; raises TrialRejected."""


def distribution(dim: FloatRange | Any) -> BaseDistribution:
    if isinstance(dim, Categorical):
        return CategoricalDistribution(dim.choices)
    if isinstance(dim, FloatRange):
        return FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
    return IntDistribution(dim.low, dim.high, log=dim.log, step=dim.step)


def distributions(space: Space) -> dict[str, BaseDistribution]:
    return {key: distribution(dim) for key, dim in space.items()}


class GridSampler(optuna.samplers.GridSampler):
    """optuna's grid sampler without its ``study.stop()`` once the grid is covered (that works only inside
    ``study.optimize``); a grid study's budget is its grid size."""

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        return None


def make_sampler(kind: str, space: Space, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    if kind == "grid":
        grid = {key: grid_values(dim) or [] for key, dim in space.items()}
        return GridSampler(grid, seed=seed)
    if kind == "tpe":  # random until a third of the budget (at most 10 trials) has run, then model-based
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, trials // 3)))
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(kind: str | None) -> optuna.pruners.BasePruner:
    if kind == "median":  # after two finished trials, from the second epoch on
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    return optuna.pruners.NopPruner()


def best_of(values: list[float], direction: str) -> float:
    return max(values) if direction == "maximize" else min(values)


def frozen(row: TrialRow, dists: dict[str, BaseDistribution]) -> optuna.trial.FrozenTrial | None:
    """A finished trial as optuna keeps it (for replaying a study), or None for one that does not count."""
    steps = {int(step): float(value) for step, value in row.intermediate}
    params = {k: v for k, v in row.params.items() if k in dists}
    used = {k: dists[k] for k in params}
    if row.state == "complete" and row.value is not None:
        return optuna.trial.create_trial(state=TrialState.COMPLETE, value=row.value, params=params,
                                         distributions=used, intermediate_values=steps)
    if row.state == "pruned":
        return optuna.trial.create_trial(state=TrialState.PRUNED, params=params, distributions=used,
                                         intermediate_values=steps)
    if row.state in ("failed", "stopped"):
        return optuna.trial.create_trial(state=TrialState.FAIL, params=params, distributions=used,
                                         intermediate_values=steps)
    return None


@dataclass
class Live:
    """A trial whose run the driver follows."""

    number: int
    trial: optuna.Trial
    run_id: str
    after: int = 0
    """The last event seq read."""


class Driver(BaseDriver):
    """Runs one study until its budget is spent, it is stopped, or the server closes."""

    def __init__(self, service: StudyService, study_id: str):
        super().__init__(service, study_id, "study")
        self.service, self.study_id = service, study_id
        self.live: dict[int, Live] = {}

    @property
    def db(self) -> Database:
        return self.service.db

    def failed(self, error: Exception) -> None:
        log.exception("study %s failed", self.study_id)
        self.finish("failed", f"the study stopped on an internal error: {error}")

    def drive(self) -> None:
        with self.db.session() as s:
            row = s.get(StudyRow, self.study_id)
            if row is None or row.status != "running":
                return
            self.graph, self.dataset, self.config = row.graph, row.dataset, row.config
            self.space = SPACE_ADAPTER.validate_python(row.space)
            self.objective, self.budget = row.objective, row.trials
            self.direction: Direction = "maximize" if row.direction == "maximize" else "minimize"
            self.parallel, self.name = row.parallel, row.name
            sampler = make_sampler(row.sampler, self.space, row.seed, row.trials)
            pruner = make_pruner(row.pruner)
            rows = list(s.scalars(select(TrialRow).where(TrialRow.study_id == self.study_id)
                                  .order_by(TrialRow.number)))
            node_ids = [n["id"] for n in self.graph.get("nodes", [])]
        self.targets: dict[str, Target] = {}
        for key in self.space:
            target = parse_key(key, node_ids)
            assert isinstance(target, Target), "checked when the study was created"
            self.targets[key] = target
        self.dists = distributions(self.space)
        self.study = optuna.create_study(direction=self.direction, sampler=sampler, pruner=pruner)
        self.resume(rows)
        while not self.closing.is_set():
            if self.owner() != self.service.server:  # another server took it over (took this one for dead)
                log.warning("study %s is driven by another server now: letting go", self.study_id)
                return
            if self.status() != "running":
                self.stop_live("the study was stopped")
                return
            for live in list(self.live.values()):
                self.follow(live)
            while len(self.live) < self.parallel and self.started() < self.budget and not self.closing.is_set():
                self.start_trial()
            if not self.live and self.started() >= self.budget:
                self.finish("completed")
                return
            self.closing.wait(POLL_SECONDS)

    # ---- trials ------------------------------------------------------------------------------------------------

    def resume(self, rows: list[TrialRow]) -> None:
        """Replay finished trials into optuna; follow again the runs of unfinished ones, but those cut off with their
        server (a trial whose run ended with it, was never submitted, or trains on a server that is gone)."""
        for row in rows:
            trial = frozen(row, self.dists)
            if trial is not None:
                self.study.add_trial(trial)
        live_servers = self.service.manager.cluster.live_servers()
        for row in rows:
            if row.state != "running":
                continue
            with self.db.session() as s:
                run = s.get(RunRow, row.run_id) if row.run_id is not None else None
                status, owner = (run.status, run.owner) if run is not None else (None, None)
            orphaned = status in ("queued", "running") and owner is not None and owner not in live_servers
            if row.run_id is None or status is None or orphaned or (status in FINISHED and status != "completed"):
                self.update(row.number, state="interrupted", finished_at=utcnow(),
                            message="the server stopped while this trial ran; another trial takes its place")
                continue
            self.study.enqueue_trial(row.params, skip_if_exists=False)
            self.live[row.number] = Live(row.number, self.study.ask(self.dists), row.run_id)

    def started(self) -> int:
        with self.db.session() as s:
            return len(s.scalars(select(TrialRow.number).where(TrialRow.study_id == self.study_id,
                                                                 TrialRow.state != "interrupted")).all())

    def status(self) -> str | None:
        with self.db.session() as s:
            row = s.get(StudyRow, self.study_id)
            return row.status if row is not None else None

    def owner(self) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(StudyRow.owner).where(StudyRow.id == self.study_id))

    def start_trial(self) -> None:
        trial = self.study.ask(self.dists)
        values = dict(trial.params)
        with self.db.session() as s:
            number = len(s.scalars(select(TrialRow.number).where(TrialRow.study_id == self.study_id)).all())
            s.add(TrialRow(study_id=self.study_id, number=number, params=values, state="running", intermediate=[]))
        graph, config = apply(self.graph, self.config, values, self.targets)
        try:
            graph, dataset, train_config = self.service.prepare(graph, self.dataset, config)
        except TrialRejected as e:
            self.study.tell(trial, state=TrialState.FAIL)
            self.update(number, state="failed", message=str(e), finished_at=utcnow())
            return
        run_id = self.service.manager.submit(graph, dataset, train_config, f"{self.name} · trial {number}")
        self.update(number, run_id=run_id)
        self.live[number] = Live(number, trial, run_id)

    def follow(self, live: Live) -> None:
        """Read the run's new epoch and done events: report, prune, or finish the trial."""
        events = self.service.manager.events_after(live.run_id, live.after, ["epoch", "done"])
        for event in events:
            live.after = event["seq"]
            if event["type"] == "epoch":
                value = (event.get("metrics") or {}).get(self.objective)
                if value is None:
                    continue
                epoch = int(event["epoch"])
                live.trial.report(float(value), epoch)
                self.add_step(live.number, epoch, float(value))
                if live.trial.should_prune():
                    self.prune(live, epoch, float(value))
                    return
            else:
                self.done(live, str(event.get("status")))
                return

    def prune(self, live: Live, epoch: int, value: float) -> None:
        self.live.pop(live.number)
        self.study.tell(live.trial, state=TrialState.PRUNED)
        message = (f"pruned after epoch {epoch}: {self.objective} {value:.4g} was worse than the median of "
                   "earlier trials at that epoch")
        self.update(live.number, state="pruned", message=message, finished_at=utcnow())
        self.service.manager.stop(live.run_id)

    def done(self, live: Live, status: str) -> None:
        self.live.pop(live.number)
        with self.db.session() as s:
            row = s.get(TrialRow, (self.study_id, live.number))
            steps = [float(v) for _, v in row.intermediate] if row is not None else []
            run = s.get(RunRow, live.run_id)
            error = run.error if run is not None else None
        if status == "completed" and steps:
            value = best_of(steps, self.direction)
            self.study.tell(live.trial, value)
            self.update(live.number, state="complete", value=value, finished_at=utcnow())
            return
        self.study.tell(live.trial, state=TrialState.FAIL)
        if status == "completed":
            message = f"the run never reported {self.objective}"
        elif status == "stopped":
            message = "the run was stopped"
        else:
            message = f"the run failed: {error or 'no reason given'}"
        self.update(live.number, state="stopped" if status == "stopped" else "failed", message=message,
                    finished_at=utcnow())

    def stop_live(self, message: str) -> None:
        for live in list(self.live.values()):
            self.service.manager.stop(live.run_id)
            self.study.tell(live.trial, state=TrialState.FAIL)
            self.update(live.number, state="stopped", message=message, finished_at=utcnow())
        self.live.clear()

    # ---- storing ---------------------------------------------------------------------------------------------------

    def update(self, number: int, **values: Any) -> None:
        with self.db.session() as s:
            row = s.get(TrialRow, (self.study_id, number))
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    def add_step(self, number: int, epoch: int, value: float) -> None:
        with self.db.session() as s:
            row = s.get(TrialRow, (self.study_id, number))
            if row is not None:
                row.intermediate = [*row.intermediate, [epoch, value]]

    def finish(self, status: str, error: str | None = None) -> None:
        with self.db.session() as s:
            row = s.get(StudyRow, self.study_id)
            if row is not None and row.status == "running":
                row.status, row.error, row.finished_at = status, error, utcnow()


class StudyService(DriverService[Driver]):
    """The studies this process drives: those this server owns (``tend`` takes over those no live server drives)."""

    def __init__(self, db: Database, manager: RunManager, prepare: Prepare):
        super().__init__(db, manager, "studies")
        self.prepare = prepare

    def new_driver(self, key: str) -> Driver:
        return Driver(self, key)

    @property
    def server(self) -> str:
        """This server's id (``servers.id``), the owner of the studies it drives."""
        return self.manager.cluster.id

    def claim(self, study_id: str) -> bool:
        """Make this server the owner of a running study that no live server owns (or this one already does), with
        one atomic UPDATE: of two servers racing for one study, exactly one gets it."""
        cluster = self.manager.cluster
        with self.db.session() as s:
            result = s.execute(update(StudyRow)
                               .where(StudyRow.id == study_id, StudyRow.status == "running",
                                      or_(cluster.ownerless(StudyRow.owner), StudyRow.owner == cluster.id))
                               .values(owner=cluster.id).execution_options(synchronize_session=False))
            return bool(getattr(result, "rowcount", 0) == 1)

    def start(self, study_id: str) -> bool:
        """Drive a running study if this server owns it or can claim it; False when another live server drives it."""
        if self.driving(study_id):
            return True
        if not self.claim(study_id):
            return False
        self.launch(study_id)  # claimed twice at once by this server (a request and the tender): one driver
        return True

    def resume(self) -> list[str]:
        """Take over the running studies that no live server drives (their server stopped, or died); the ids of
        those this server drives now."""
        with self.db.session() as s:
            ids = list(s.scalars(select(StudyRow.id).where(StudyRow.status == "running",
                                                           StudyRow.owner.is_distinct_from(self.server))))
        return [study_id for study_id in ids if self.start(study_id)]

    def stop(self, study_id: str) -> bool:
        """Stop a running study and its trials' runs; False when it was not running."""
        with self.db.session() as s:
            row = s.get(StudyRow, study_id)
            if row is None or row.status != "running":
                return False
            row.status, row.finished_at = "stopped", utcnow()
        if not self.driving(study_id):  # driven by no one here: stop what its trials still run
            with self.db.session() as s:
                trials = list(s.scalars(select(TrialRow).where(TrialRow.study_id == study_id,
                                                               TrialRow.state == "running")))
                for trial in trials:
                    trial.state, trial.message, trial.finished_at = "stopped", "the study was stopped", utcnow()
                runs = [t.run_id for t in trials if t.run_id is not None]
            for run_id in runs:
                self.manager.stop(run_id)
        return True

    def close(self) -> None:
        """Let go of the studies: they stay running in the database, for another server (or the next one) to take
        over. A study whose trial still trains on this server is let go when this server leaves, after the run
        manager has stopped that run, so that whoever takes it over finds the trial interrupted, not running."""
        super().close()
        training_here = (select(TrialRow.study_id).join(RunRow, RunRow.id == TrialRow.run_id)
                         .where(TrialRow.state == "running", RunRow.owner == self.server,
                                RunRow.status.in_(("queued", "running"))))
        try:
            with self.db.session() as s:
                s.execute(update(StudyRow).where(StudyRow.owner == self.server, StudyRow.id.not_in(training_here))
                          .values(owner=None).execution_options(synchronize_session=False))
        except SQLAlchemyError as e:  # they are let go all the same when this server leaves
            log.warning("could not let go of the studies: %s", str(e).splitlines()[0])


def importances(study: StudyRow, trials: list[TrialRow]) -> dict[str, float] | None:
    """optuna's parameter importances (fANOVA) over the complete trials; None while it cannot tell (fewer than
    two complete trials, or no parameter that varied)."""
    space = SPACE_ADAPTER.validate_python(study.space)
    dists = distributions(space)
    done = [t for t in trials if t.state == "complete" and t.value is not None]
    if len(done) < 2:
        return None
    probe = optuna.create_study(direction="maximize" if study.direction == "maximize" else "minimize")
    for row in done:
        trial = frozen(row, dists)
        if trial is not None:
            probe.add_trial(trial)
    try:
        result = optuna.importance.get_param_importances(probe, evaluator=optuna.importance.FanovaImportanceEvaluator(
            seed=0))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return None
    return {key: float(value) for key, value in result.items()}


__all__ = ["Dimension", "Prepare", "StudyService", "TrialRejected", "importances"]
