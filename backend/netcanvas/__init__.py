"""NetCanvas: a visual neural-network builder. Graph JSON -> PyTorch (torch.fx) -> training -> ONNX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .sdk import Model


def __getattr__(name: str) -> Any:
    # Imported lazily: `import netcanvas` stays cheap for the CLI's --help.
    if name == "Model":
        from .sdk import Model

        return Model
    raise AttributeError(name)


__all__ = ["Model", "__version__"]
