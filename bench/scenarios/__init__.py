"""Benchmark scenarios: one module each, defining ``SCENARIO`` (see ``bench/__init__.py``)."""
