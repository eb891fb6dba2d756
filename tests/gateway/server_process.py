"""Starting the real gateway (``dis gateway`` under gunicorn) as a subprocess for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dis_core.certs import generate

DIS = Path(sys.executable).with_name("dis")
ADMIN_TOKEN = "server-test-admin-token"
START_TIMEOUT_S = 30.0


@dataclass
class RunningGateway:
    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.data_dir / "certs" / "ca.pem"

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gateway(data_dir: Path, **gateway_env: str) -> RunningGateway:
    generate(data_dir / "certs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIS_")}
    env.update(
        {
            "DIS_GATEWAY__ADMIN_TOKEN": ADMIN_TOKEN,
            **{f"DIS_GATEWAY__{k.upper()}": v for k, v in gateway_env.items()},
        }
    )
    command = [str(DIS), "--data-dir", str(data_dir), "gateway", "--port", "0", "--workers", "1"]
    with (data_dir / "gateway.log").open("wb") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    listen = data_dir / "gateway" / "listen.json"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited early: {(data_dir / 'gateway.log').read_text()}")
        if listen.exists():
            port = int(json.loads(listen.read_text())["port"])
            return RunningGateway(process, data_dir, port)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("gateway did not start in time")
