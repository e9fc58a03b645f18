from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spinebench.testing import require


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A two-node Ray cluster on the loopback interface (a head and a worker node, as `ray start` makes them
    on a real cluster); yields the head's address.

    The nodes take the loopback addresses 127.0.0.2 and 127.0.0.3: Ray swaps 127.0.0.1 for this machine's
    network address, and a test must not listen or send beyond loopback. Token authentication is off for
    this rehearsal on one machine. Logical CPUs are set generously so that an actor pool never starves the
    tasks beside it on a 2-core machine.
    """
    require("ray")
    import ray

    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    address = f"127.0.0.2:{port}"
    settings = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)  # the driver, this process, takes them too
    common = ["--num-cpus=4", "--object-store-memory=150000000", "--disable-usage-stats"]
    head = [
        ray_cli,
        "start",
        "--head",
        "--node-ip-address=127.0.0.2",
        f"--port={port}",
        "--include-dashboard=false",
    ]
    worker = [ray_cli, "start", f"--address={address}", "--node-ip-address=127.0.0.3"]
    try:
        subprocess.run([*head, *common], check=True, capture_output=True, timeout=180)
        subprocess.run([*worker, *common], check=True, capture_output=True, timeout=180)
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=180)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
