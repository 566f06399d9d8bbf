"""Ensembles in the server: one driver thread per ensemble, its members ordinary runs (docs/ensembles.md).

The driver prepares the ensemble's data once (the splits every member shares), submits each member through the
run manager with its recorded sample of the training split (``dataset.resample``) and its own seed, follows the
members' runs in the database, and once they are done combines them: SAMME weights (boosting, one member after
another), a meta-learner on out-of-fold predictions (stacking). It then scores the combined model on the test
split and stores everything. An ensemble lives in the database (``store/ensembles.py``); a server that starts
again drives its running ensembles on, training again the members whose runs ended with the old server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from sqlalchemy import select, update

from ..compiler import CompiledGraph, GraphInvalid, compile_graph
from ..data import DataError, PreparedData, load, prepare
from ..data.errors import UploadError
from ..data.fit import prepare_upload
from ..data.uploads import DatasetStore
from ..runs import RunManager
from ..runs.drivers import POLL_SECONDS, DriverService
from ..runs.drivers import Driver as BaseDriver
from ..runs.manager import finite
from ..store import FINISHED, Database, RunRow, utcnow
from ..store.ensembles import EnsembleMemberRow, EnsembleRow
from ..training import TrainConfig
from ..training.loop import evaluate, predict
from .combine import Combiner, OutputKind, combine, output_kinds
from .methods import bootstrap, fit_meta, folds, samme, weighted_sample

log = logging.getLogger(__name__)


class EnsembleFailed(Exception):
    """The ensemble cannot go on; the message says why (it becomes the ensemble's error)."""


def base_data(graph: dict[str, Any], dataset: dict[str, Any], config: TrainConfig,
              datasets_dir: Path) -> tuple[CompiledGraph, PreparedData]:
    """The graph and the splits every member shares (seeded by the ensemble's seed), as a run prepares them."""
    torch.manual_seed(config.seed)
    try:
        compiled = compile_graph(graph)
        if isinstance(dataset.get("id"), str):
            data = prepare_upload(DatasetStore(datasets_dir), dataset, compiled, seed=config.seed,
                                  validation_split=config.validation_split)
        else:
            data = prepare(load(str(dataset.get("name"))), compiled, seed=config.seed,
                           validation_split=config.validation_split, overrides=dataset.get("binding") or None)
    except GraphInvalid as e:
        raise EnsembleFailed("invalid graph: " + "; ".join(p.message for p in e.errors)) from None
    except (DataError, UploadError, KeyError, FileNotFoundError) as e:
        raise EnsembleFailed(f"the dataset cannot be read: {str(e).strip(chr(39))}") from None
    return compiled, data


def member_outputs(member: CompiledGraph, kinds: dict[str, OutputKind], data: PreparedData,
                   split: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A member's class probabilities (or values) per output on a split, as the combined model reads them."""
    alone = combine([member], Combiner(method="bagging", kinds=kinds))
    return {name: values.numpy() for name, values in predict(alone, data.inputs(split)).items()}


def class_labels(targets: torch.Tensor) -> np.ndarray:
    """Integer classes from integer or one-hot targets."""
    array = targets.numpy()
    return array.argmax(-1) if array.ndim > 1 and array.dtype.kind == "f" else array.reshape(-1).astype(np.int64)


def train_size(data: PreparedData) -> int:
    return len(next(iter(data.train.values())))


def subset(split: dict[str, torch.Tensor], positions: np.ndarray) -> dict[str, torch.Tensor]:
    index = torch.from_numpy(positions.astype(np.int64))
    return {name: values[index] for name, values in split.items()}


class Driver(BaseDriver):
    """Drives one ensemble until it is complete, fails, is stopped, or the server closes."""

    def __init__(self, service: EnsembleService, ensemble_id: str):
        super().__init__(service, ensemble_id, "ensemble")
        self.service, self.ensemble_id = service, ensemble_id

    @property
    def db(self) -> Database:
        return self.service.db

    @property
    def manager(self) -> RunManager:
        return self.service.manager

    def failed(self, error: Exception) -> None:
        if isinstance(error, EnsembleFailed):
            self.finish("failed", error=str(error))
        else:
            log.exception("ensemble %s failed", self.ensemble_id)
            self.finish("failed", error=f"the ensemble stopped on an internal error: {error}")

    def drive(self) -> None:
        with self.db.session() as s:
            row = s.get(EnsembleRow, self.ensemble_id)
            if row is None or row.status != "running":
                return
            self.graph, self.dataset, self.method = row.graph, row.dataset, row.method
            self.count, self.seed, self.name = row.members, row.seed, row.name
            weights = row.sample_weights
            try:
                self.config = TrainConfig.model_validate(row.config)
            except ValidationError as e:
                raise EnsembleFailed(f"the stored config no longer validates: {e}") from None
        compiled, data = base_data(self.graph, self.dataset, self.config, self.manager.datasets_dir)
        self.kinds = output_kinds(compiled, self.config)
        self.train_again()
        if self.method == "boosting":
            combiner = self.boost(data, weights)
        else:
            parts = self.plan(data)
            if not self.wait_all():
                return
            combiner = Combiner(method="stacking" if self.method == "stacking" else "bagging", kinds=self.kinds)
            if self.method == "stacking":
                combiner.meta = self.stack(data, parts)
        if combiner is None:
            return
        self.complete(combiner, data)

    # ---- members -----------------------------------------------------------------------------------------------

    def members(self) -> list[EnsembleMemberRow]:
        with self.db.session() as s:
            return list(s.scalars(select(EnsembleMemberRow).where(EnsembleMemberRow.ensemble_id == self.ensemble_id)
                                  .order_by(EnsembleMemberRow.number)))

    def submit(self, number: int, indices: list[int]) -> str:
        """Start member ``number`` as an ordinary run on the training positions ``indices``."""
        seed = self.seed + number
        config = self.config.model_copy(update={"seed": seed})
        dataset = {**self.dataset, "resample": {"split_seed": self.seed, "indices": indices}}
        run_id = self.manager.submit(self.graph, dataset, config, f"{self.name} · member {number}")
        with self.db.session() as s:
            member = s.get(EnsembleMemberRow, (self.ensemble_id, number))
            if member is None:
                s.add(EnsembleMemberRow(ensemble_id=self.ensemble_id, number=number, run_id=run_id, seed=seed,
                                        samples=len(indices)))
            else:
                member.run_id = run_id
        if self.status() != "running":  # stopped meanwhile: whoever stopped it may not have seen this member yet
            self.manager.stop(run_id)
        return run_id

    def run_state(self, run_id: str) -> tuple[str | None, str | None, dict[str, Any] | None]:
        """A run's status, error and dataset spec (None when it no longer exists)."""
        with self.db.session() as s:
            run = s.get(RunRow, run_id)
            return (run.status, run.error, run.dataset) if run is not None else (None, None, None)

    def train_again(self) -> None:
        """Members whose runs ended without completing while no server drove them (the server stopped) are
        trained again on the same sample."""
        for member in self.members():
            if member.run_id is None or member.weight is not None:
                continue
            status, _, dataset = self.run_state(member.run_id)
            if status is not None and (status not in FINISHED or status == "completed"):
                continue
            indices = ((dataset or {}).get("resample") or {}).get("indices")
            if not isinstance(indices, list):
                continue
            self.submit(member.number, indices)
            self.note(f"member {member.number} was trained again: its run ended with the server that drove it")

    def wait_run(self, run_id: str) -> str | None:
        """The run's final status; None when the ensemble stopped or the server is closing first."""
        while not self.closing.is_set():
            if self.status() != "running":
                return None
            status, _, _ = self.run_state(run_id)
            if status is None:
                raise EnsembleFailed(f"run {run_id}, a member, was deleted")
            if status in FINISHED:
                return status
            self.closing.wait(POLL_SECONDS)
        return None

    def require_completed(self, number: int, run_id: str, status: str) -> None:
        if status != "completed":
            _, error, _ = self.run_state(run_id)
            raise EnsembleFailed(f"member {number} (run {run_id}) ended {status}" + (f": {error}" if error else ""))

    def wait_all(self) -> bool:
        """Wait for every member; True when all completed."""
        for member in self.members():
            assert member.run_id is not None
            status = self.wait_run(member.run_id)
            if status is None:
                return False
            self.require_completed(member.number, member.run_id, status)
        return True

    def model(self, run_id: str) -> CompiledGraph:
        return self.manager.run_dir(run_id).load_model()

    # ---- the methods -------------------------------------------------------------------------------------------

    def plan(self, data: PreparedData) -> list[np.ndarray]:
        """Submit the bagging or stacking members not submitted yet; the stacking folds (empty for bagging)."""
        size = train_size(data)
        parts: list[np.ndarray] = []
        if self.method == "stacking":
            if size < 2 * self.count:
                raise EnsembleFailed(f"stacking with {self.count} folds needs at least {2 * self.count} training "
                                     f"samples; the training split has {size}")
            classes = next((n for n, k in self.kinds.items() if k == "classes"), None)
            labels = class_labels(data.targets(data.train)[classes]) if classes else None
            parts = folds(size, self.count, self.seed, labels)
        started = {m.number for m in self.members() if m.run_id is not None}
        for number in range(self.count):
            if number in started or self.status() != "running":
                continue
            if parts:
                indices = np.setdiff1d(np.arange(size), parts[number]).tolist()
            else:
                indices = bootstrap(size, self.seed + number)
            self.submit(number, indices)
        return parts

    def stack(self, data: PreparedData, parts: list[np.ndarray]) -> dict[str, Any]:
        """The meta-learner of each output, fit on the members' out-of-fold predictions."""
        members = self.members()
        features: dict[str, list[np.ndarray]] = {name: [] for name in self.kinds}
        targets: dict[str, list[np.ndarray]] = {name: [] for name in self.kinds}
        for member, held in zip(members, parts, strict=True):
            assert member.run_id is not None
            split = subset(data.train, held)
            outs = member_outputs(self.model(member.run_id), self.kinds, data, split)
            truth = data.targets(split)
            for name in self.kinds:
                features[name].append(outs[name].reshape(len(held), -1))
                target = truth[name]
                targets[name].append(class_labels(target) if self.kinds[name] == "classes"
                                     else target.numpy().reshape(len(held), -1))
        meta = {}
        for name, kind in self.kinds.items():
            x, y = np.concatenate(features[name]), np.concatenate(targets[name])
            meta[name] = fit_meta(x, y, kind, x.shape[1], self.seed)
        return meta

    def boost(self, data: PreparedData, stored: list[Any] | None) -> Combiner | None:
        """SAMME, one member after another; None when the ensemble stopped or the server is closing."""
        name = next(iter(self.kinds))
        size = train_size(data)
        labels = class_labels(data.targets(data.train)[name])
        weights = np.asarray(stored, dtype=np.float64) if stored else np.full(size, 1.0 / size)
        classes = self.graph_classes(data, name)
        alphas: list[float] = []
        members = {m.number: m for m in self.members()}
        for number in range(self.count):
            member = members.get(number)
            if member is not None and member.weight is not None:
                alphas.append(member.weight)
                if member.weight == 0:
                    break
                continue
            run_id = (member.run_id if member is not None and member.run_id is not None
                      else self.submit(number, weighted_sample(weights, self.seed + number)))
            status = self.wait_run(run_id)
            if status is None:
                return None
            self.require_completed(number, run_id, status)
            probs = member_outputs(self.model(run_id), self.kinds, data, data.train)[name]
            step = samme(probs.argmax(-1), labels, weights, classes)
            with self.db.session() as s:
                row = s.get(EnsembleMemberRow, (self.ensemble_id, number))
                if row is not None:
                    row.weight, row.error = step.alpha, step.error
                ensemble = s.get(EnsembleRow, self.ensemble_id)
                if ensemble is not None:
                    ensemble.sample_weights = step.weights.tolist()
            alphas.append(step.alpha)
            if step.alpha == 0:
                self.note(f"boosting ended after member {number}: its weighted error {step.error:.3g} was no better "
                          f"than chance ({1 - 1 / classes:.3g} for {classes} classes)")
                break
            weights = step.weights
        if not any(a > 0 for a in alphas):
            raise EnsembleFailed("no member did better than chance on the weighted training samples; train each "
                                 "member longer or with a higher learning rate")
        return Combiner(method="boosting", kinds=self.kinds, weights=alphas)

    @staticmethod
    def graph_classes(data: PreparedData, output: str) -> int:
        """The number of classes of a classification output (its target field's classes)."""
        field = data.fields.get(data.binding.targets[output])
        if field is not None and field.classes:
            return len(field.classes)
        return int(class_labels(data.targets(data.train)[output]).max()) + 1

    # ---- the end ---------------------------------------------------------------------------------------------------

    def complete(self, combiner: Combiner, data: PreparedData) -> None:
        """Score the combined model on the test split and store it: the ensemble is complete."""
        used = self.members()[:len(combiner.weights)] if combiner.weights is not None else self.members()
        models = [self.model(m.run_id) for m in used if m.run_id is not None]
        combined = combine(models, combiner)
        metrics = {}
        if data.test is not None:
            metrics = {f"test_{k}": v for k, v in evaluate(combined, data, self.config, "test").items()}
        with self.db.session() as s:
            row = s.get(EnsembleRow, self.ensemble_id)
            if row is not None and row.status == "running":
                row.combiner = combiner.model_dump(mode="json")
                row.test_metrics = finite(metrics)
                row.status, row.finished_at = "completed", utcnow()

    def status(self) -> str | None:
        with self.db.session() as s:
            row = s.get(EnsembleRow, self.ensemble_id)
            return row.status if row is not None else None

    def note(self, message: str) -> None:
        with self.db.session() as s:
            row = s.get(EnsembleRow, self.ensemble_id)
            if row is not None:
                row.message = f"{row.message}; {message}" if row.message else message

    def finish(self, status: str, error: str | None = None) -> None:
        with self.db.session() as s:
            row = s.get(EnsembleRow, self.ensemble_id)
            if row is not None and row.status == "running":
                row.status, row.error, row.finished_at = status, error, utcnow()
        if status != "completed":
            self.service.stop_members(self.ensemble_id)


class EnsembleService(DriverService[Driver]):
    """The ensembles this process drives (``tend`` takes over those whose server is gone; ``close`` lets go of them:
    they stay running in the database and resume with the next server)."""

    def __init__(self, db: Database, manager: RunManager):
        super().__init__(db, manager, "ensembles")

    def new_driver(self, key: str) -> Driver:
        return Driver(self, key)

    def start(self, ensemble_id: str) -> None:
        self.launch(ensemble_id)

    def resume(self) -> list[str]:
        """Drive again the running ensembles whose server is gone (it stopped, or died); several servers on one
        database never drive one ensemble twice: each takes it over only if its owner is still the one it saw."""
        live = self.manager.cluster.live_servers()
        with self.db.session() as s:
            rows = s.execute(select(EnsembleRow.id, EnsembleRow.owner).where(EnsembleRow.status == "running")).all()
        taken = []
        for ensemble_id, owner in rows:
            if owner in live:
                continue
            with self.db.session() as s:
                same = EnsembleRow.owner.is_(None) if owner is None else EnsembleRow.owner == owner
                claimed = s.execute(update(EnsembleRow).where(EnsembleRow.id == ensemble_id, same)
                                    .values(owner=self.manager.cluster.id))
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                self.start(ensemble_id)
                taken.append(ensemble_id)
        return taken

    def stop(self, ensemble_id: str) -> bool:
        """Stop a running ensemble and its members' runs; False when it was not running."""
        with self.db.session() as s:
            row = s.get(EnsembleRow, ensemble_id)
            if row is None or row.status != "running":
                return False
            row.status, row.finished_at = "stopped", utcnow()
        self.stop_members(ensemble_id)
        return True

    def stop_members(self, ensemble_id: str) -> None:
        with self.db.session() as s:
            runs = list(s.scalars(select(EnsembleMemberRow.run_id).where(EnsembleMemberRow.ensemble_id == ensemble_id,
                                                                         EnsembleMemberRow.run_id.is_not(None))))
        for run_id in runs:
            if run_id is not None:
                self.manager.stop(run_id)
