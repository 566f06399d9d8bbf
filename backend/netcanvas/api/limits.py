"""Request limits: the body size, safe JSON reading, and error answers that always serialize.

Every limit is a setting (``NETCANVAS_MAX_*``, see ``settings.py``) and every answer past one names it.
The JSON of a request body is read by ``read_json`` only: nesting depth, integer length and string length
are bounded, numbers are finite and strings are valid Unicode, so nothing read can crash a later step
(recursion, ``int`` conversion, serialization of NaN or of a lone surrogate).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..graph import readable_errors
from ..settings import Settings
from ..shapes import ValidationReport

MAX_JSON_DEPTH = 64
"""Most levels of nested arrays and objects in a JSON body (a graph needs fewer than ten)."""
MAX_INT_DIGITS = 64
"""Most digits of an integer in a JSON body."""


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="Where: body, then the path to the field")
    msg: str
    type: str
    node: str | None = Field(default=None, description="The graph node at fault, where there is one")


class ErrorMessage(BaseModel):
    message: str
    node: str | None = Field(default=None, description="The graph node at fault, where there is one")


class ErrorAnswer(BaseModel):
    detail: str | list[ErrorItem] | ErrorMessage = Field(description="What is wrong: a sentence, one item per "
                                                                     "field, or a message naming a node")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error answers a router really gives."""
    what = {400: "Bad request", 404: "Not found", 409: "The resource's state does not allow it: the detail says why",
            413: "The request body is larger than NETCANVAS_MAX_BODY_MB",
            422: "The request cannot be processed: the detail names the field, node or limit at fault"}
    return {status: {"model": ErrorAnswer, "description": what[status]} for status in statuses}


# ---- the body size -------------------------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {max_bytes / 1e6:g} MB "
                              "(NETCANVAS_MAX_BODY_MB)")


class BodySizeLimit:
    """ASGI middleware: a body announced larger than the limit is refused before it is read; one that
    grows past it while streaming is refused as soon as it does (the rest is never read)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) == ("POST", "/api/datasets"):
            await self.app(scope, receive, send)  # uploads have their own limit: NETCANVAS_MAX_UPLOAD_MB
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)  # FastAPI answers it like any HTTPException
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(max_bytes: int) -> JSONResponse:
    error = BodyTooLarge(max_bytes)
    return JSONResponse({"detail": error.detail}, status_code=413, headers={"Connection": "close"})


# ---- safe JSON -----------------------------------------------------------------------------------------------------


class _Invalid:
    """A number the reader refused, kept in place so the error can say where it was."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _constant(text: str) -> _Invalid:
    return _Invalid(f"{text} is not a number: numbers must be finite")


def _float(text: str) -> float | _Invalid:
    value = float(text)
    return value if math.isfinite(value) else _Invalid(f"{text[:20]} is out of range: numbers must be finite")


def _int(text: str) -> int | _Invalid:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Invalid(f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})")
    return int(text)


def _string_problem(text: str, max_length: int) -> str | None:
    if len(text) > max_length:
        return (f"a string of {len(text):,} characters is longer than the limit of {max_length:,} "
                "(NETCANVAS_MAX_STRING_LENGTH)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "a string holds a lone surrogate (\\ud800-\\udfff without its pair), which is not valid Unicode"
    return None


def _find_problem(value: Any, depth: int, max_length: int) -> tuple[list[str | int], str] | None:
    """The first thing wrong in a parsed JSON value, with its path (built backwards, on the way out)."""
    if isinstance(value, str):
        problem = _string_problem(value, max_length)
        return ([], problem) if problem else None
    if isinstance(value, _Invalid):
        return [], value.reason
    if not isinstance(value, dict | list):
        return None
    if depth >= MAX_JSON_DEPTH:
        return [], f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep"
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and (problem := _string_problem(key, max_length)):
            return [key[:40]], f"a key: {problem}"
        found = _find_problem(item, depth + 1, max_length)
        if found is not None:
            found[0].append(key)
            return found
    return None


def _where(data: Any, path: list[str | int]) -> str:
    """``graph.nodes[2].position.x (node 'conv1')``: the path, and the innermost graph node it passes through."""
    text, node = "", None
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
        if isinstance(data, list) and isinstance(step, int):
            data = data[step]
        else:
            data = data.get(step) if isinstance(data, dict) else None
        if isinstance(step, int) and isinstance(data, dict) and isinstance(data.get("id"), str):
            node = data["id"]
    named = f" (node {node[:200]!r})" if node else ""  # repr: a lone surrogate is shown escaped
    text = text if len(text) <= 120 else f"{text[:120]}..."
    return f"{text or 'the body'}{named}"


def read_json(raw: bytes, max_string_length: int) -> Any:
    """The JSON value of a request body, or a 422 that says what is wrong and where."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HTTPException(422, f"the body is not valid JSON: it is not UTF-8 text ({e.reason} at byte "
                                 f"{e.start})") from None
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as e:
        raise HTTPException(422, f"the body is not valid JSON: {e}") from None
    except RecursionError:
        raise HTTPException(422, f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
    found = _find_problem(data, 0, max_string_length)
    if found is not None:
        path, problem = found
        path.reverse()
        raise HTTPException(422, f"{_where(data, path)}: {problem}")
    return data


class SafeJSONRequest(Request):
    """A request whose ``json()`` is ``read_json`` with the app's limits."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            settings: Settings = self.app.state.settings
            self._json = read_json(await self.body(), settings.max_string_length)
        return self._json


class SafeJSONRoute(APIRoute):
    """A route that reads its JSON body through ``read_json`` (FastAPI calls ``request.json()``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def safe_handler(request: Request) -> Response:
            return await handler(SafeJSONRequest(request.scope, request.receive))

        return safe_handler


# ---- the size of a training run ------------------------------------------------------------------------------------

OPTIMIZER_STATE = {"sgd": 1, "momentum": 1, "adam": 2, "adamw": 2, "rmsprop": 2, "adagrad": 1, "adadelta": 2}
"""Tensors as large as the weights that each optimizer keeps (SGD's momentum buffer counted even when unused)."""
DYNAMIC_AXIS = 64
"""The size assumed for a dynamic (null) axis when estimating activations."""


def training_bytes(report: ValidationReport, optimizer: str, batch_size: int) -> int:
    """An estimate of the memory training takes: float32 weights, their gradients and the optimizer's state,
    plus every node's outputs for one batch (kept for the backward pass) and their gradients."""
    weights = report.total_params * (2 + OPTIMIZER_STATE.get(optimizer, 2))
    values = sum(math.prod(DYNAMIC_AXIS if axis is None else axis for axis in shape)
                 for node in report.nodes.values() for shape in node.output_shapes.values() if shape is not None)
    return 4 * (weights + 2 * batch_size * values)


def size_problem(report: ValidationReport, optimizer: str, batch_size: int, settings: Settings) -> str | None:
    """Past the parameter or training-memory limit, what to say."""
    if report.total_params > settings.max_params:
        return (f"the graph has {report.total_params:,} parameters, more than the limit of {settings.max_params:,} "
                "(NETCANVAS_MAX_PARAMS)")
    needed = training_bytes(report, optimizer, batch_size) / 1e6
    if needed > settings.max_training_memory_mb:
        return (f"training would need about {needed:,.0f} MB (weights, gradients, {optimizer} state and the "
                f"activations of a batch of {batch_size}), more than the limit of "
                f"{settings.max_training_memory_mb:,.0f} MB (NETCANVAS_MAX_TRAINING_MEMORY_MB); use a smaller "
                "graph or batch size")
    return None


# ---- 422s that always serialize ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")[:1000]


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 without echoing the input back (which may be huge, NaN or not valid Unicode) and without
    pydantic's internals (``config.loss.function-after[_margin_options(), LossSpec]`` reads ``config.loss``)."""
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": [p if isinstance(p, int) else _text(p) for p in loc], "msg": _text(msg), "type": _text(kind)}
              for loc, msg, kind in readable_errors(exc.errors())]
    return JSONResponse({"detail": detail}, status_code=422)


def install_limits(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=int(settings.max_body_mb * 1_000_000))
    app.add_exception_handler(RequestValidationError, validation_error)
