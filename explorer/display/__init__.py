"""What is shown, still without Streamlit: Plotly figures (:mod:`~explorer.display.maps` for the map, :mod:`~explorer.display.charts` beside it), density images
of large maps (:mod:`~explorer.display.density`) and the one boundary for user text
(:mod:`~explorer.display.usertext`). Importing this package imports none of them."""
