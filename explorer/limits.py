"""Configurable caps on what the library accepts (uploads, rows, pixels, training time).

Every cap has a default that suits a laptop and a shared server alike, can be changed in code
(``Limits(max_rows=5_000_000)``) or through the environment (``EXPLORER_MAX_ROWS=5000000``), and when
hit raises :class:`~explorer.errors.LimitError` whose message gives the cap's value and how to change it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from explorer.errors import InputError, LimitError

ENV_PREFIX = "EXPLORER_"


@dataclass
class Limits:
    """Caps checked by the loaders and the training loop.

    Attributes:
        max_upload_bytes: size of one uploaded or read file (a table, an array file, a zip).
        max_rows: rows of a table or array (images count as rows too, see ``max_images``).
        max_columns: columns of a table, dimensions of a vector file.
        max_images: images in one load (files in a zip, a folder or a list; n of an image array).
        max_image_pixels: width * height of one image, checked from its header before decoding
            (guards against decompression bombs).
        max_total_pixels: pixels decoded for one image set in all (every image's width * height,
            or the reduced size a JPEG is decoded at), summed from the headers before any image is
            decoded; it bounds the time decoding takes (about 10 to 40 ns a pixel on one core).
        max_decoded_bytes: memory the loaded data may take once decoded, estimated from the file's
            metadata before decoding (Parquet footer, npy headers, the rows and columns of a CSV) at
            8 bytes a value (the float64 the encoder works in), plus the text of string columns.
        max_compression_ratio: how many times one member of a zip or .npz may expand (when it
            expands to more than 32 MiB); more is refused as a zip bomb.
        max_unzipped_bytes: bytes a zip may expand to, both as its entries declare and as actually
            read (guards against zip bombs); also caps the total bytes read for one image set.
        max_load_seconds: wall-clock seconds one load may take; the loaders check it between
            images, batches of rows and columns, and stop with a message when it is passed.
        max_epochs: epochs of one training run.
        max_train_seconds: wall-clock seconds of one training run (it stops there, keeping the best
            weights so far).
        max_session_train_seconds: wall-clock seconds of training one dashboard session may use in
            all, and one client (every session from one address, see ``EXPLORER_CLIENT_KEY``) may use
            within ``budget_window_seconds``; the dashboard checks both before it starts a job that trains.
        max_job_seconds: wall-clock seconds one dashboard job (a run, a training, a projection) may
            take: at the cap it is asked to stop (training keeps its best weights, the map falls back
            to PCA); a minute later it is cancelled.
        max_client_job_seconds: wall-clock seconds of dashboard jobs of any kind one client may use
            within ``budget_window_seconds``.
        budget_window_seconds: the window the client budgets are counted over (a rolling day).
        max_session_upload_bytes: bytes of uploaded files one dashboard session holds at once (all
            files of an upload together; a replaced upload is freed).
        max_display_points: the most points the dashboard's map may draw as markers: the highest
            "Points drawn at most" a visitor may ask for (the interactive sample, with hover and
            click). It caps the browser's work, not what the map holds: above the number asked for,
            every point is drawn as one density image beneath a uniform sample of markers, and a box
            or lasso selects every point inside it, drawn or not (docs/MAP.md).
        max_eager_download_rows: the most rows a dashboard download may have to be made with the page
            (a plain link, no wait); a larger file is made when the visitor clicks its "Prepare" button,
            so a page draw never costs the server more than a file of this size.
    """

    max_upload_bytes: int = 200 * 2**20
    max_rows: int = 1_000_000
    max_columns: int = 10_000
    max_images: int = 100_000
    max_image_pixels: int = 40_000_000
    max_total_pixels: int = 500_000_000
    max_decoded_bytes: int = 512 * 2**20
    max_compression_ratio: int = 200
    max_unzipped_bytes: int = 2 * 2**30
    max_load_seconds: float = 120.0
    max_epochs: int = 500
    max_train_seconds: float = 3600.0
    max_session_train_seconds: float = 4 * 3600.0
    max_job_seconds: float = 2 * 3600.0
    max_client_job_seconds: float = 8 * 3600.0
    budget_window_seconds: float = 24 * 3600.0
    max_session_upload_bytes: int = 200 * 2**20
    max_display_points: int = 200_000
    max_eager_download_rows: int = 20_000

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Limits:
        """The defaults, each overridden by ``EXPLORER_<FIELD>`` when set (e.g. ``EXPLORER_MAX_ROWS``).

        Values may use ``_`` as a digit separator (``2_000_000``). A value that is not a positive
        number raises :class:`InputError` naming the variable.
        """
        environ = os.environ if environ is None else environ
        changes: dict[str, Any] = {}  # each field's own type: float or int, as its `kind` above
        for f in fields(cls):
            var = ENV_PREFIX + f.name.upper()
            raw = environ.get(var)
            if raw is None or raw.strip() == "":
                continue
            kind = float if f.type in (float, "float") else int
            try:
                value = kind(raw.strip().replace("_", ""))
            except ValueError:
                raise InputError(f"{var}={raw!r} is not a number; set it to a positive {kind.__name__}.") from None
            if value <= 0:
                raise InputError(f"{var}={raw!r} must be positive.")
            changes[f.name] = value
        return replace(cls(), **changes)

    def check(self, field: str, value: float, what: str) -> None:
        """Raise :class:`LimitError` if ``value`` is over the cap ``field``.

        ``what`` names the thing measured, as the start of a sentence: "data.csv has 2,000,000 rows".
        """
        cap = getattr(self, field)
        if value > cap:
            raise LimitError(f"{what}, more than the limit {field}={_fmt(cap)}. {how_to_raise(field)}")


def how_to_raise(field: str) -> str:
    """The sentence that says how to change the cap ``field``."""
    return f"To allow more, set the environment variable {ENV_PREFIX}{field.upper()} or pass Limits({field}=...)."


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
