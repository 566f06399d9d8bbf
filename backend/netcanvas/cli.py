"""The `netcanvas` command line: serve, validate, train, export, search, ensemble."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from .data.uploads import DatasetStore
    from .settings import Settings

app = typer.Typer(help="NetCanvas: build, validate, train and export neural networks from a graph JSON.",
                  no_args_is_help=True, add_completion=False)
datasets_app = typer.Typer(help="Built-in datasets and your uploads (CSV/TSV, Parquet, image ZIP, NPZ) in the data "
                                "directory the server uses (NETCANVAS_DATA_DIR).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


def read_json(path: Path, what: str = "graph") -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        typer.echo(f"error: {what} file not found: {path}", err=True)
        raise typer.Exit(2) from None
    except json.JSONDecodeError as e:
        typer.echo(f"error: {path} is not valid JSON: line {e.lineno} column {e.colno}: {e.msg}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        typer.echo(f"error: {path} must hold a JSON object", err=True)
        raise typer.Exit(2)
    return data


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Start the web app and API (http://127.0.0.1:8000 by default).

    Beyond loopback it needs NETCANVAS_TOKEN (or NETCANVAS_INSECURE=1) and refuses to start without one.
    """
    import uvicorn
    from pydantic import ValidationError

    from .api.app import create_app
    from .api.security import allowed_hosts, exposure_refusal, is_loopback
    from .settings import Settings

    try:
        settings = Settings()
    except ValidationError as e:
        for error in e.errors():
            name = f"NETCANVAS_{str(error['loc'][0]).upper()}" if error["loc"] else "settings"
            typer.echo(f"error: {name}: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    refusal = exposure_refusal(settings)
    if refusal is not None:
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(2)
    if not is_loopback(settings.host) and settings.token is None:
        typer.echo(f"warning: serving on {settings.host or 'every address'} without a token (NETCANVAS_INSECURE=1)",
                   err=True)
    typer.echo(f"answering to the host names {', '.join(allowed_hosts(settings))} (NETCANVAS_ALLOWED_HOSTS adds more)"
               + ("; API requests need the token" if settings.token is not None else ""), err=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


@app.command()
def validate(graph: Annotated[Path, typer.Argument(help="A graph JSON file")]) -> None:
    """Check a graph and print every node's output shape and parameter count, then what the server's validation
    says of it: `warning:` lines (also a model past the server's limits), `error:` lines, and `hint:` lines (legal
    but often a slip, such as a Linear fed a convolution's output without a Flatten). Exits 1 on errors only."""
    from .api.preflight import preflight
    from .shapes import validate_graph
    from .summary import summary_table
    from .training import TrainConfig

    data = read_json(graph)
    report = preflight(data, validate_graph(data), None, TrainConfig(), load_settings())
    typer.echo(summary_table(report, str(data.get("name", graph.stem))))
    for hint in report.hints:
        typer.echo(f"hint: {hint.message}")
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def train(
    graph: Annotated[Path, typer.Argument(help="A graph JSON file")],
    dataset: Annotated[str, typer.Option(help="A built-in dataset, a data file (uploaded to the data directory, "
                                              "or reused if already there) or an upload's id (netcanvas datasets "
                                              "list shows both)")],
    config: Annotated[Path | None, typer.Option(help="A training config JSON file (docs/training-config.md)")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Override the config's epochs")] = None,
    device: Annotated[str | None, typer.Option(help="Override the config's device: auto, cpu, cuda, cuda:N "
                                                    "or mps")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory to write (default: runs/NAME-TIME)")] = None,
    target: Annotated[list[str] | None, typer.Option(help="Uploads: the target column (repeat for several); "
                                                          "default: the last column")] = None,
    features: Annotated[list[str] | None, typer.Option(help="Uploads: a feature column (repeat, or separate "
                                                            "with commas); default: all the other columns")] = None,
    test_split: Annotated[float | None, typer.Option(min=0.0, max=0.95,
                                                     help="Uploads: the fraction held out for the test metrics "
                                                          "(default 0.2)")] = None,
    init: Annotated[str | None, typer.Option(help="Start from another run's weights, matched by node id and shape: "
                                                  "a run directory, a .safetensors file, or a run id beside --out "
                                                  "(config.init.run)")] = None,
    freeze: Annotated[list[str] | None, typer.Option(help="A node id not to train (repeat, or separate with "
                                                          "commas; config.init.freeze)")] = None,
    lr_scale: Annotated[float | None, typer.Option(help="Learning-rate factor for the loaded nodes that are not "
                                                        "frozen (config.init.lr_scale)")] = None,
) -> None:
    """Train a graph on a dataset: a progress bar per epoch, a metrics table, the run saved to --out.

    Ctrl+C stops after the current step and keeps the best weights so far.
    """
    from datetime import datetime

    from pydantic import ValidationError

    from .data import LOADERS
    from .runs.console import train_in_console
    from .runs.execute import validation_message
    from .training import TrainConfig
    from .training.devices import device_problem

    graph_data = read_json(graph)
    config_data = read_json(config, "config") if config is not None else {}
    if epochs is not None:
        config_data["epochs"] = epochs
    if device is not None:
        config_data["device"] = device
    if init is not None or freeze or lr_scale is not None:
        stated = config_data.get("init")
        given: dict[str, Any] = dict(stated) if isinstance(stated, dict) else {}
        frozen = [f.strip() for item in freeze or [] for f in item.split(",") if f.strip()]
        config_data["init"] = {**given, **({"run": init} if init is not None else {}),
                               **({"freeze": frozen} if frozen else {}),
                               **({"lr_scale": lr_scale} if lr_scale is not None else {})}
    try:
        checked = TrainConfig.model_validate(config_data)
    except ValidationError as e:
        typer.echo(f"error: {config or 'config'}: {validation_message(e, 'config')}", err=True)
        raise typer.Exit(2) from None
    if problem := device_problem(checked.device, checked.precision):
        typer.echo(f"error: config.{problem[0]}: {problem[1]}", err=True)
        raise typer.Exit(2)
    options: dict[str, Any] = {k: v for k, v in (("target", target), ("test_split", test_split)) if v is not None}
    if features:
        options["features"] = [f.strip() for item in features for f in item.split(",") if f.strip()]
    spec: str | dict[str, Any] = dataset
    datasets_dir = None
    if dataset in LOADERS:
        if options:
            typer.echo(f"error: --{next(iter(options)).replace('_', '-')} is for your own data; the built-in "
                       f"dataset '{dataset}' is read as it is", err=True)
            raise typer.Exit(2)
    elif Path(dataset).exists() or uploaded_id(dataset):
        store = dataset_store()
        spec = {"id": uploaded_dataset(store, dataset)["id"], **options}
        check_dataset_options(store, spec)
        datasets_dir = store.root
    else:
        typer.echo(f"error: unknown dataset '{dataset}': not a built-in dataset ({', '.join(LOADERS)}), a file or "
                   "an uploaded dataset's id", err=True)
        raise typer.Exit(2)
    if out is None:
        out = Path("runs") / f"{graph.stem}-{datetime.now():%Y%m%d-%H%M%S}"
    outcome = train_in_console(graph_data, spec, config_data, out, datasets_dir=datasets_dir)
    if outcome.status == "failed":
        typer.echo(f"error: {outcome.error}", err=True)
        raise typer.Exit(1)
    typer.echo(f"run {outcome.status}; saved to {out}")
    if outcome.status == "stopped":
        raise typer.Exit(130)


@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="A graph JSON file (initial weights) or a run directory")],
    format: Annotated[str, typer.Option("--format", "-f", help="onnx, onnx-int8, pytorch, torchscript, weights, "
                                                                "bundle")] = "onnx",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initial weights when exporting a graph file")] = 0,
) -> None:
    """Export a trained run (or an untrained graph) and check it: ONNX is verified with onnxruntime."""
    import shutil
    import tempfile

    from .artifacts import RunDir
    from .compiler import GraphInvalid
    from .export import FORMATS, ExportError, export_run
    from .export.files import file_stem

    if format not in FORMATS:
        typer.echo(f"error: unknown format '{format}'; choose one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_dir():
            run = RunDir(source)
            if not run.exists():
                typer.echo(f"error: {source} is not a run directory (no graph.json)", err=True)
                raise typer.Exit(2)
        else:
            from .sdk import Model

            try:
                model = Model(read_json(source))
                model.compile(seed=seed)  # seeds and builds the initial weights
                run = RunDir(model.save(Path(tmp) / "run"))
            except GraphInvalid as e:
                typer.echo(str(e), err=True)
                raise typer.Exit(1) from None
            except ValueError as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(1) from None
        target = output or Path(file_stem(run.graph().get("name")) + FORMATS[format].suffix)  # never a path
        try:
            made, report = export_run(run, format)
        except ExportError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        shutil.copyfile(made, target)
    typer.echo(f"wrote {target} ({report.size_bytes:,} bytes)")
    if report.format == "onnx":
        typer.echo(f"checked with onnx.checker and onnxruntime ({', '.join(report.checked)}): max abs diff "
                   f"{report.max_abs_diff or 0:.2g}, max rel diff {report.max_rel_diff or 0:.2g}, opset {report.opset}")
    elif report.format == "onnx-int8":
        typer.echo(f"{report.int8_method_reason}; ran in onnxruntime ({', '.join(report.checked)}): max abs diff "
                   f"to the float model {report.max_abs_diff_vs_float or 0:.2g}, {report.int8_speedup}x its speed "
                   "at batch 64")
        if report.kept_float is not None:
            typer.echo(report.kept_float)
    elif report.checked:
        typer.echo(f"checked against the PyTorch model ({', '.join(report.checked)})")
    if report.size_ratio is not None:
        size = "the float model" if report.kept_float else f"{report.size_ratio:.0%} of the float size"
        typer.echo(f"int8: {size}" + (
            f", validation accuracy {report.float_accuracy:.4f} -> {report.int8_accuracy:.4f}"
            if report.float_accuracy is not None and report.int8_accuracy is not None else ""))


def load_settings() -> Settings:
    """The server's settings (NETCANVAS_* and .env); a bad value is one line naming the variable."""
    from pydantic import ValidationError

    from .settings import Settings

    try:
        return Settings()
    except ValidationError as e:
        for error in e.errors():
            name = f"NETCANVAS_{str(error['loc'][0]).upper()}" if error["loc"] else "settings"
            typer.echo(f"error: {name}: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None


def dataset_store() -> DatasetStore:
    """The uploads in the data directory: the same store, and the same files, as the server's."""
    from .data.uploads import DatasetStore

    settings = load_settings()
    return DatasetStore.of(settings)


def uploaded_id(text: str) -> bool:
    from .data.uploads import ID

    return bool(ID.match(text))


def add_file(store: DatasetStore, path: Path, name: str | None = None) -> dict[str, Any]:
    """Upload a local file (reused if the same content is already stored under the same name)."""
    from .data.errors import UploadError

    if not path.is_file():
        typer.echo(f"error: data file not found: {path}", err=True)
        raise typer.Exit(2)
    try:
        return store.add_path(path, name)
    except UploadError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def uploaded_dataset(store: DatasetStore, dataset: str) -> dict[str, Any]:
    """A file (added, or reused) or an upload's id."""
    from .data.errors import UploadError

    if Path(dataset).exists():
        return add_file(store, Path(dataset))
    try:
        return store.get(dataset)
    except UploadError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def check_dataset_options(store: DatasetStore, spec: dict[str, Any]) -> None:
    """The target and feature columns exist and can train, before any training starts."""
    from pydantic import ValidationError

    from .data.errors import UploadError
    from .data.options import DatasetOptions
    from .data.pipeline import plan
    from .runs.execute import validation_message

    try:
        plan(store.get(spec["id"]), DatasetOptions.model_validate({k: v for k, v in spec.items() if k != "id"}))
    except ValidationError as e:
        typer.echo(f"error: {validation_message(e, 'dataset')}", err=True)
        raise typer.Exit(2) from None
    except UploadError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def describe_upload(desc: dict[str, Any]) -> str:
    columns = desc.get("columns") or []
    shown = ", ".join(f"{c['name']} ({c['dtype']})" for c in columns[:12])
    more = f" and {len(columns) - 12} more" if len(columns) > 12 else ""
    return (f"{desc['id']}  {desc['name']}  {desc['kind']}, {desc['format']}, {desc['rows']:,} rows, "
            f"{desc['size_bytes']:,} bytes\n    columns: {shown}{more}"
            + (f"\n    target by default: {desc['default_target']}" if desc.get("default_target") else ""))


@datasets_app.command("list")
def datasets_list() -> None:
    """The built-in datasets, then your uploads (newest first) with their ids."""
    from .data import LOADERS, load

    typer.echo("built-in:")
    for name in LOADERS:
        ds = load(name)
        typer.echo(f"  {name:<14} {ds.task}, {ds.size:,} samples")
    from .data.sources import SOURCES

    uploads = dataset_store().all()
    fetched = {d.get("source") for d in uploads}
    typer.echo("downloadable (netcanvas datasets fetch NAME):")
    for src in SOURCES.values():
        typer.echo(f"  {src.name:<14} {src.title}: {src.doc}" + (" (fetched)" if src.name in fetched else ""))
    typer.echo("uploaded:" if uploads else "uploaded: none (netcanvas datasets add FILE)")
    for desc in uploads:
        typer.echo("  " + describe_upload(desc))


@datasets_app.command("add")
def datasets_add(
    file: Annotated[Path, typer.Argument(help="CSV/TSV, Parquet, a ZIP of images (one folder per class, or a CSV of "
                                              "file names and labels) or NPZ")],
    name: Annotated[str | None, typer.Option(help="A name to show (default: the file's name)")] = None,
) -> None:
    """Read, check and store a data file in the data directory; prints its id and columns. The same file added
    twice under the same name is stored once."""
    desc = add_file(dataset_store(), file, name)
    typer.echo(f"added {describe_upload(desc)}")
    for warning in desc.get("warnings") or []:
        typer.echo(f"warning: {warning}", err=True)
    if desc.get("problem"):
        typer.echo(f"note: {desc['problem']} (choose one with --target when training)", err=True)


@datasets_app.command("fetch")
def datasets_fetch(
    name: Annotated[str, typer.Argument(help="mnist, fashion_mnist or cifar10 (netcanvas datasets list)")],
) -> None:
    """Download a dataset once into the data directory (checked by checksum; NETCANVAS_DATASET_MIRROR replaces the
    official site) and store it as an image dataset; prints its id. Offline, says which files to put where."""
    from .data.errors import UploadError
    from .data.sources import fetch

    settings = load_settings()
    shown: dict[str, int] = {}

    def progress(file: str, received: int, total: int | None) -> None:
        step = received * 10 // total if total else received // (1 << 20)
        if shown.get(file) != step:
            shown[file] = step
            of = f" of {total:,}" if total else ""
            typer.echo(f"{file}: {received:,}{of} bytes", err=True)

    try:
        desc = fetch(name, dataset_store(), settings.data_dir / "downloads" / name, settings.dataset_mirror, progress)
    except UploadError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2 if e.status in (404, 400) else 1) from None
    typer.echo(f"fetched {describe_upload(desc)}")


@datasets_app.command("rm")
def datasets_rm(
    dataset_id: Annotated[str, typer.Argument(metavar="ID", help="The upload's id (netcanvas datasets list)")],
) -> None:
    """Delete an upload and its files; refused while a queued or running run of the server uses it."""
    from .data.errors import UploadError

    store = dataset_store()
    try:
        desc = store.get(dataset_id)
        store.delete(dataset_id, server_runs_using)
    except UploadError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2 if e.status == 404 else 1) from None
    typer.echo(f"deleted {dataset_id} ({desc['name']})")


def server_runs_using(dataset_id: str) -> list[str]:
    """The server's queued or running runs on this upload, read from its database (none when there is none yet)."""
    from .api.datasets import runs_using
    from .store import Database, DatabaseError

    settings = load_settings()
    if settings.database_url is None and not (settings.data_dir / "netcanvas.db").is_file():
        return []
    try:
        db = Database(settings.resolved_database_url)
        try:
            db.migrate()
            return runs_using(db, dataset_id)
        finally:
            db.close()
    except DatabaseError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


@app.command()
def search(
    graph: Annotated[Path, typer.Argument(help="A graph JSON file")],
    dataset: Annotated[str, typer.Option(help="A built-in dataset or an uploaded dataset's id")],
    space: Annotated[Path | None, typer.Option(help="A search space JSON file (docs/search.md); default: the "
                                                    "graph's own `search` marks")] = None,
    config: Annotated[Path | None, typer.Option(help="A training config JSON file (docs/training-config.md)")] = None,
    sampler: Annotated[str, typer.Option(help="grid, random or tpe")] = "tpe",
    trials: Annotated[int, typer.Option(help="Trials to run")] = 20,
    objective: Annotated[str | None, typer.Option(help="The metric to optimize (default: val_loss)")] = None,
    direction: Annotated[str | None, typer.Option(help="minimize or maximize (default: the metric's own)")] = None,
    pruner: Annotated[str, typer.Option(help="median or none")] = "median",
    parallel: Annotated[int, typer.Option(help="Trials at once (at most NETCANVAS_MAX_CONCURRENT_RUNS)")] = 1,
    seed: Annotated[int, typer.Option(help="The sampler's seed")] = 0,
) -> None:
    """Run a hyperparameter study: every trial is a run in the data directory, shown by the web app too.

    Ctrl+C stops the study and its running trials.
    """
    from .data import LOADERS
    from .search.console import SearchError, run_search

    body: dict[str, Any] = {"graph": read_json(graph), "config": read_json(config, "config") if config else {},
                            "dataset": {"name": dataset} if dataset in LOADERS or not uploaded_id(dataset)
                            else {"id": dataset}, "sampler": sampler, "trials": trials, "objective": objective,
                            "direction": direction, "pruner": None if pruner == "none" else pruner,
                            "parallel": parallel, "seed": seed}
    if space is not None:
        body["space"] = read_json(space, "space")
    try:
        _, completed = run_search(body, load_settings(), typer.echo)
    except SearchError as e:
        for line in str(e).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    if not completed:
        raise typer.Exit(1)


@app.command()
def ensemble(
    graph: Annotated[Path, typer.Argument(help="A graph JSON file")],
    dataset: Annotated[str, typer.Option(help="A built-in dataset or an uploaded dataset's id")],
    method: Annotated[str, typer.Option(help="bagging, boosting or stacking (docs/ensembles.md)")] = "bagging",
    members: Annotated[int, typer.Option(help="Member runs (stacking: also the folds)")] = 5,
    config: Annotated[Path | None, typer.Option(help="A training config JSON file (docs/training-config.md)")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per member (overrides the config)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the combined ONNX file here")] = None,
) -> None:
    """Train an ensemble: every member is a run in the data directory, shown by the web app too.

    Exit status: 0 completed, 1 failed or stopped (Ctrl+C stops it), 2 bad input.
    """
    from .data import LOADERS
    from .ensembles.console import EnsembleInputError, run_ensemble

    train_config: dict[str, Any] = dict(read_json(config, "config")) if config else {}
    if epochs is not None:
        train_config["epochs"] = epochs
    body: dict[str, Any] = {"graph": read_json(graph), "config": train_config, "method": method, "members": members,
                            "dataset": {"name": dataset} if dataset in LOADERS or not uploaded_id(dataset)
                            else {"id": dataset}}
    try:
        status = run_ensemble(body, load_settings(), typer.echo, output)
    except EnsembleInputError as e:
        for line in str(e).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    if status != "completed":
        raise typer.Exit(1)


def logdir_spec(run_dirs: list[Path]) -> str:
    """TensorBoard's ``--logdir_spec``: each run's event files under the run directory's name."""
    from .training.tensorboard import LOG_DIR

    names: dict[str, int] = {}
    parts = []
    for run in run_dirs:
        logs = run / LOG_DIR if (run / LOG_DIR).is_dir() else run
        if not any(logs.glob("events.out.tfevents.*")):
            typer.echo(f"error: {run} has no TensorBoard event files (a run directory holds them in {LOG_DIR}/)",
                       err=True)
            raise typer.Exit(2)
        name = run.resolve().name
        names[name] = names.get(name, 0) + 1
        label = name if names[name] == 1 else f"{name}-{names[name]}"
        if ":" in label or "," in label:
            label = label.replace(":", "_").replace(",", "_")
        parts.append(f"{label}:{logs.resolve()}")
    return ",".join(parts)


@app.command()
def tensorboard(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (or their tensorboard/ folders)")],
    port: Annotated[int, typer.Option(help="TensorBoard's port")] = 6006,
    host: Annotated[str, typer.Option(help="Address TensorBoard listens on")] = "127.0.0.1",
) -> None:
    """Open runs in TensorBoard: scalars, weight and gradient histograms and the graph, one run per name."""
    spec = logdir_spec(runs)
    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir_spec", spec, "--port", str(port), "--host", host])
    typer.echo(f"TensorBoard at {board.launch()} (Ctrl+C stops it)")
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


@app.command()
def openapi() -> None:
    """Print the HTTP API's OpenAPI document (the frontend generates its types from it)."""
    from .api.app import create_app

    typer.echo(json.dumps(create_app().openapi(), indent=1, sort_keys=True))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
