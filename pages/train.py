"""Train: learn a representation (PCA or an autoencoder) of the data, as a background job."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from explorer.dashboard import train
from explorer.dashboard.forms import available_devices, parse_hidden
from explorer.dashboard.workspace import JobKind
from explorer.device import resolve_device
from explorer.display import charts
from explorer.display.usertext import markdown_text
from explorer.limits import Limits
from explorer.pipeline import ModelConfig, default_config, default_reason
from explorer.pipeline.defaults import ONE_MEMBER_KINDS
from explorer.reducers import MODEL_LABELS, NO_MODEL, PRETRAINED
from pages.ui import feedback, progress, session, widgets as w

st.title("🧠 Train a representation")
ws, manager = session.workspace(), session.job_manager()
feedback.show_messages()
ds = session.need_dataset()
defaults = default_config(ds)
base = ws.config or defaults
ns = ws.fingerprint  # settings are remembered per dataset; new data start from its defaults
limits = Limits.from_env()

KIND_LABELS = {**MODEL_LABELS, NO_MODEL: "none (use the features as they are)"}
st.info(
    f"**Suggested for these data: {KIND_LABELS[defaults.model.kind]}.** {default_reason(ds)} "
    "Any model below can be chosen instead; the Cluster page uses what is set here."
)
if (text_note := train.text_in_use(ds)) is not None:
    st.caption(markdown_text(text_note))
kinds = ["pca", "ae", "dae", "vae"] + (["conv-ae", PRETRAINED] if ds.images is not None else []) + [NO_MODEL]


def model_settings() -> tuple[ModelConfig, str, int]:
    """The model, device and seed the widgets describe."""
    d = defaults.model
    kind = w.selectbox(
        "Model",
        kinds,
        key=w.pkey("kind", ns),
        default=d.kind,
        format_func=KIND_LABELS.get,
        help="PCA is instant; autoencoders learn a non-linear code; conv-ae is for images.",
    )
    if kind == NO_MODEL:
        return replace(d, kind=NO_MODEL, latent_dim=ds.X.shape[1]), "cpu", 0
    if kind == PRETRAINED:
        st.caption(
            "An image encoder already trained on a million ImageNet photos (EfficientNet-Lite2, installed with "
            "the app, nothing downloaded; Lite0, smaller and faster; or another encoder this server offers) turns "
            "each image into features of what it shows (1,280 for the Lite encoders); nothing is trained, the "
            "images are encoded once and kept for this session."
        )
        options = train.encoder_options()
        chosen = w.selectbox(
            "Encoder",
            list(options),
            key=w.pkey("encoder"),
            default=next(iter(options)),
            disabled=len(options) == 1,
            help="The encoders installed on this server (its operator adds more with EXPLORER_ENCODERS).",
        )
        encoder, weights = options[chosen]
        device = w.selectbox("Device", available_devices(), key=w.pkey("device"), default="auto")
        model = replace(d, kind=PRETRAINED, augment=False, members=1, encoder=encoder, encoder_weights=weights)
        return replace(model, allow_download=False), device, 0
    c1, c2, c3 = st.columns(3)
    with c1:
        latent = w.number(
            "Latent size",
            w.pkey("latent", ns),
            int(min(d.latent_dim, ds.X.shape[1])) if kind == "pca" else int(d.latent_dim),
            min_value=1,
            max_value=int(ds.X.shape[1]) if kind == "pca" else 512,
            step=1,
        )
    model = replace(
        d,
        kind=kind,
        latent_dim=int(latent),
        augment=False if kind == "pca" else d.augment,
        members=1 if kind in ONE_MEMBER_KINDS else d.members,
    )
    if kind != "pca":
        with c2:
            epochs = w.number(
                "Epochs",
                w.pkey("epochs", ns),
                int(min(d.epochs, limits.max_epochs)),
                min_value=1,
                max_value=int(limits.max_epochs),
                step=1,
            )
        with c3:
            batch = w.number(
                "Batch size", w.pkey("batch", ns), int(d.batch_size), min_value=2, max_value=65536, step=32
            )
        c4, c5, c6 = st.columns(3)
        with c4:
            lr = w.number(
                "Learning rate", w.pkey("lr", ns), float(d.lr), min_value=1e-6, max_value=1.0, step=1e-4, format="%.5f"
            )
            members = w.number(
                "Autoencoders side by side",
                w.pkey("members", ns),
                1 if kind == "vae" else int(d.members),
                min_value=1,
                max_value=8,
                step=1,
                disabled=kind == "vae",
                help="Several autoencoders from different starting weights, their codes joined: where one "
                "folds two groups together the others keep them apart. Each costs one training. "
                "Suggested for small image sets.",
            )
        hidden = d.hidden
        if kind != "conv-ae":
            with c5:
                hidden = parse_hidden(
                    w.text(
                        "Hidden layers (encoder; the decoder mirrors them)",
                        w.pkey("hidden", ns),
                        ", ".join(str(h) for h in d.hidden),
                    )
                )
        with c6:
            noise = w.number(
                "Noise (denoising)",
                w.pkey("noise", ns),
                float(d.noise),
                min_value=0.01,
                max_value=5.0,
                step=0.05,
                disabled=kind != "dae",
                help="std of the Gaussian noise added to the input",
            )
            kl = w.number(
                "KL weight (VAE)",
                w.pkey("kl", ns),
                float(d.kl_weight),
                min_value=0.0,
                max_value=100.0,
                step=0.1,
                disabled=kind != "vae",
            )
        augment = False
        if ds.images is not None:
            augment = w.checkbox(
                "Augment: also train on shifted and slightly rotated copies of the images",
                w.pkey("augment", ns),
                bool(d.augment),
                help="Codes that ignore small shifts and turns cluster digits and shapes better (DEC-DA).",
            )
        mixed = w.checkbox(
            "Mixed precision: bf16 where the hardware computes it natively (about 2x faster)",
            w.pkey("mixed", ns),
            bool(d.mixed_precision),
            help="On CUDA GPUs and CPUs with AVX512-BF16 or AMX; elsewhere training stays float32. "
            "Weights and codes are always float32.",
        )
        model = replace(
            model,
            epochs=int(epochs),
            batch_size=int(batch),
            lr=float(lr),
            hidden=tuple(hidden),
            noise=float(noise),
            kl_weight=float(kl),
            augment=bool(augment),
            mixed_precision=bool(mixed),
            members=1 if kind == "vae" else int(members),
        )
    c7, c8 = st.columns(2)
    with c7:
        device = w.selectbox("Device", available_devices(), key=w.pkey("device"), default="auto")
    with c8:
        seed = w.number("Seed", w.pkey("seed"), 0, min_value=0, max_value=2**31 - 1, step=1)
    return model, device, int(seed)


cfg = None
with feedback.guard("Settings"):
    model, device, seed = model_settings()
    cfg = replace(base, model=model, device=device, seed=seed)
    ws.config = cfg
    st.caption(f"Runs on: **{resolve_device(device).description}**")
if cfg is None:
    st.stop()

if progress.job_progress(JobKind.TRAIN, show_loss=True):
    st.stop()
if not cfg.model.needs_fit:
    st.success(
        "Nothing to train: the features themselves are the representation. Go on to the Cluster page, or "
        "choose PCA or an autoencoder above to learn a representation first."
    )
elif ws.has_model(cfg):
    reducer = ws.model(cfg)
    info = getattr(reducer, "train_info_", {}) or {}
    extra = f" Stopped: {info['stop_reason']}, best epoch {info.get('best_epoch')}." if info.get("stop_reason") else ""
    st.success(f"Trained with these settings (kept for this session).{extra}")
    for note in info.get("notes", []):
        st.info(note)
    history = getattr(reducer, "history_", None)  # PCA has none
    if history:
        st.plotly_chart(charts.loss_curve(history), width="stretch")
    st.button("Train again", icon="🔁", on_click=feedback.safely, args=(train.start_training, ws, manager, cfg, limits))
else:
    st.button(
        "Train",
        type="primary",
        icon="▶️",
        on_click=feedback.safely,
        args=(train.start_training, ws, manager, cfg, limits),
    )
st.page_link("pages/cluster.py", label="Next: cluster the latent space", icon="🧩")
