"""What only the web dashboard needs, still without Streamlit (a test parses this package to prove it).

- :mod:`~explorer.dashboard.jobs`: background jobs off the page's thread, one owner each, shared fairly
  (one running job per session, time caps, per-client budgets), GPU turns.
- :mod:`~explorer.dashboard.workspace`: one session's data, models, runs and typed job tickets.
- :mod:`~explorer.dashboard.actions`: what the buttons do (read an upload, start a training, a run, a projection).
- :mod:`~explorer.dashboard.cache`: the keys models and runs are cached by.
- :mod:`~explorer.dashboard.views`: what a page shows of a run, as arrays and tables.
- :mod:`~explorer.dashboard.forms`: values typed by hand, the devices this machine has.
- :mod:`~explorer.dashboard.comparison`: the runs the Evaluate page can compare.

The pages in ``pages/`` hold the widgets and call these; the library outside this package knows
nothing of the dashboard.
"""
