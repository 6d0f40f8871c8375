"""What only the web dashboard needs, still without Streamlit (a test parses this package to prove it).

Shared by every page:

- :mod:`~explorer.dashboard.jobs`: background jobs off the page's thread, one owner each, shared fairly
  (one running job per session, time caps, per-client budgets), GPU turns.
- :mod:`~explorer.dashboard.workspace`: one session's data, models, runs and typed job tickets.
- :mod:`~explorer.dashboard.cache`: the keys models and runs are cached by.
- :mod:`~explorer.dashboard.forms`: values typed by hand, the devices this machine has.
- :mod:`~explorer.dashboard.messages`: what a visitor may read of a message (server folders left out).
- :mod:`~explorer.dashboard.run_view`: what several pages show of a run: cluster names, rows as images and
  as a table, a run in one sentence or one row.

One module per page (``pages/<name>.py``), what it shows and what its buttons do:
:mod:`~explorer.dashboard.data` (read an upload), :mod:`~explorer.dashboard.train` (fit the representation,
the training curve), :mod:`~explorer.dashboard.cluster` (run the clustering), :mod:`~explorer.dashboard.explore`
(colours, hover, selections, another projection), :mod:`~explorer.dashboard.understand` (the explanation as
tables), :mod:`~explorer.dashboard.reconstruct` (reconstructions, anomalies, generation, denoising),
:mod:`~explorer.dashboard.evaluate` (the runs that can be compared), :mod:`~explorer.dashboard.apply` (new data
through a run).

The pages in ``pages/`` hold the widgets and call these; the library outside this package knows
nothing of the dashboard.
"""
