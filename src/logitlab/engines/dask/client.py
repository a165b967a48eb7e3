"""Dask clients: the current one, one to a scheduler address, or a LocalCluster.

A fit uses the current ``distributed`` client when there is one, connects to
``engine_options["address"]`` when given, and otherwise starts a LocalCluster
on this machine (worker processes on the loopback interface, one thread
each) once, closed at exit.
"""

from __future__ import annotations

import atexit

_local = {"cluster": None, "client": None}
#: seconds to wait for a scheduler at an address before giving up
CONNECT_TIMEOUT = 5.0


def require_dask():
    """Import dask and distributed, or say how to install them."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError("the Dask engine needs dask and distributed: "
                          "pip install 'logitlab[dask]'.") from None


def current_client():
    """The current ``distributed.Client`` or None."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def connect(address: str | None = None, timeout: float = CONNECT_TIMEOUT, **cluster_kwargs):
    """A client: to the scheduler at ``address`` (a ``ConnectionError`` when it
    does not answer within ``timeout`` seconds), or (``None`` / ``"local"``) to
    a LocalCluster on this machine (worker processes on the loopback
    interface, one thread each), started once and closed at exit."""
    require_dask()
    from distributed import Client, LocalCluster
    if address not in (None, "local"):
        return _remote_client(Client, address, timeout)
    if _local["client"] is None or _local["client"].status != "running":
        kwargs = dict(processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None)
        kwargs.update(cluster_kwargs)
        _local["cluster"] = LocalCluster(**kwargs)
        _local["client"] = Client(_local["cluster"])
        atexit.register(_close_local)
    return _local["client"]


def _remote_client(Client, address, timeout):
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConnectionError(f"cannot connect to the Dask scheduler at {address!r} within "
                              f"{timeout:g} s ({reason}); check the address and that the "
                              "scheduler is running, or wait longer with "
                              "engine_options={'timeout': seconds}.") from None


def _close_local():
    for key in ("client", "cluster"):
        obj, _local[key] = _local[key], None
        if obj is not None:
            try:
                obj.close()
            except Exception:   # noqa: BLE001 - best effort at interpreter exit
                pass


def client_for(opts):
    """The client a fit with engine options ``opts`` runs on."""
    client = current_client() if opts.get("address") is None else None
    return client or connect(opts.get("address"), opts.get("timeout", CONNECT_TIMEOUT))


def cluster_memory(client) -> float:
    workers = client.scheduler_info().get("workers", {})
    return float(sum(w.get("memory_limit") or 0 for w in workers.values())) or float("inf")
