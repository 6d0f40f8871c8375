"""Background jobs for the dashboard: long work (loading, training, DEC, UMAP) off the page's thread,
shared fairly between sessions.

A :class:`JobManager` runs functions ``fn(job) -> result``, each on a thread of its own. The function
reports progress with ``job.emit(event)`` (the pipeline's :class:`~explorer.events.Progress` events)
and checks ``job.should_stop()``; the page polls ``job.progress`` / ``job.snapshot()`` and draws them.
A job is owned by one session: every lookup takes the owner, and a session never sees another's jobs.

Fairness (what one session can take from the others):

- at most ``max_workers`` jobs run at once, server-wide; at most **one per session**: a session's next
  job waits in the queue until its running one has really ended;
- at most ``per_client`` of them for one client (every session from one address, see
  :func:`client_key`), so many tabs do not take every worker either; a waiting job of the client
  with the fewest running jobs, served longest ago, goes first;
- GPU jobs take turns: at most one runs on each GPU device ("cuda", "cuda:1", "mps") at a time;
- job threads run at a lower CPU priority than the threads that draw the pages, lower still once a
  job has run long or its client has used much lately (:meth:`JobManager.nice_for`), each with its
  share of BLAS / OpenMP / torch threads.

Stopping, in two strengths:

- :meth:`Job.stop` (the Stop button, and a job's time cap): ``should_stop()`` turns True; training
  keeps its best weights, sweeps end, the run finishes with what it has and its result still arrives;
- :meth:`Job.cancel` (a replaced job, a job past its cap plus ``grace_s``): the next
  ``should_stop()`` or ``emit()`` raises :class:`JobCancelled` inside the work, which ends it there;
  the result is dropped. A job stuck inside one library call that never checks (a nearest-neighbour
  search, one k-means fit) and still running ``grace_s`` after its cancel deadline is *abandoned*: it
  stops counting against the workers (others get the slot), but still against its client, and its
  result is dropped when the call returns.

Time spent is written to a :class:`UsageLedger` per client, so budgets (training seconds, job seconds
in a rolling window) survive a new tab; see :meth:`JobManager.seconds_used`.

Where the work runs: on the job's thread here, by default; with ``EXPLORER_DASK_SCHEDULER`` set (or a
``backend`` given), on a Dask cluster's workers (:mod:`~explorer.dashboard.jobs.dask_backend`), the thread only
waiting and relaying progress and Stop. Everything above holds either way.

With ``synchronous=True`` (or ``EXPLORER_SYNC_JOBS=1`` in the environment) ``submit`` runs the job in
the caller's thread and returns it finished, which makes page tests deterministic.

The modules: :mod:`~explorer.dashboard.jobs.job` (a job, its events and stopping),
:mod:`~explorer.dashboard.jobs.manager` (the manager and its fairness rules), :mod:`~explorer.dashboard.jobs.usage`
(client keys, the usage ledger, budgets), :mod:`~explorer.dashboard.jobs.threads` (priority and thread limits),
:mod:`~explorer.dashboard.jobs.dask_backend` (jobs on a Dask cluster).

Nothing here imports Streamlit; the dashboard keeps one manager per server process
(``st.cache_resource``) so jobs survive reruns and page switches.
"""
