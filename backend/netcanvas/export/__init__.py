"""Exports (ONNX, int8 ONNX, PyTorch code, TorchScript, weights, bundle) and predictions."""

from .onnx import ExportCheck, ExportError, export_onnx
from .predict import PredictError, predictor
from .pytorch_code import pytorch_code, run_code, torchscript
from .service import FORMATS, export_run

__all__ = ["FORMATS", "ExportCheck", "ExportError", "PredictError", "export_onnx", "export_run", "predictor",
           "pytorch_code", "run_code", "torchscript"]
