"""What every page shares, one module per concern (Streamlit code only; everything shown comes from
``explorer``):

- ``session``: this session's workspace, the server's job manager, the run on show
- ``links``: the page table, ``?run=<id>`` share links and the read-only view
- ``loading``: cached loaders for uploads and bundled samples
- ``feedback``: error boxes, button callbacks that never raise, messages left by finished jobs
- ``widgets``: widgets that keep their value across pages
- ``progress``: the polling fragments that show a running job
- ``display``: image grids and number formatting
- ``downloads``: download buttons that never wait on a round trip made at click time
- ``compat``: every workaround for a Streamlit behaviour, in one place
"""
