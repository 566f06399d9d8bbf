"""How a run reads an uploaded dataset (the run's ``dataset`` spec), and the pipeline it records.

``DatasetOptions`` is what a user asks for; ``Pipeline`` is what was done, with every
statistic fit on the training split, stored with the run (``preprocessing.json``) so
predict and every export apply exactly the same steps.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NumericOp = Literal["standardize", "minmax", "none"]
CategoricalOp = Literal["onehot", "codes"]


class PreprocessingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numeric: NumericOp = Field(default="standardize", description="Numeric, boolean and date columns")
    categorical: CategoricalOp = Field(default="onehot", description="onehot: 0/1 columns in x; codes: an int64 "
                                                                     "field per column for an Embedding (0 = unknown)")
    impute: Literal["mean", "median", "zero"] = Field(default="mean", description="Missing numbers (categories "
                                                                                  "take the most frequent)")
    columns: dict[str, Literal["standardize", "minmax", "none", "onehot", "codes"]] = Field(
        default_factory=dict, description="Per-column override of numeric/categorical")
    image_size: tuple[int, int] | None = Field(default=None, description="[height, width]; default: the most "
                                                                         "common size (at most 512)")
    color: Literal["grey", "rgb"] | None = Field(default=None, description="Default: rgb if any image has colour")
    tokenizer: Literal["word", "bpe"] = "word"
    vocab_size: int = Field(default=5000, ge=10, le=200_000)
    length: int = Field(default=64, ge=1, le=4096, description="Tokens per text: padded with 0, truncated")
    lowercase: bool = True

    @field_validator("image_size")
    @classmethod
    def _size(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(4 <= s <= 1024 for s in v):
            raise ValueError("image_size sides must be between 4 and 1024")
        return v


class AugmentationOptions(BaseModel):
    """Random changes to training images, drawn anew each epoch (seeded); validation and test images are left
    as they are."""

    model_config = ConfigDict(extra="forbid")

    hflip: bool = Field(default=False, description="Flip left-right with probability 0.5")
    vflip: bool = Field(default=False, description="Flip upside down with probability 0.5")
    rotation: float = Field(default=0.0, ge=0, le=180, description="Rotate by up to ± this many degrees")
    crop_padding: int = Field(default=0, ge=0, le=64, description="Pad by this many pixels, crop back at random")
    brightness: float = Field(default=0.0, ge=0, le=1, description="Scale brightness by up to ± this fraction")
    noise: float = Field(default=0.0, ge=0, le=1, description="Add Gaussian noise with this standard deviation")

    def active(self) -> bool:
        return bool(self.hflip or self.vflip or self.rotation or self.crop_padding or self.brightness or self.noise)


class DatasetOptions(BaseModel):
    """What to read from an uploaded dataset: target and feature columns, test fraction, preprocessing,
    augmentation. The validation fraction is the training config's ``validation_split``."""

    target: list[str] | None = Field(default=None, description="Target column(s); default: the last column "
                                                               "(tables), the class folder (images), y (NPZ)")
    features: list[str] | None = Field(default=None, description="Feature columns; default: all the others")
    test_split: float = Field(default=0.2, ge=0.0, lt=1.0, description="Fraction held out for the test metrics")
    preprocessing: PreprocessingOptions = Field(default_factory=PreprocessingOptions)
    augmentation: AugmentationOptions | None = None

    @field_validator("target", "features", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ColumnStep(BaseModel):
    column: str
    dtype: str
    op: str
    """standardize | minmax | none | onehot | codes"""
    impute: float | str | None = None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    field: str = "x"
    offset: int | None = Field(default=None, description="First index of this column in the field")
    width: int = 1


class TextStep(BaseModel):
    column: str
    field: str
    tokenizer: str
    vocab_size: int
    length: int
    lowercase: bool
    tokenizer_json: str = Field(repr=False)


class ImageStep(BaseModel):
    field: str = "image"
    size: tuple[int, int]
    channels: int
    scale: str = "pixel / 255 -> [0, 1]"


class TargetStep(BaseModel):
    column: str
    field: str
    task: Literal["classification", "regression"]
    classes: list[str] | None = None


class SplitRecord(BaseModel):
    seed: int
    test_split: float
    validation_split: float
    stratified_by: str | None
    train: int
    validation: int
    test: int


class Pipeline(BaseModel):
    """The recorded preprocessing of a run on an uploaded dataset."""

    kind: str
    dataset: str
    name: str
    target: list[str]
    features: list[str]
    columns: list[ColumnStep] = Field(default_factory=list)
    text: list[TextStep] = Field(default_factory=list)
    image: ImageStep | None = None
    targets: list[TargetStep] = Field(default_factory=list)
    augmentation: AugmentationOptions | None = None
    splits: SplitRecord | None = None
    dropped: int = Field(default=0, description="Rows without a target value, left out")
    fields: dict[str, dict[str, Any]] = Field(default_factory=dict)
    binding: dict[str, str] = Field(default_factory=dict, description="Graph Input id -> field")

    def summary(self) -> list[str]:
        """One readable line per step (the bundle's model card and the Data view show these)."""
        lines = []
        for c in self.columns:
            impute = f"; missing -> {c.impute}" if c.impute is not None else ""
            if c.op == "standardize":
                lines.append(f"{c.column}: (value - {c.mean:.6g}) / {c.std:.6g}{impute}")
            elif c.op == "minmax":
                lines.append(f"{c.column}: (value - {c.min:.6g}) / ({c.max:.6g} - {c.min:.6g}){impute}")
            elif c.op == "onehot":
                lines.append(f"{c.column}: one-hot over {len(c.categories or [])} categories{impute}")
            elif c.op == "codes":
                lines.append(f"{c.column}: integer code 1..{len(c.categories or [])} (0 = unknown) into field "
                             f"'{c.field}'{impute}")
            else:
                lines.append(f"{c.column}: as it is{impute}")
        for t in self.text:
            lines.append(f"{t.column}: {t.tokenizer} tokenizer (vocabulary {t.vocab_size}, trained on the training "
                         f"split), padded/truncated to {t.length} ids into field '{t.field}'")
        if self.image is not None:
            colour = "grey" if self.image.channels == 1 else "RGB"
            lines.append(f"images: {colour}, resized to {self.image.size[0]}x{self.image.size[1]}, "
                         f"{self.image.scale}")
        for tgt in self.targets:
            lines.append(f"target {tgt.column}: {tgt.task}"
                         + (f" over {len(tgt.classes)} classes" if tgt.classes else ""))
        if self.augmentation is not None and self.augmentation.active():
            on = [k for k, v in self.augmentation.model_dump().items() if v]
            lines.append(f"augmentation (training split only): {', '.join(on)}")
        return lines
