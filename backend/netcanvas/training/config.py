"""The training config (docs/training-config.md): the seed's compile + fit, validated by pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import JsonDict

from .devices import DEVICE_CHOICES, Precision, check_spelling


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN and infinity are never a setting


LR = Field(default=0.001, gt=0.0, le=10.0, description="Learning rate")
WD = Field(default=0.0, ge=0.0, le=1.0, description="Weight decay (L2 penalty applied by the optimizer)")


class SGD(Strict):
    """Stochastic gradient descent: w -= lr * grad."""

    type: Literal["sgd"] = "sgd"
    lr: float = Field(default=0.01, gt=0.0, le=10.0, description="Learning rate")
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0, description="Momentum factor (0 = plain SGD)")
    dampening: float = Field(default=0.0, ge=0.0, le=1.0, description="Dampening for momentum")
    nesterov: bool = Field(default=False, description="Nesterov momentum (needs momentum > 0)")
    weight_decay: float = WD


class Momentum(Strict):
    """SGD with momentum 0.9: adds a fraction of the previous update to the current one."""

    type: Literal["momentum"] = "momentum"
    lr: float = Field(default=0.01, gt=0.0, le=10.0, description="Learning rate")
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0, description="Momentum factor")
    dampening: float = Field(default=0.0, ge=0.0, le=1.0, description="Dampening for momentum")
    nesterov: bool = Field(default=False, description="Nesterov momentum")
    weight_decay: float = WD


class Adam(Strict):
    """Adam: adaptive moment estimation (momentum + RMSProp-style scaling)."""

    type: Literal["adam"] = "adam"
    lr: float = LR
    beta1: float = Field(default=0.9, ge=0.0, lt=1.0, description="Decay of the first-moment estimate")
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0, description="Decay of the second-moment estimate")
    eps: float = Field(default=1e-8, gt=0.0, le=1.0, description="Term added for numerical stability")
    weight_decay: float = WD
    amsgrad: bool = Field(default=False, description="Use the AMSGrad variant")

    @model_validator(mode="before")
    @classmethod
    def _betas(cls, data: Any) -> Any:
        """Accept PyTorch's ``betas: [beta1, beta2]`` as well."""
        if isinstance(data, dict) and "betas" in data:
            data = dict(data)
            betas = data.pop("betas")
            if not isinstance(betas, list | tuple) or len(betas) != 2:
                raise ValueError("betas must be a pair [beta1, beta2]")
            data.setdefault("beta1", betas[0])
            data.setdefault("beta2", betas[1])
        return data


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay."""

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: float = Field(default=0.01, ge=0.0, le=1.0, description="Decoupled weight decay")


class RMSprop(Strict):
    """RMSProp: divides the learning rate by a running average of squared gradients."""

    type: Literal["rmsprop"] = "rmsprop"
    lr: float = Field(default=0.001, gt=0.0, le=10.0, description="Learning rate")
    alpha: float = Field(default=0.99, ge=0.0, lt=1.0, description="Smoothing constant")
    eps: float = Field(default=1e-8, gt=0.0, le=1.0, description="Term added for numerical stability")
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0, description="Momentum factor")
    centered: bool = Field(default=False, description="Normalize by an estimate of the gradient's variance")
    weight_decay: float = WD


class Adagrad(Strict):
    """AdaGrad: per-parameter learning rates that shrink for frequently updated parameters."""

    type: Literal["adagrad"] = "adagrad"
    lr: float = Field(default=0.01, gt=0.0, le=10.0, description="Learning rate")
    lr_decay: float = Field(default=0.0, ge=0.0, le=1.0, description="Learning-rate decay")
    initial_accumulator_value: float = Field(default=0.0, ge=0.0, description="Starting value of the sums")
    eps: float = Field(default=1e-10, gt=0.0, le=1.0, description="Term added for numerical stability")
    weight_decay: float = WD


class Adadelta(Strict):
    """Adadelta: AdaGrad with a decaying window instead of an ever-growing sum."""

    type: Literal["adadelta"] = "adadelta"
    lr: float = Field(default=1.0, gt=0.0, le=10.0, description="Scale of the update")
    rho: float = Field(default=0.9, ge=0.0, lt=1.0, description="Decay of the running averages")
    eps: float = Field(default=1e-6, gt=0.0, le=1.0, description="Term added for numerical stability")
    weight_decay: float = WD


Optimizer = Annotated[SGD | Momentum | Adam | AdamW | RMSprop | Adagrad | Adadelta,
                      Field(discriminator="type")]
OPTIMIZERS: tuple[type[Strict], ...] = (SGD, Momentum, Adam, AdamW, RMSprop, Adagrad, Adadelta)


class StepLR(Strict):
    """Multiply the learning rate by gamma every step_size epochs."""

    type: Literal["step"] = "step"
    step_size: int = Field(default=10, ge=1, description="Epochs between decays")
    gamma: float = Field(default=0.1, gt=0.0, le=1.0, description="Decay factor")


class ExponentialLR(Strict):
    """Multiply the learning rate by gamma every epoch."""

    type: Literal["exponential"] = "exponential"
    gamma: float = Field(default=0.95, gt=0.0, le=1.0, description="Decay factor per epoch")


class CosineLR(Strict):
    """Cosine annealing from the initial learning rate to eta_min over the run."""

    type: Literal["cosine"] = "cosine"
    eta_min: float = Field(default=0.0, ge=0.0, description="Final learning rate")
    t_max: int | None = Field(default=None, ge=1,
                              description="Epochs of the half cosine (default: all epochs)")


class PlateauLR(Strict):
    """Reduce the learning rate when the monitored metric stops improving."""

    type: Literal["plateau"] = "plateau"
    monitor: str = Field(default="val_loss",
                         description="Metric to watch (falls back to loss without validation)")
    factor: float = Field(default=0.1, gt=0.0, lt=1.0, description="Multiplier on a plateau")
    patience: int = Field(default=5, ge=0, description="Epochs without improvement before reducing")
    mode: Literal["min", "max", "auto"] = Field(default="auto",
                                                description="auto: max for accuracy-like metrics")
    threshold: float = Field(default=1e-4, ge=0.0,
                             description="Relative change that counts as an improvement")
    cooldown: int = Field(default=0, ge=0,
                          description="Epochs to wait after a reduction before watching again")
    min_lr: float = Field(default=0.0, ge=0.0, description="Lower bound")


Schedule = Annotated[StepLR | ExponentialLR | CosineLR | PlateauLR, Field(discriminator="type")]
SCHEDULES: tuple[type[Strict], ...] = (StepLR, ExponentialLR, CosineLR, PlateauLR)

LOSS_ALIASES: dict[str, str] = {
    "mse": "mse", "mean_squared_error": "mse", "MSELoss": "mse",
    "mae": "mae", "mean_absolute_error": "mae", "L1Loss": "mae",
    "huber": "huber", "HuberLoss": "huber", "SmoothL1Loss": "huber",
    "binary_crossentropy": "binary_crossentropy", "BCELoss": "binary_crossentropy",
    "BCEWithLogitsLoss": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "CrossEntropyLoss": "sparse_categorical_crossentropy", "NLLLoss": "sparse_categorical_crossentropy",
    "margin": "margin", "margin_loss": "margin", "capsule_margin": "margin",
}
METRICS = ("accuracy", "precision", "recall", "f1", "auc_roc", "mse", "mae")
METRIC_ALIASES: dict[str, str] = {
    **{m: m for m in METRICS}, "acc": "accuracy", "auc": "auc_roc", "roc_auc": "auc_roc", "f1_score": "f1",
    "mean_squared_error": "mse", "mean_absolute_error": "mae",
}

class LossSpec(Strict):
    """A loss, with its weight in the total when the graph has several outputs."""

    type: str = Field(description="Loss name (Keras or PyTorch class name)")
    weight: float = Field(default=1.0, ge=0.0, le=1000.0,
                          description="Weight in the total loss (multi-output)")
    m_plus: float | None = Field(default=None, ge=0.0, le=1.0,
                                 description="margin only: the length the target class's capsule should reach "
                                             "(default 0.9)")
    m_minus: float | None = Field(default=None, ge=0.0, le=1.0,
                                  description="margin only: the length other classes' capsules should stay under "
                                              "(default 0.1)")
    down_weight: float | None = Field(default=None, ge=0.0, le=10.0,
                                      description="margin only: the weight of the absent classes' part (the "
                                                  "paper's lambda, default 0.5)")


    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in LOSS_ALIASES:
            known = ", ".join(sorted(set(LOSS_ALIASES.values())))
            raise ValueError(f"unknown loss '{value}'; choose one of {known}")
        return LOSS_ALIASES[value]

    @model_validator(mode="after")
    def _margin_options(self) -> LossSpec:
        given = [k for k in ("m_plus", "m_minus", "down_weight") if getattr(self, k) is not None]
        if given and self.type != "margin":
            raise ValueError(f"{', '.join(given)}: only for the margin loss")
        return self

    def options(self) -> tuple[float, ...]:
        """The margin loss's (m_plus, m_minus, down_weight), defaults filled in; empty for other losses."""
        if self.type != "margin":
            return ()
        return (0.9 if self.m_plus is None else self.m_plus, 0.1 if self.m_minus is None else self.m_minus,
                0.5 if self.down_weight is None else self.down_weight)


def _loss_names(schema: JsonDict) -> None:
    """Declare the shorthand TrainConfig._shorthand accepts: a loss name for the loss and for each output's loss."""
    name: JsonDict = {"type": "string", "description": "A loss name, short for {\"type\": name}"}
    one, per_output = schema["anyOf"] if isinstance(schema["anyOf"], list) else []  # LossSpec | dict[str, LossSpec]
    if not isinstance(per_output, dict):
        raise TypeError(f"unexpected schema for the loss: {schema}")
    per_output["additionalProperties"] = {"anyOf": [name, per_output["additionalProperties"]]}
    schema["anyOf"] = [name, one, per_output]


class Regularization(Strict):
    """Penalties added to the loss: l1 * sum|w| + l2 * sum w^2 over weight matrices and kernels."""

    l1: float = Field(default=0.0, ge=0.0, le=1.0, description="L1 penalty on weights (not biases or norms)")
    l2: float = Field(default=0.0, ge=0.0, le=1.0, description="L2 penalty on weights (not biases or norms)")


class EarlyStopping(Strict):
    """Stop when the monitored metric has not improved for ``patience`` epochs (as Keras does)."""

    monitor: str = Field(default="val_loss", description="Metric to watch, e.g. val_loss or val_accuracy")
    mode: Literal["min", "max", "auto"] = Field(default="auto",
                                                description="auto: max for accuracy-like metrics")
    patience: int = Field(default=3, ge=0, le=10_000,
                          description="Epochs in a row without improvement before stopping")
    min_delta: float = Field(default=0.0, ge=0.0, description="Smallest change that counts as an improvement")
    restore_best_weights: bool = Field(default=True, description="End with the best epoch's weights")


class Health(Strict):
    """Per-layer health (docs/training-config.md#layer-health): activation statistics, dead ReLUs, gradient norms
    and update/weight ratios, read with hooks on one training step in ``every`` and sent as ``health`` events."""

    every: int = Field(default=100, ge=1, le=1_000_000, description="Probe one training step in this many (the "
                                                                   "first step is always probed)")


class Init(Strict):
    """Start from another run's weights (transfer learning, docs/training-config.md#starting-from-a-run)."""

    run: str | None = Field(default=None, min_length=1, max_length=500,
                            description="The run whose best weights are loaded, matched by node id and shape (a run "
                                        "id; the CLI and Python API also take a run directory or weights file)")
    freeze: list[str] = Field(default_factory=list, max_length=10_000,
                              description="Node ids whose weights are not trained (feature extraction); they run "
                                          "in inference mode, so BatchNorm statistics stay as loaded")
    lr_scale: float = Field(default=1.0, gt=0.0, le=1.0,
                            description="Learning-rate factor for the loaded nodes that are not frozen "
                                        "(fine-tuning them more gently than the fresh ones)")

    @field_validator("freeze")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class GanSpec(Strict):
    """A GAN drawn as two parts of one canvas graph (docs/training-config.md#gans): a generator from a noise Input
    to its Output, and a discriminator from the Input that takes images to an Output with one score per sample."""

    generator: str = Field(description="The generator's Output node id; the generator is every node that leads "
                                       "to it, from its noise Input")
    discriminator: str = Field(description="The discriminator's Output node id (one score per sample); the "
                                           "discriminator is every node that leads to it, from its image Input")
    loss: Literal["non_saturating", "wgan_gp"] = Field(
        default="non_saturating",
        description="non_saturating: the standard GAN loss (the generator maximizes log D(G(z))); wgan_gp: the "
                    "Wasserstein loss with a gradient penalty (the discriminator is a critic)")
    g_optimizer: Optimizer = Field(default_factory=lambda: Adam(lr=2e-4, beta1=0.5),
                                   description="The generator's optimizer")
    d_optimizer: Optimizer = Field(default_factory=lambda: Adam(lr=2e-4, beta1=0.5),
                                   description="The discriminator's optimizer")
    d_steps: int = Field(default=1, ge=1, le=20,
                         description="Discriminator steps per generator step (5 is usual for wgan_gp)")
    gp_weight: float = Field(default=10.0, ge=0.0, le=1000.0,
                             description="Weight of the gradient penalty (wgan_gp only)")
    samples: int = Field(default=32, ge=1, le=64,
                         description="Generated images in the sample grid sent after each epoch (fixed noise)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """Accept optimizer names: "g_optimizer": "adam"."""
        if isinstance(data, dict):
            data = {k: {"type": v} if k in ("g_optimizer", "d_optimizer") and isinstance(v, str) else v
                    for k, v in data.items()}
        return data


def _one_metric(value: str) -> str:
    if value not in METRIC_ALIASES:
        raise ValueError(f"unknown metric '{value}'; choose from {', '.join(METRICS)}")
    return METRIC_ALIASES[value]


class TrainConfig(Strict):
    """How to train: optimizer, loss, metrics, epochs, batch size, splits, regularization."""

    optimizer: Optimizer = Field(default_factory=Adam, description="Optimizer and its options")
    loss: LossSpec | dict[str, LossSpec] = Field(
        default_factory=lambda: LossSpec(type="sparse_categorical_crossentropy"),
        description="One loss, or one per Output name: "
                    "{\"out\": \"mse\", \"other\": {\"type\": ..., \"weight\": 0.5}}",
        json_schema_extra=_loss_names)
    metrics: list[str] | dict[str, list[str]] = Field(default_factory=lambda: ["accuracy"],
                                                      description="Metrics, or metrics per Output name")
    epochs: int = Field(default=10, ge=1, le=100_000, description="Passes over the training data")
    batch_size: int = Field(default=32, ge=1, le=1_000_000, description="Samples per gradient step")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed for weights, splits and shuffling")
    validation_split: float = Field(default=0.2, ge=0.0, lt=1.0,
                                    description="Fraction of the training data held out for validation "
                                                "(the test split, 20 % of a dataset, is apart)")
    regularization: Regularization = Field(default_factory=Regularization,
                                           description="L1 and L2 penalties on weights (not biases or norms)")
    early_stopping: EarlyStopping | None = Field(default=None,
                                                 description="Stop when the monitor stops improving")
    schedule: Schedule | None = Field(default=None, description="Learning-rate schedule")
    grad_clip: float | None = Field(default=None, gt=0.0, description="Clip the gradient norm to this value")
    num_threads: int = Field(default=1, ge=1, le=256, description="torch threads for training")
    workers: int = Field(default=1, ge=1, le=64, description="Data-parallel workers (Ray Train DDP, each on its "
                                                             "shard of the training split); more than 1 needs "
                                                             "NETCANVAS_EXECUTOR=ray")
    shuffle: bool = Field(default=True, description="Shuffle the training data every epoch")
    device: str = Field(default="auto", description=f"Where to train: {DEVICE_CHOICES}; auto takes the first "
                                                    "CUDA GPU when the server has one, else the CPU")
    precision: Precision = Field(default="32", description="32: float32; bf16-mixed or 16-mixed: the forward "
                                                           "pass and loss in bfloat16/float16 under autocast "
                                                           "(the CPU does bf16-mixed only)")
    compile: bool = Field(default=False, description="Train the torch.compile'd module (for GPUs and bigger "
                                                     "models; falls back to eager mode with a logged reason)")
    kind: Literal["supervised", "gan"] = Field(default="supervised",
                                               description="supervised: fit the Outputs to the dataset's targets; "
                                                           "gan: train the generator and discriminator named in `gan`")
    gan: GanSpec | None = Field(default=None, description="The GAN's parts and losses (with kind \"gan\")")
    init: Init | None = Field(default=None, description="Start from another run's weights and freeze nodes "
                                                        "(transfer learning)")
    health: Health | None = Field(default_factory=Health, description="Per-layer health sampled while training "
                                                                     "(null: off)")
    tensorboard: bool = Field(default=True, description="Write TensorBoard event files into the run directory "
                                                        "(scalars, histograms per epoch, the graph)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """Accept Keras shorthands: optimizer "adam", loss "mse", per-output loss strings."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("optimizer"), str):
            data["optimizer"] = {"type": data["optimizer"]}
        if isinstance(data.get("metrics"), str):
            data["metrics"] = [data["metrics"]]
        loss = data.get("loss")
        if isinstance(loss, str):
            data["loss"] = {"type": loss}
        elif isinstance(loss, dict) and "type" not in loss:
            data["loss"] = {k: {"type": v} if isinstance(v, str) else v for k, v in loss.items()}
        return data

    @model_validator(mode="after")
    def _gan(self) -> TrainConfig:
        if self.kind == "gan" and self.gan is None:
            raise ValueError("kind 'gan' needs a 'gan' block naming the generator's and the discriminator's "
                             "Output nodes: {\"generator\": ..., \"discriminator\": ...}")
        if self.gan is not None and self.kind != "gan":
            raise ValueError("a 'gan' block needs \"kind\": \"gan\"")
        return self

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        return check_spelling(value)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str] | dict[str, list[str]]) -> list[str] | dict[str, list[str]]:
        def unique(names: list[str]) -> list[str]:
            return list(dict.fromkeys(_one_metric(m) for m in names))

        if isinstance(value, dict):
            return {k: unique(v) for k, v in value.items()}
        return unique(value)

    def check_outputs(self, outputs: list[str]) -> None:
        """Per-output losses and metrics must name the graph's outputs (and every output needs a loss)."""
        known = ", ".join(outputs)
        for what, given in (("loss", self.loss), ("metrics", self.metrics)):
            if isinstance(given, dict):
                for name in given:
                    if name not in outputs:
                        raise ValueError(f"{what} given for '{name}', which is not an Output of the graph "
                                         f"(outputs: {known})")
        if isinstance(self.loss, dict):
            missing = [o for o in outputs if o not in self.loss]
            if missing:
                raise ValueError(f"no loss given for output {', '.join(repr(m) for m in missing)} "
                                 f"(outputs: {known}); give one loss per output")

    def loss_for(self, output: str, outputs: list[str]) -> LossSpec:
        if isinstance(self.loss, LossSpec):
            return self.loss
        if output not in self.loss:
            raise ValueError(f"no loss given for output '{output}' (outputs: {', '.join(outputs)})")
        return self.loss[output]

    def metrics_for(self, output: str) -> list[str]:
        if isinstance(self.metrics, dict):
            return self.metrics.get(output, [])
        return self.metrics
