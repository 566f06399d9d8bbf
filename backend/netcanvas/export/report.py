"""What an export is and how it was checked: one typed report for every format (the UI shows it)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ExportReport(BaseModel):
    format: str = Field(description="onnx, onnx-int8, pytorch, torchscript, weights or bundle")
    size_bytes: int
    seconds: float = Field(default=0.0, description="Time the export and its checks took")
    netcanvas_version: str | None = Field(default=None, description="Version that made the file (cache key)")
    checked: list[str] = Field(default_factory=list, description='Runs compared with the PyTorch model, e.g. '
                                                                 '"batch 7, length 17", "64 validation samples"')
    max_abs_diff: float | None = Field(default=None, description="Largest |export - PyTorch| over the checks")
    max_rel_diff: float | None = Field(default=None, description="Largest |export - PyTorch| / (|PyTorch| + 1e-6)")
    opset: int | None = Field(default=None, description="ONNX opset of the file")
    dynamic_axes: dict[str, list[str]] | None = Field(
        default=None, description="ONNX input/output name -> its axes as the file declares them ('batch', '8')")
    float_size_bytes: int | None = Field(default=None, description="int8: size of the float ONNX file")
    size_ratio: float | None = Field(default=None, description="int8: int8 size / float size")
    max_abs_diff_vs_float: float | None = Field(default=None, description="int8: largest |int8 - float| output")
    float_accuracy: float | None = Field(default=None, description="int8: float model's validation accuracy")
    int8_accuracy: float | None = Field(default=None, description="int8: int8 model's validation accuracy")
    accuracy_change: float | None = Field(default=None, description="int8: int8_accuracy - float_accuracy")
    validation_samples: int | None = Field(default=None, description="Validation samples the accuracies used")
    int8_method: str | None = Field(default=None, description="int8: 'static' (calibrated QDQ, for convolutions) "
                                                              "or 'dynamic' (linear and recurrent layers)")
    int8_method_reason: str | None = Field(default=None, description="int8: why that method was chosen")
    int8_speedup: float | None = Field(default=None, description="int8: float time / int8 time per call at batch 64 "
                                                                 "in ONNX Runtime (one thread)")
    kept_float: str | None = Field(default=None, description="int8: set when int8 did not pay off (too slow or too "
                                                             "inaccurate): the file is the float model, this says why")
    files: list[str] | None = Field(default=None, description="bundle: the files in the zip")
