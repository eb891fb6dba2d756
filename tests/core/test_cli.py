"""The ``dis`` command's core subcommands, run in-process with click's CliRunner."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509

from dis_core import __version__
from launcher.main import main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip() == f"dis, version {__version__}"


def test_config_check_ok(tmp_path: Path) -> None:
    code, out, err = run("--data-dir", str(tmp_path), "config", "check")
    assert (code, out.strip(), err) == (0, "configuration OK", "")


def test_config_check_names_an_address_set_apart_from_the_port_it_would_follow(
    tmp_path: Path,
) -> None:
    env = {"DIS_GATEWAY__LISTEN_PORT": "18444"}
    code, out, _ = run("--data-dir", str(tmp_path), "config", "check", env=env)
    assert (code, out.strip()) == (0, "configuration OK")  # derived: nothing to say
    env["DIS_WEB_COMMUNICATION__GATEWAY_URL"] = "https://127.0.0.1:8443"
    code, out, _ = run("--data-dir", str(tmp_path), "config", "check", env=env)
    assert code == 0 and out.splitlines() == [
        "note: web_communication.gateway_url is https://127.0.0.1:8443, "
        "not this machine's https://127.0.0.1:18444",
        "configuration OK",
    ]


def test_config_check_reports_every_problem_on_its_own_line(tmp_path: Path) -> None:
    config_file = tmp_path / "dis.toml"
    config_file.write_text("[general]\nlisten_port = 99999\nbogus = 1\n[madeup]\nx = 1\n")
    env = {"DIS_CLOCK__SPEED": "quick"}
    code, out, err = run("--config", str(config_file), "config", "check", env=env)
    assert code == 2
    assert "configuration OK" not in out
    lines = err.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("config error: ") for line in lines)
    joined = "\n".join(lines)
    for fragment in (
        "unknown key general.bogus",
        "unknown section [madeup]",
        "clock.speed",
        "not a TCP port",
    ):
        assert fragment in joined


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "dis.toml"
    config_file.write_text("[general]\nlisten_port = 9044\n")
    code, out, _ = run("config", "show", env={"DIS_CONFIG": str(config_file)})
    assert code == 0 and "listen_port = 9044" in out


def test_missing_config_file_is_one_problem(tmp_path: Path) -> None:
    code, _, err = run("--config", str(tmp_path / "nope.toml"), "config", "check")
    assert code == 2
    assert err.strip() == f"config error: {tmp_path / 'nope.toml'}: configuration file not found"


def test_config_show_lists_every_section_and_masks_secrets(tmp_path: Path) -> None:
    env = {
        "DIS_FIREWALL__PASSWORD": "s3cret-pass",
        "DIS_FIREWALL__NAME": "proxy.local",
        "DIS_FIREWALL__PORT": "3128",
        "DIS_GATEWAY__ADMIN_TOKEN": "s3cret-token",
    }
    code, out, _ = run("--data-dir", str(tmp_path), "config", "show", env=env)
    assert code == 0
    assert "s3cret" not in out
    assert "password = '********'" in out and "admin_token = '********'" in out
    assert f"data_dir = {str(tmp_path)!r}" in out
    for section in ("general", "web_communication", "firewall", "sample_policy", "definition_policy",
                    "customer", "alerting", "gateway", "backoffice", "endpoint", "clock"):  # fmt: skip
        assert f"[{section}]" in out
    assert "name = 'proxy.local'" in out


def test_config_show_fails_like_check_on_bad_config() -> None:
    code, out, err = run("config", "show", env={"DIS_GENERAL__LISTEN_PORT": "x"})
    assert code == 2 and out == ""
    assert err.startswith("config error: environment DIS_GENERAL__LISTEN_PORT")


def test_certs_command_writes_a_full_set(tmp_path: Path) -> None:
    out_dir = tmp_path / "c"
    code, out, _ = run("certs", "--out", str(out_dir))
    assert code == 0
    for name in ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key"):
        assert (out_dir / name).is_file()
    for key in ("ca.key", "server.key", "client.key"):
        assert stat.S_IMODE((out_dir / key).stat().st_mode) == 0o600
    assert str(out_dir / "ca.pem") in out
    first = (out_dir / "server.pem").read_bytes()
    run("certs", "--out", str(out_dir))
    assert (out_dir / "server.pem").read_bytes() == first  # kept without --force
    run("certs", "--out", str(out_dir), "--force")
    assert (out_dir / "server.pem").read_bytes() != first
    x509.load_pem_x509_certificate((out_dir / "server.pem").read_bytes())


def test_certs_default_to_the_data_directory(tmp_path: Path) -> None:
    code, _, _ = run("--data-dir", str(tmp_path), "certs")
    assert code == 0
    assert (tmp_path / "certs" / "ca.pem").is_file()


def test_unknown_command_is_a_usage_error() -> None:
    code, _, err = run("no-such-command")
    assert code == 2 and "No such command" in err


def test_installed_console_script_reports_its_version() -> None:
    """The real `dis` entry point (pyproject [project.scripts]), in its own process."""
    import subprocess
    import sys

    script = Path(sys.executable).parent / "dis"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dis, version {__version__}"


def test_a_damaged_database_stops_the_part_with_one_readable_line(tmp_path: Path) -> None:
    (tmp_path / "quarantine_server.sqlite3").write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "quarantine-server", "agent", "--once"]
    )
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "is not a usable database" in lines[0], result.output
    assert "Traceback" not in result.output
