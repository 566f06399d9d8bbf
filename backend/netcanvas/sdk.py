"""The Keras-style Python API: ``Model.from_json(path).summary()``, compile, fit, evaluate, export."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .graph import Graph
from .shapes import ValidationReport, validate_graph
from .summary import summary_table

if TYPE_CHECKING:
    import numpy as np

    from .artifacts import Preprocessing
    from .compiler import CompiledGraph
    from .data import PreparedData
    from .training.events import Event
    from .training.transfer import Matched

ArrayLike = Any
"""A numpy array (or anything ``np.asarray`` takes), a list of them, or a dict by Input/Output name."""


class History:
    """What ``fit`` returns, as in Keras: ``history.history["val_loss"]`` is one value per epoch."""

    def __init__(self) -> None:
        self.history: dict[str, list[float | None]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = {}

    def add(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for name, value in metrics.items():
            self.history.setdefault(name, [None] * (len(self.epoch) - 1)).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Callback:
    """Keras-style callback: override what you need. Epochs and batches are 0-based, as in Keras.

    Batch callbacks see the loop's throttled batch events (at most 10 per second), not every step.
    Set ``self.model.stop_training = True`` to stop after the current step.
    """

    model: Model

    def set_model(self, model: Model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...


class Model:
    """A NetCanvas graph with the Keras workflow around it."""

    def __init__(self, graph: Graph | dict[str, Any]):
        self.graph = graph if isinstance(graph, Graph) else Graph.model_validate(graph)

    @classmethod
    def from_json(cls, path: str | Path) -> Model:
        return cls(json.loads(Path(path).read_text()))

    def validate(self) -> ValidationReport:
        return validate_graph(self.graph)

    def summary(self, print_fn: Any = print) -> str:
        """Print (and return) the table of node, type, output shape and params."""
        text = summary_table(self.validate(), self.graph.name)
        if print_fn is not None:
            print_fn(text)
        return text

    # ---- training (Keras-style) ------------------------------------------------------------------------------

    compiled: CompiledGraph | None = None
    """The torch module and its names, built on first compile/fit; fit trains it in place."""
    preprocessing: Preprocessing | None = None
    """Input standardization learned by fit (built-in tabular datasets); predict and evaluate apply it."""
    stop_training: bool = False
    loaded: tuple[str, ...] = ()
    """Nodes whose weights ``load_weights`` loaded (``init.lr_scale`` of the config applies to them)."""
    frozen: tuple[str, ...] = ()
    """Nodes that ``fit`` does not train (``freeze``)."""

    def load_weights(self, source: str | Path) -> Matched:
        """Load weights into the nodes that match by id and shape: from a run directory (a server run's, ``netcanvas
        train --out``'s or ``Model.save``'s; its best weights) or a ``.safetensors`` file keyed by node id. Nodes
        with other shapes keep their weights and are listed as ``mismatched``; the result also lists ``loaded``
        and ``fresh`` nodes. Raises ValueError when there is no such run or file."""
        from safetensors.torch import load_file

        from .training.transfer import match_weights, weights_file

        matched = match_weights(self._build(), load_file(str(weights_file(Path(source)))))
        self.loaded = tuple(matched.loaded)
        return matched

    def freeze(self, node_ids: Sequence[str]) -> None:
        """Freeze these nodes for the following ``fit`` calls (feature extraction): their weights do not change and
        they run in inference mode (BatchNorm keeps its statistics). ``freeze([])`` unfreezes every node."""
        known = {n.id for n in self._build().graph.nodes}
        for i, node_id in enumerate(node_ids):
            if node_id not in known:
                raise ValueError(f"freeze[{i}]: the graph has no node '{node_id}'")
        self.frozen = tuple(dict.fromkeys(node_ids))

    def compile(self, optimizer: str | dict[str, Any] = "adam",
                loss: str | dict[str, Any] = "sparse_categorical_crossentropy",
                metrics: Sequence[str] | dict[str, list[str]] | None = None, **config: Any) -> None:
        """Choose optimizer, loss and metrics (named as in docs/training-config.md); further keys are
        training-config fields (``regularization``, ``early_stopping``, ``schedule``, ``grad_clip``, ``seed``, …).
        The weights are created on the first call (seeded) and kept by later ones, as in Keras."""
        from .training import TrainConfig

        base = {"optimizer": optimizer, "loss": loss, "metrics": list(metrics or []) if not isinstance(metrics, dict)
                else metrics, **config}
        checked = TrainConfig.model_validate(base)  # fail here, with the field named, rather than in fit
        if checked.init is not None and checked.init.run is not None:
            raise ValueError("init.run: in the Python API, load weights with model.load_weights(run_dir_or_file)")
        self._config = base
        self._build()

    def _build(self) -> CompiledGraph:
        if self.compiled is None:
            import torch

            from .compiler import compile_graph

            torch.manual_seed(int(getattr(self, "_config", {}).get("seed", 0)))
            self.compiled = compile_graph(self.graph)
        return self.compiled

    def _train_config(self, **fit: Any) -> Any:
        import torch

        from .training import TrainConfig

        if not hasattr(self, "_config"):
            raise RuntimeError("call model.compile(optimizer=..., loss=..., metrics=[...]) before fit or evaluate")
        merged = {"num_threads": torch.get_num_threads(), **self._config, **fit}
        if self.frozen:
            merged["init"] = {**(merged.get("init") or {}), "freeze": list(self.frozen)}
        return TrainConfig.model_validate(merged)

    def _data(self, x: ArrayLike | str, y: ArrayLike | None, seed: int, validation_split: float,
              training: bool) -> PreparedData:
        """A built-in dataset by name (its held-out test split stays out of training) or user arrays."""
        from .data import from_arrays, load, prepare

        compiled = self._build()
        if isinstance(x, str):
            data = prepare(load(x), compiled, seed=seed, validation_split=validation_split)
            if training:
                self.preprocessing = data.preprocessing
            return data
        if y is None:
            raise ValueError("give the targets y with the inputs x (or a built-in dataset name as x)")
        dataset = from_arrays(self._standardized(x), y, compiled)
        return prepare(dataset, compiled, seed=seed, validation_split=validation_split, test_split=0.0)

    def _standardized(self, x: ArrayLike) -> ArrayLike:
        import numpy as np

        pre = self.preprocessing
        if pre is None or not pre.inputs:
            return x
        compiled = self._build()
        named = x if isinstance(x, dict) else (dict(zip(compiled.input_names, x, strict=True))
                                               if isinstance(x, list | tuple) and len(compiled.input_names) > 1
                                               else {compiled.input_names[0]: x})
        out = {}
        for name, value in named.items():
            arr = np.asarray(value, dtype=np.float32)
            stats = pre.inputs.get(name)
            if stats is not None:
                mean, std = np.asarray(stats.mean, dtype=np.float32), np.asarray(stats.std, dtype=np.float32)
                arr = ((arr - mean) / std).astype(np.float32)
            out[name] = arr
        return out

    def fit(self, x: ArrayLike | str, y: ArrayLike | None = None, epochs: int = 1, batch_size: int = 32,
            validation_split: float = 0.0, callbacks: Sequence[Callback | Callable[[Event], None]] | None = None,
            verbose: int = 1, shuffle: bool = True, seed: int | None = None, device: str | None = None) -> History:
        """Train on arrays (x, y) or on a built-in dataset named by ``x``; returns a Keras-like History.

        ``callbacks``: ``Callback`` objects, or plain functions called with every training event.
        ``device``: "auto" (the default: CUDA when present), "cpu", "cuda", "cuda:N" or "mps"; a device this
        machine lacks raises ValueError before training. The model's weights are on the CPU afterwards.
        """
        from .training import train
        from .training.devices import device_problem
        from .training.events import BatchEvent, EpochEvent, LogEvent

        extra: dict[str, Any] = {"seed": seed} if seed is not None else {}
        if device is not None:
            extra["device"] = device
        config = self._train_config(epochs=epochs, batch_size=batch_size, validation_split=validation_split,
                                    shuffle=shuffle, **extra)
        if problem := device_problem(config.device, config.precision):
            raise ValueError(f"{problem[0]}: {problem[1]}")
        data = self._data(x, y, config.seed, validation_split, training=True)
        compiled = self._build()
        history = History()
        history.params = {"epochs": epochs, "batch_size": batch_size, "verbose": verbose}
        hooks = [c for c in callbacks or [] if isinstance(c, Callback)]
        listeners = [c for c in callbacks or [] if not isinstance(c, Callback)]
        for hook in hooks:
            hook.set_model(self)
            hook.on_train_begin()
        self.stop_training = False

        def emit(event: Event) -> None:
            for listen in listeners:
                listen(event)
            if isinstance(event, EpochEvent):
                history.add(event.epoch - 1, event.metrics)
                if verbose:
                    shown = " - ".join(f"{k}: {v:.4f}" for k, v in event.metrics.items())
                    print(f"Epoch {event.epoch}/{event.epochs} - {event.seconds:.2f}s - {shown}")
                for hook in hooks:
                    hook.on_epoch_end(event.epoch - 1, dict(event.metrics))
            elif isinstance(event, BatchEvent):
                for hook in hooks:
                    hook.on_train_batch_end(event.step - 1, {"loss": event.loss})
            elif isinstance(event, LogEvent) and event.level != "info" and verbose:
                print(f"{event.level}: {event.message}")

        result = train(compiled, data, config, emit, lambda: self.stop_training, loaded=self.loaded)
        compiled.module.eval()
        for hook in hooks:
            hook.on_train_end(dict(result.metrics))
        if result.status == "failed":
            from .training import TrainingError

            raise TrainingError(result.error or "training failed", result.node)
        return history

    def evaluate(self, x: ArrayLike | str, y: ArrayLike | None = None, verbose: int = 1,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss and metrics on (x, y), or on a built-in dataset's held-out test split; Keras's return shape:
        the loss alone when there are no metrics, else [loss, metric, ...] (or a dict with return_dict)."""
        from .training import Evaluator

        config = self._train_config()
        if isinstance(x, str):
            data = self._data(x, None, config.seed, config.validation_split, training=False)
            split = data.test if data.test is not None else data.train
        else:
            data = self._data(x, y, config.seed, 0.0, training=False)
            split = data.train
        results = Evaluator(self._build(), data, config).evaluate(split)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in results.items()))
        if return_dict:
            return results
        values = list(results.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: ArrayLike | str, batch_size: int = 1024) -> np.ndarray | dict[str, np.ndarray]:
        """The model's outputs for x (a numpy array per Input, or a built-in dataset name: its test split):
        one array for a single output, else a dict by output name."""
        import numpy as np
        import torch

        from .compiler import as_tuple

        compiled = self._build()
        if isinstance(x, str):
            config = self._train_config() if hasattr(self, "_config") else None
            seed = config.seed if config is not None else 0
            data = self._data(x, None, seed, config.validation_split if config else 0.2, training=False)
            split = data.test if data.test is not None else data.train
            inputs = [split[f].numpy() for f in data.binding.inputs.values()]
        else:
            named = self._standardized(x)
            if not isinstance(named, dict):
                named = {compiled.input_names[0]: named} if len(compiled.input_names) == 1 else \
                    dict(zip(compiled.input_names, named, strict=True))
            inputs = [np.asarray(named[name]) for name in compiled.input_names]
        tensors = [torch.as_tensor(a, dtype=torch.int64 if compiled.inputs[n].dtype == "int64" else torch.float32)
                   for a, n in zip(inputs, compiled.input_names, strict=True)]
        module = compiled.module
        module.eval()
        parts: list[list[np.ndarray]] = [[] for _ in compiled.output_names]
        with torch.no_grad():
            for start in range(0, len(tensors[0]), batch_size):
                out = module(*(t[start:start + batch_size] for t in tensors))
                for i, o in enumerate(as_tuple(out)):
                    parts[i].append(o.numpy())
        arrays = {name: np.concatenate(p) for name, p in zip(compiled.output_names, parts, strict=True)}
        return next(iter(arrays.values())) if len(arrays) == 1 else arrays

    # ---- export ------------------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write a run directory (graph, config, weights, preprocessing): what ``netcanvas export`` reads."""
        from .artifacts import Preprocessing, RunDir, RunInfo
        from .weights import node_state_dict

        run = RunDir(directory)
        run.write_graph(self.graph)
        run.write_config(getattr(self, "_config", {}))
        run.write_info(RunInfo(status="completed"))
        run.write_preprocessing(self.preprocessing or Preprocessing())
        run.write_weights(node_state_dict(self._build()), "best")
        return run.path

    def export(self, path: str | Path, format: str = "onnx") -> dict[str, Any]:
        """Export the model (trained or freshly initialized) to ``path``; returns how the export was checked.

        Formats: onnx, onnx-int8, pytorch, torchscript, weights, bundle.
        """
        import shutil
        import tempfile

        from .artifacts import RunDir
        from .export import export_run

        with tempfile.TemporaryDirectory() as tmp:
            made, report = export_run(RunDir(self.save(tmp)), format)
            shutil.copyfile(made, path)
        return report.model_dump(exclude_none=True)
