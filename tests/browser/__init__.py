"""End-to-end tests in a real headless Chromium (see conftest.py)."""
