"""What is shown, still without Streamlit: Plotly figures (:mod:`~explorer.display.plots`), density images
of large maps (:mod:`~explorer.display.density`) and the one boundary for user text
(:mod:`~explorer.display.usertext`). Importing this package imports none of them."""
