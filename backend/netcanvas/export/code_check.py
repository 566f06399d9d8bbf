"""The child side of the PyTorch-code check; never imported by the server.

``python -I code_check.py FOLDER`` runs in a short-lived process whose working directory is
FOLDER. It imports ``model.py`` (with NetCanvas made unimportable, so the code is proven
standalone), loads ``weights.safetensors`` with the file's own ``load_weights``, runs the
model on every check run of ``inputs.safetensors`` (keys ``"<run>.<input>"``) and writes
``outputs.safetensors`` (keys ``"<run>.<output>"``). When anything fails it writes
``error.json`` (the stage, "load" or "run", and the error's first line) and exits with 1.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


def main(folder: Path) -> int:
    sys.modules["netcanvas"] = None  # type: ignore[assignment]  # any `import netcanvas` now fails
    import torch
    from safetensors.torch import load_file, save_file

    stage = "load"
    try:
        spec = importlib.util.spec_from_file_location("netcanvas_generated", folder / "model.py")
        assert spec is not None and spec.loader is not None
        code = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(code)
        model = getattr(code, code.MODEL_CLASS)()
        code.load_weights(model, str(folder / "weights.safetensors"))
        model.eval()
        stage = "run"
        inputs = load_file(str(folder / "inputs.safetensors"))
        runs = sorted({int(key.split(".", 1)[0]) for key in inputs})
        outputs = {}
        with torch.no_grad():
            for run in runs:
                args = [inputs[f"{run}.{i}"] for i in range(sum(k.startswith(f"{run}.") for k in inputs))]
                result = model(*args)
                for k, tensor in enumerate(result if isinstance(result, tuple) else (result,)):
                    outputs[f"{run}.{k}"] = tensor.detach().clone().contiguous()  # unshared
        save_file(outputs, str(folder / "outputs.safetensors"))
    except Exception as e:
        (folder / "error.json").write_text(json.dumps({"stage": stage, "message": _first_line(e)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
