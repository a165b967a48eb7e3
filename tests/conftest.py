"""Hypothesis profiles, the Dask cluster fixture and the headless Chromium fixture.

``ci`` (the default): derandomized, so a CI run is reproducible — the same examples
on every machine. ``explore``: random examples on every run; use it locally to
hunt for new failures::

    HYPOTHESIS_PROFILE=explore python -m pytest tests/test_metrics.py
"""
import os
import shutil
import warnings

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def client():
    """A LocalCluster (2 worker processes, 1 thread each, loopback) for a test module."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        c = Client(cluster)
    yield c
    c.close()
    cluster.close()


#: fixtures whose tests are slow by nature: a Dask LocalCluster, a headless Chromium
SLOW_FIXTURES = {"client", "browser"}


def pytest_collection_modifyitems(config, items):
    """Tests that start a Dask cluster or a browser are ``slow`` (see pyproject's
    markers): ``-m "not slow"`` leaves them out of the everyday run; CI runs all."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


#: Chromium's flags for the report and docs pages (no network, no sandbox in containers)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    """Debian's chromium (the README's test command installs it), or $LOGITLAB_CHROMIUM."""
    path = os.environ.get("LOGITLAB_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    assert path, ("Chromium is needed for the report tests: apt-get install -y chromium "
                  "(or set LOGITLAB_CHROMIUM to a Chromium/Chrome binary).")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        # Playwright starts it headless with a fresh temporary --user-data-dir
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield b
        b.close()
