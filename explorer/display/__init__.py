"""What is shown, still without Streamlit: the map (:mod:`~explorer.display.maps`), the charts beside it
(:mod:`~explorer.display.charts`), density images of large maps (:mod:`~explorer.display.density`) and the
one boundary for user text (:mod:`~explorer.display.usertext`). Importing this package imports none of them."""
