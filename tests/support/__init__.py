"""Test support, by capability: plain helpers to import, fixtures loaded as pytest plugins.

Test modules import helpers from here (`from tests.support.http import csrf_from`); the
fixtures reach every test through `pytest_plugins` in `tests/conftest.py`.
"""
