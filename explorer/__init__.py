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

__version__ = "0.2.0"
