"""Small helpers shared by the benchmarks: the machine description, timing, JSON results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]  # bench/
ROOT = BENCH.parent
RESULTS = BENCH / "results"
# the smoke runs' default pipeline (--quick): one autoencoder and a short refinement, the same steps
QUICK_OVERRIDES = {"members": 1, "cluster_dec_max_iter": 30}  # explorer.pipeline.replace_nested names

# Threads per benchmark process: $BENCH_THREADS (default: torch's own choice). On a small shared machine
# one thread each avoids the oversubscription that slows two concurrent 2-thread processes down 5-10x.
THREADS = os.environ.get("BENCH_THREADS")
if THREADS:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = THREADS
    import torch

    torch.set_num_threads(int(THREADS))


def machine() -> dict[str, Any]:
    """Where the numbers came from: CPU model (from /proc/cpuinfo), cores, threads, the instruction set
    PyTorch's CPU kernels run (``torch_cpu_capability``: "AVX2", "AVX512"; held down by ``ATEN_CPU_CAPABILITY``
    and ``ONEDNN_MAX_CPU_ISA``, recorded when set), whether the CPU (and the GPU, if any) computes bf16
    natively, library versions."""
    import numpy as np
    import sklearn
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "isa_env": {v: os.environ[v] for v in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if v in os.environ},
        "bench_threads_env": THREADS,
        "load_average_at_start": list(os.getloadavg()),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    info.update(_bf16(torch))
    try:
        import umap

        info["umap"] = umap.__version__
    except Exception:  # noqa: BLE001  # pragma: no cover - umap is optional here: without it, no version
        pass
    return info


def _bf16(torch: Any) -> dict[str, bool | None]:
    """native_bf16: the CPU multiplies bf16 natively (where the product trains under bf16 autocast);
    gpu_bf16: the same for the GPU, when there is one. None where the check is not available."""
    out: dict[str, bool | None] = {"native_bf16": None}
    try:
        from explorer.reducers.train import cpu_has_native_bf16

        out["native_bf16"] = bool(cpu_has_native_bf16())
    except Exception:  # noqa: BLE001  # pragma: no cover - an explorer without the check: None
        pass
    if torch.cuda.is_available():
        out["gpu_bf16"] = bool(torch.cuda.is_bf16_supported())
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(fn(), seconds of wall time)."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_plain) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, (tuple, set)):
        return list(v)
    raise TypeError(f"not JSON serialisable: {type(v)}")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
