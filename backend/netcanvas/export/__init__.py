"""Exports (ONNX, int8 ONNX, PyTorch code, TorchScript, weights, bundle) and predictions."""

from .checks import ExportError
from .int8 import quantize_int8
from .onnx import example_inputs, export_onnx
from .predict import PredictError, predictor
from .pytorch_code import export_pytorch_code, pytorch_code
from .report import ExportReport
from .service import FORMATS, export_run
from .torchscript import export_torchscript

__all__ = ["FORMATS", "ExportError", "ExportReport", "PredictError", "example_inputs", "export_onnx",
           "export_pytorch_code", "export_run", "export_torchscript", "predictor", "pytorch_code", "quantize_int8"]
