"""Settings the launcher writes for the processes it starts.

``dis demo`` and ``dis replay`` run in a data directory of their own with short polling
intervals and a fast clock, so that a sample's whole journey takes seconds; ``dis up`` keeps
the product's defaults unless told otherwise. Ports are chosen free at start so a demo never
collides with a running installation.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import tomli_w

from dis_core.config import Config, load_config

CONFIG_FILE = "dis.toml"
# Demo and replay data directories are wiped at start; the goodware model cache outlives them.
SHARED_CACHE = Path(".dis-data/cache")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quick_loop_settings(data_dir: Path, speed: float) -> dict[str, dict[str, Any]]:
    """A configuration in which every interval is short in simulated time and the clock is fast."""
    return {
        "general": {"data_dir": str(data_dir), "listen_port": free_port(), "console_refresh_s": 5},
        "gateway": {"listen_port": free_port(), "workers": 2},
        "web_communication": {},
        "sample_policy": {"queue_check_interval_s": 30, "status_query_interval_s": 30},
        "definition_policy": {"certified_interval_s": 3600},
        "alerting": {"heartbeat_timeout_s": 600},
        "backoffice": {
            "desk_port": free_port(),
            "poll_interval_s": 0.2,
            "cache_dir": str(SHARED_CACHE.resolve()),
        },
        "endpoint": {"retry_interval_s": 30, "scan_interval_s": 30},
        "clock": {"speed": speed},
    }


def write_settings(data_dir: Path, settings: dict[str, dict[str, Any]]) -> tuple[Config, Path]:
    """Write the TOML file every child reads (``DIS_CONFIG``) and load it ourselves."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # the gateway and server URLs are not written: every process derives them from the ports
    # it ends up with (a DIS_*_LISTEN_PORT in the environment moves the URLs along)
    path = data_dir / CONFIG_FILE
    path.write_text(tomli_w.dumps({k: v for k, v in settings.items() if v}), encoding="utf-8")
    return load_config(path), path
