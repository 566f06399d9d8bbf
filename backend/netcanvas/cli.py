"""The `netcanvas` command line: serve, validate, train, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="NetCanvas: build, validate, train and export neural networks from a graph JSON.",
                  no_args_is_help=True, add_completion=False)


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
    """Check a graph and print every node's output shape and parameter count."""
    from .shapes import validate_graph
    from .summary import summary_table

    data = read_json(graph)
    report = validate_graph(data)
    typer.echo(summary_table(report, str(data.get("name", graph.stem))))
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def train(
    graph: Annotated[Path, typer.Argument(help="A graph JSON file")],
    dataset: Annotated[str, typer.Option(help="A built-in dataset (netcanvas datasets lists them)")],
    config: Annotated[Path | None, typer.Option(help="A training config JSON file (SPEC §3)")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Override the config's epochs")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory to write (default: runs/NAME-TIME)")] = None,
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

    graph_data = read_json(graph)
    config_data = read_json(config, "config") if config is not None else {}
    if epochs is not None:
        config_data["epochs"] = epochs
    try:
        TrainConfig.model_validate(config_data)
    except ValidationError as e:
        typer.echo(f"error: {config or 'config'}: {validation_message(e, 'config')}", err=True)
        raise typer.Exit(2) from None
    if dataset not in LOADERS:
        typer.echo(f"error: unknown dataset '{dataset}'; built-in datasets: {', '.join(LOADERS)}", err=True)
        raise typer.Exit(2)
    if out is None:
        out = Path("runs") / f"{graph.stem}-{datetime.now():%Y%m%d-%H%M%S}"
    outcome = train_in_console(graph_data, dataset, config_data, out)
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
                model.compile()  # seeds and builds the initial weights
                run = RunDir(model.save(Path(tmp) / "run"))
            except GraphInvalid as e:
                typer.echo(str(e), err=True)
                raise typer.Exit(1) from None
            except ValueError as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(1) from None
        target = output or Path(f"{run.graph().get('name', 'model')}{FORMATS[format].suffix}".replace(" ", "_"))
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
        typer.echo(f"ran in onnxruntime ({', '.join(report.checked)}): max abs diff to the float model "
                   f"{report.max_abs_diff_vs_float or 0:.2g}")
    elif report.checked:
        typer.echo(f"checked against the PyTorch model ({', '.join(report.checked)})")
    if report.size_ratio is not None:
        typer.echo(f"int8: {report.size_ratio:.0%} of the float size" + (
            f", validation accuracy {report.float_accuracy:.4f} -> {report.int8_accuracy:.4f}"
            if report.float_accuracy is not None and report.int8_accuracy is not None else ""))


@app.command()
def openapi() -> None:
    """Print the HTTP API's OpenAPI document (the frontend generates its types from it)."""
    from .api.app import create_app

    typer.echo(json.dumps(create_app().openapi(), indent=1, sort_keys=True))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
