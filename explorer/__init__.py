"""explorer: find structure in unlabeled data.

Load a table, images or embeddings into a :class:`~explorer.dataset.Dataset`, learn a representation
(PCA or an autoencoder), cluster the latent space, project it to 2-D, score it, and save it as a run
of plain files. The Streamlit dashboard and the CLI (``explorer``, or ``python -m explorer``) are thin
layers over these calls::

    from explorer.data import TableOptions, load
    from explorer.pipeline import default_config, run_pipeline
    from explorer.runs.files import save_run

    ds = load("sample_data/penguins.csv", table=TableOptions(label_column="species"))
    result = run_pipeline(ds, default_config(ds))
    save_run(result, "runs")

Each step is also a function on arrays with a typed config (``make_reducer(ModelConfig(...))``,
``cluster(Z, ClusterConfig(...))``, ``project(Z, ProjectionConfig(...))``); what only the dashboard
needs lives in :mod:`explorer.dashboard`. Heavy libraries (torch, umap, sklearn) are imported inside
the functions that need them, so ``import explorer`` is fast.
"""

import os as _os

# PyTorch's CPU threads (GNU OpenMP) spin ~300,000 times waiting for each other between operations. When other
# processes hold the cores, a spinning thread burns the time slice its partner needs: training steps took 4.8x
# longer beside two busy processes on 2 cores. A short spin costs ~8% on a quiet machine and makes that 3.0x
# (passive waiting: 17% and 2.0x). Read by libgomp when torch loads, hence here, before any torch import; a
# value the user set wins. Measured by bench/measure/threads.py (docs/BENCHMARKS.md, "threads under load").
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "5000")

__version__ = "0.2.0"
