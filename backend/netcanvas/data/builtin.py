"""Built-in datasets. All ship with the install: scikit-learn's bundled sets and seeded
procedural generators. Nothing is downloaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class FieldSpec:
    """One named array of a dataset: shape without the sample axis, dtype, role."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32" | "int64"
    role: str  # "input" | "target"
    classes: tuple[str, ...] | None = None
    doc: str = ""

    def entry(self) -> dict[str, object]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "role": self.role,
                "classes": list(self.classes) if self.classes else None, "doc": self.doc}


@dataclass
class Dataset:
    name: str
    doc: str
    task: str  # classification | regression | sequence classification | forecasting | multi-task
    fields: list[FieldSpec]
    arrays: dict[str, Array]
    vocabulary: list[str] | None = None
    standardize: tuple[str, ...] = ()
    """Float input fields standardized with training-split statistics (tabular data)."""
    extra: dict[str, object] = field(default_factory=dict)
    """Also ``raw_scale``: field -> the number raw values are divided by (digits: grey levels 0-16 -> [0, 1]),
    which the exported ``preprocess()`` applies."""

    @property
    def size(self) -> int:
        return len(next(iter(self.arrays.values())))

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def inputs(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.role == "input"]

    def targets(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.role == "target"]


def _f32(a: Array) -> Array:
    return np.ascontiguousarray(a, dtype=np.float32)


def _i64(a: Array) -> Array:
    return np.ascontiguousarray(a, dtype=np.int64)


def _sklearn_classification(name: str, loader: Callable[..., object], doc: str) -> Dataset:
    bunch = loader()
    x, y = _f32(bunch.data), _i64(bunch.target)  # type: ignore[attr-defined]
    classes = tuple(str(c) for c in bunch.target_names)  # type: ignore[attr-defined]
    return Dataset(name, doc, "classification",
                   [FieldSpec("x", x.shape[1:], "float32", "input", doc="features"),
                    FieldSpec("y", (), "int64", "target", classes, doc="class index")],
                   {"x": x, "y": y}, standardize=("x",),
                   extra={"feature_names": {"x": [str(n) for n in bunch.feature_names]}})  # type: ignore[attr-defined]


def iris() -> Dataset:
    from sklearn.datasets import load_iris

    return _sklearn_classification("iris", load_iris,
                                   "Fisher's iris flowers: 4 measurements, 3 species (150 samples).")


def wine() -> Dataset:
    from sklearn.datasets import load_wine

    return _sklearn_classification("wine", load_wine,
                                   "Wine recognition: 13 chemical measurements, 3 cultivars (178).")


def breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_classification(
        "breast_cancer", load_breast_cancer,
        "Breast cancer Wisconsin: 30 cell-nucleus features, malignant or benign (569).")


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = _f32(bunch.images[:, None, :, :] / 16.0)
    y = _i64(bunch.target)
    return Dataset("digits", "Handwritten digits as 1×8×8 images scaled to [0, 1], 10 classes (1,797).",
                   "classification",
                   [FieldSpec("x", (1, 8, 8), "float32", "input", doc="grey-level image in [0, 1]"),
                    FieldSpec("y", (), "int64", "target", tuple(str(i) for i in range(10)), doc="digit")],
                   {"x": x, "y": y}, extra={"raw_scale": {"x": 16.0}})


def _digit_subset(name: str, low: int) -> Dataset:
    """The digits ``low`` to ``low + 4`` of ``digits``, labelled 0-4 (class names keep the digits): two halves for
    transfer learning, a trunk trained on one and reused on the other (README, "Transfer learning")."""
    full = digits()
    keep = (full.arrays["y"] >= low) & (full.arrays["y"] < low + 5)
    classes = tuple(str(i) for i in range(low, low + 5))
    return Dataset(name, f"The digits {low}–{low + 4} of digits as 1×8×8 images, 5 classes labelled 0–4 "
                         f"({int(keep.sum()):,}); for transfer learning.", "classification",
                   [FieldSpec("x", (1, 8, 8), "float32", "input", doc="grey-level image in [0, 1]"),
                    FieldSpec("y", (), "int64", "target", classes, doc="digit")],
                   {"x": _f32(full.arrays["x"][keep]), "y": _i64(full.arrays["y"][keep] - low)},
                   extra={"raw_scale": {"x": 16.0}})


def digits_0_4() -> Dataset:
    return _digit_subset("digits_0_4", 0)


def digits_5_9() -> Dataset:
    return _digit_subset("digits_5_9", 5)


def diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    x, y = _f32(bunch.data), _f32(bunch.target[:, None] / 100.0)
    return Dataset("diabetes", "Diabetes progression one year after baseline (target / 100) from 10 "
                   "measurements (442). Regression.", "regression",
                   [FieldSpec("x", (10,), "float32", "input"), FieldSpec("y", (1,), "float32", "target")],
                   {"x": x, "y": y}, standardize=("x",), extra={"feature_names": {"x": list(bunch.feature_names)}})


def linnerud() -> Dataset:
    from sklearn.datasets import load_linnerud

    bunch = load_linnerud()
    x, y = _f32(bunch.data), _f32(bunch.target / 100.0)
    return Dataset("linnerud", "Linnerud: 3 exercise counts -> 3 physiological measurements (/100), 20 men. "
                   "Multi-output regression.", "regression",
                   [FieldSpec("x", (3,), "float32", "input", doc="chins, situps, jumps"),
                    FieldSpec("y", (3,), "float32", "target", doc="weight, waist, pulse (/100)")],
                   {"x": x, "y": y}, standardize=("x",), extra={"feature_names": {"x": list(bunch.feature_names)}})


def _points(name: str, doc: str, x: Array, y: Array, classes: tuple[str, ...]) -> Dataset:
    return Dataset(name, doc, "classification",
                   [FieldSpec("x", (2,), "float32", "input", doc="point (x, y)"),
                    FieldSpec("y", (), "int64", "target", classes)],
                   {"x": _f32(x), "y": _i64(y)}, standardize=("x",))


def moons() -> Dataset:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=1000, noise=0.2, random_state=0)
    return _points("moons", "Two interleaving half circles with noise (1,000 points).", x, y,
                   ("upper", "lower"))


def circles() -> Dataset:
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=0)
    return _points("circles", "A circle inside another, with noise (1,000 points).", x, y, ("outer", "inner"))


def spirals() -> Dataset:
    rng = np.random.default_rng(0)
    n, arms = 400, 3
    xs, ys = [], []
    for k in range(arms):
        r = np.linspace(0.05, 1.0, n)
        t = r * 4.0 + 2 * np.pi * k / arms + rng.normal(0, 0.15, n)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n, k))
    return _points("spirals", "Three interleaved spirals (1,200 points): not linearly separable.",
                   np.concatenate(xs), np.concatenate(ys), ("arm 0", "arm 1", "arm 2"))


def blobs() -> Dataset:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=1000, centers=4, cluster_std=1.2, random_state=0)
    return _points("blobs", "Four Gaussian blobs (1,000 points).", x, y, ("a", "b", "c", "d"))


def sequences() -> Dataset:
    """MNIST-1D style: 10 template signals, randomly shifted, scaled, sheared and noised."""
    rng = np.random.default_rng(1)
    length, n = 40, 4000
    t = np.linspace(-1, 1, 12)
    templates = np.stack([
        np.sin(np.pi * t), np.cos(np.pi * t), np.sign(t), t, -t, t ** 2, np.abs(t) - 0.5,
        np.sin(2 * np.pi * t), (t > 0.3).astype(float) - (t < -0.3), np.exp(-8 * t ** 2),
    ])
    y = rng.integers(0, 10, n)
    x = np.zeros((n, length), dtype=np.float64)
    for i, label in enumerate(y):
        pattern = templates[label] * rng.uniform(0.7, 1.3)
        start = rng.integers(0, length - len(pattern))
        x[i, start:start + len(pattern)] = pattern
        x[i] += np.linspace(-1, 1, length) * rng.normal(0, 0.1) + rng.normal(0, 0.15, length)
    return Dataset("sequences", "MNIST-1D-style sequence classification: 10 patterns at random positions "
                   "with scaling, shear and noise; [40 time steps, 1 feature] (4,000, procedural).",
                   "sequence classification",
                   [FieldSpec("x", (length, 1), "float32", "input",
                              doc="[time, features]; Permute to [1, 40] for Conv1d"),
                    FieldSpec("y", (), "int64", "target", tuple(f"pattern {i}" for i in range(10)))],
                   {"x": _f32(x[:, :, None]), "y": _i64(y)})


def timeseries() -> Dataset:
    """Next-value forecasting on a noisy sum of two seasonal waves."""
    rng = np.random.default_rng(2)
    window, n = 32, 3000
    t = np.arange(n + window + 1, dtype=np.float64)
    series = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.1, len(t))
    x = np.stack([series[i:i + window] for i in range(n)])[:, :, None]
    y = series[window:window + n][:, None]
    return Dataset("timeseries", "Forecasting: the next value of a noisy two-season wave from the previous "
                   "32 ([32, 1] -> [1], 3,000 windows). Regression.", "forecasting",
                   [FieldSpec("x", (window, 1), "float32", "input", doc="[time, features]"),
                    FieldSpec("y", (1,), "float32", "target", doc="next value")],
                   {"x": _f32(x), "y": _f32(y)})


TEXT_WORDS = {
    "positive": ["great", "excellent", "wonderful", "loved", "fantastic", "superb", "delightful", "enjoyed"],
    "negative": ["terrible", "awful", "boring", "hated", "dreadful", "poor", "disappointing", "waste"],
    "neutral": ["okay", "average", "fine", "ordinary", "decent", "acceptable", "plain", "standard"],
}
TEXT_FILLER = ["the", "movie", "film", "was", "a", "really", "plot", "acting", "and", "story", "it", "i",
               "this", "very", "quite", "ending", "music", "cast", "overall", "but", "not", "so", "of",
               "with"]
TEXT_LENGTH = 24


def text() -> Dataset:
    """Review-like sentences: filler words plus 1–3 words carrying the class; tokenized, padded with 0."""
    rng = np.random.default_rng(3)
    labels = list(TEXT_WORDS)
    vocab = ["<pad>", "<unk>", *TEXT_FILLER, *(w for words in TEXT_WORDS.values() for w in words)]
    index = {w: i for i, w in enumerate(vocab)}
    n = 3000
    y = rng.integers(0, len(labels), n)
    x = np.zeros((n, TEXT_LENGTH), dtype=np.int64)
    for i, label in enumerate(y):
        words = list(rng.choice(TEXT_FILLER, rng.integers(5, 16)))
        for _ in range(rng.integers(1, 4)):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(TEXT_WORDS[labels[label]])))
        ids = [index[w] for w in words[:TEXT_LENGTH]]
        x[i, :len(ids)] = ids
    return Dataset("text", f"Sentiment-like text classification: sentences of filler words with 1–3 "
                   f"class words, as int64 token ids padded with 0 to {TEXT_LENGTH} (vocabulary "
                   f"{len(vocab)}; 3,000, procedural). Use Embedding(num_embeddings>=vocabulary, "
                   "padding_idx=0).", "classification",
                   [FieldSpec("x", (TEXT_LENGTH,), "int64", "input", doc="token ids, 0 = padding"),
                    FieldSpec("y", (), "int64", "target", tuple(labels))],
                   {"x": x, "y": _i64(y)}, vocabulary=vocab)


def multi_io() -> Dataset:
    """Two inputs, two outputs: a class and a value, each depending on both inputs."""
    rng = np.random.default_rng(4)
    n = 2000
    a, b = rng.normal(size=(n, 8)), rng.normal(size=(n, 4))
    score = a[:, :3].sum(1) - b[:, 0] * 1.5
    y_class = np.digitize(score, [-1.0, 1.0])
    y_value = (a[:, 3] * b[:, 1] + np.sin(a[:, 4]) + 0.5 * b[:, 2])[:, None]
    return Dataset("multi_io", "Two inputs (x_a [8], x_b [4]) and two targets: a 3-way class y_class and a "
                   "value y_value (2,000, procedural). For multi-input/multi-output graphs.", "multi-task",
                   [FieldSpec("x_a", (8,), "float32", "input"), FieldSpec("x_b", (4,), "float32", "input"),
                    FieldSpec("y_class", (), "int64", "target", ("low", "mid", "high")),
                    FieldSpec("y_value", (1,), "float32", "target")],
                   {"x_a": _f32(a), "x_b": _f32(b), "y_class": _i64(y_class), "y_value": _f32(y_value)},
                   standardize=("x_a", "x_b"))


LOADERS: dict[str, Callable[[], Dataset]] = {
    f.__name__: f for f in (iris, wine, breast_cancer, digits, digits_0_4, digits_5_9, diabetes, linnerud, moons,
                            circles, spirals, blobs, sequences, timeseries, text, multi_io)
}
_loaded: dict[str, Dataset] = {}


def load(name: str) -> Dataset:
    if name not in LOADERS:
        raise KeyError(f"unknown dataset '{name}'; built-in datasets: {', '.join(LOADERS)}")
    if name not in _loaded:
        _loaded[name] = LOADERS[name]()
    return _loaded[name]
