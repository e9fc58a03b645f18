"""Connecting to Ray: a local cluster, the one this machine belongs to, or one at an address."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from types import ModuleType
from typing import Final

from spinebench.errors import SpineBenchError

RAY_HELP: Final = (
    "local (start a Ray cluster on this machine) | auto (the cluster this machine is in) | ADDRESS"
)

# Ray's switch for "no multi-node cluster": with it off, every Ray process uses 127.0.0.1.
_LOOPBACK_ONLY: Final = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class ClusterError(SpineBenchError):
    """Ray is missing, or the cluster cannot be reached or used."""


def require_ray() -> ModuleType:
    """The `ray` module, or a clear error saying how to install it (imported only when asked for)."""
    if importlib.util.find_spec("ray") is None:
        raise ClusterError("--ray needs Ray, not installed here: pip install 'spinebench[ray]'")
    ray: ModuleType = importlib.import_module("ray")
    return ray


def connect(address: str) -> ModuleType:
    """Joins (or, for "local", starts) a Ray cluster for this process; a second call reuses it."""
    ray = require_ray()
    if not address.strip():
        raise ClusterError(f"--ray needs a value: {RAY_HELP}")
    if ray.is_initialized():
        return ray
    try:
        if address == "local":
            # A cluster of this process alone: keep it on the loopback interface (Ray would otherwise
            # advertise this machine's network address and listen for other nodes there).
            os.environ.setdefault(_LOOPBACK_ONLY, "0")
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ClusterError(f"cannot join the Ray cluster at {address!r}: {error}") from error
    # Ray Data's progress bars and per-dataset log lines would interleave with our progress display.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray
