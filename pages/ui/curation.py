"""The curation of the run on show, kept in the session and shared by the pages: Explore edits it; Understand,
Evaluate, Share and Apply show the curated clusters (explorer.dashboard.curate)."""

from __future__ import annotations

import streamlit as st

from explorer.dashboard import curate
from explorer.dashboard.messages import visitor_text

from . import compat, session

KEPT_CURATIONS = 4  # the curations of this many runs are kept in a session
USE_CURATED = "use_curated"  # False: the pages after Explore show the run's own clusters
EDITS = "curation_edits"  # a count of the edits made in this session (an undo counts too)


def of(result, *, say: bool = True):
    """``result``'s curation, kept in the session (the one saved with the run, the first time); runs that
    share their clusters (the same run under another projection) share it. A saved curation that can't be
    read is said (``say``), until the first edit."""
    kept = st.session_state.setdefault("curations", {})
    entry = kept.get(id(result.clusters))
    if entry is None or entry[0] is not result.clusters or curate.is_stale(entry[1], result):
        entry = (result.clusters, *curate.start_curation(result, session.runs_root()))
        while len(kept) >= KEPT_CURATIONS:  # the oldest goes: a curation holds a copy of its run's labels per edit
            kept.pop(next(iter(kept)))
        kept[id(result.clusters)] = entry
    if say and entry[2] and not entry[1].steps:
        st.warning(visitor_text(entry[2]))
    return entry[1]


def edits(curation) -> tuple:
    """What names ``curation``'s state for the caches: the curation, its steps and this session's edit count
    (the state after an undo then a new edit is not the one before the undo)."""
    return id(curation), len(curation.steps), st.session_state.get(EDITS, 0)


def edited() -> None:
    """Count an edit (the Explore page's buttons call it)."""
    st.session_state[EDITS] = st.session_state.get(EDITS, 0) + 1


def shown(result):
    """The run a page after Explore shows: ``result`` with its curated clusters when it has edits (one object
    per state of the curation, kept in the session: an explanation computed for it stays), said above the
    page with a switch back to the run's own clusters; else ``result``."""
    curation = of(result)
    if not curation.steps:
        return result
    use = compat.shared_checkbox(  # one choice for every page after Explore
        "The curated clusters",
        USE_CURATED,
        True,
        help="The clusters as edited on the Explore page (merge, split, recluster, rename); "
        "untick to see the run's own.",
    )
    if not use:
        st.caption("The run's own clusters, as it made them (the curation stays on the Explore page).")
        return result
    curated = session.cached(
        "curated_run", (id(result), *edits(curation)), lambda: curate.curated_run(result, curation)
    )
    st.caption(curate.curated_sentence(curated) or "")
    return curated
