"""The embedded default installs and runs without the scale-out extra (PostgreSQL, Celery, Redis
clients) or any test tool; asking for scale-out without it says what to install in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("celery", "kombu", "redis", "psycopg", "pytest", "hypothesis", "schemathesis")

# Run first in the child: every optional package looks uninstalled, as on a machine that ran
# `pip install .` only.
BLOCK_OPTIONAL = textwrap.dedent(
    f"""
    import importlib.abc, sys

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {OPTIONAL!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIS_")}
    env["DIS_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-c", BLOCK_OPTIONAL + textwrap.dedent(code)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_runtime_dependencies_leave_scale_out_and_test_tools_to_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    assert not [name for name in OPTIONAL if name in runtime]
    assert "celery" in " ".join(project["optional-dependencies"]["scaleout"])
    assert "digital-immune-system[scaleout]" in project["optional-dependencies"]["dev"]


def test_every_part_starts_embedded_without_the_optional_packages(tmp_path: Path) -> None:
    done = _run(
        """
        from backoffice.service import BackOffice
        from dis_core.config import load_config
        from gateway_sim.app import create_app as gateway_app
        from launcher.main import main
        from quarantine_server.web.app import create_app as server_app

        config = load_config(None)
        BackOffice(config).executor.shutdown()
        gateway_app(config)
        server_app(config).test_client().get("/console/login").status_code
        main(["config", "check"], standalone_mode=False)
        print("embedded ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embedded ok" in done.stdout


def test_scale_out_without_its_extra_is_one_readable_line(tmp_path: Path) -> None:
    done = _run(
        """
        from launcher.main import main
        main(["up", "--broker", "redis://127.0.0.1:9/0", "--endpoints", "0"])
        """,
        tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "digital-immune-system[scaleout]" in done.stderr
    assert "'celery'" in done.stderr


def test_a_worker_without_the_extra_is_one_readable_line(tmp_path: Path) -> None:
    done = _run("from launcher.main import main\nmain(['worker'])\n", tmp_path)
    assert (done.returncode, "Traceback" in done.stderr) == (1, False)
    assert "dis worker needs the Python package 'celery'" in done.stderr
