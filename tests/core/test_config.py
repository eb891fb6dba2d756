"""Configuration: layering (defaults < TOML < DIS_ environment < overrides) and validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dis_core.config import Config, ConfigError, describe, load_config, to_toml_dict
from dis_core.vocabulary import AlertEvent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(**kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


def test_defaults_without_file_or_environment() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert config.general.listen_port == 8033
    assert config.sample_policy.queue_check_interval_s == 60
    assert config.web_communication.gateway_url.startswith("https://")


def test_every_key_has_a_doc_and_a_typed_default() -> None:
    rows = describe(Config())
    assert rows
    for section, key, _value, doc in rows:
        assert doc.strip(), f"{section}.{key} has no doc"
    assert len({(s, k) for s, k, _, _ in rows}) == len(rows)


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[general]\nlisten_port = 9000\nrestore_dirs = ["/a", "/b"]\n'
        "[sample_policy]\nautomatic_submission = false\n[clock]\nspeed = 60\n",
    )
    config = load_config(path, environ={})
    assert config.general.listen_port == 9000
    assert config.general.restore_dirs == ["/a", "/b"]
    assert config.sample_policy.automatic_submission is False
    assert config.clock.speed == 60.0 and isinstance(config.clock.speed, float)
    assert config.general.listen_host == "127.0.0.1"  # untouched keys keep defaults


def test_environment_overrides_file_and_overrides_win(tmp_path: Path) -> None:
    path = write(tmp_path, "[general]\nlisten_port = 9000\nconsole_refresh_s = 5\n")
    env = {"DIS_GENERAL__LISTEN_PORT": "9100", "DIS_GENERAL__SERVER_NAME": "qs-env"}
    config = load_config(path, environ=env)
    assert (config.general.listen_port, config.general.console_refresh_s) == (9100, 5)
    assert config.general.server_name == "qs-env"
    config = load_config(path, environ=env, overrides={"general": {"listen_port": 9200}})
    assert config.general.listen_port == 9200
    assert config.general.server_name == "qs-env"


def test_environment_text_is_converted() -> None:
    env = {
        "DIS_SAMPLE_POLICY__STRIP_USER_DATA": "yes",
        "DIS_GENERAL__LISTEN_TLS": "off",
        "DIS_GATEWAY__KNOWN_CUSTOMERS": "acme, globex ,",
        "DIS_CLOCK__SPEED": "3600",
        "DIS_WEB_COMMUNICATION__TIMEOUT_S": "2.5",
    }
    config = load_config(environ=env)
    assert config.sample_policy.strip_user_data is True
    assert config.general.listen_tls is False
    assert config.gateway.known_customers == ["acme", "globex"]
    assert config.clock.speed == 3600.0
    assert config.web_communication.timeout_s == 2.5


def test_environment_names_are_case_insensitive_after_the_prefix() -> None:
    assert load_config(environ={"DIS_general__listen_port": "9001"}).general.listen_port == 9001


def test_unrelated_environment_is_ignored() -> None:
    env = {"DIS_CONFIG": "/nowhere.toml", "DIS_DATA_DIR": "/x", "HOME": "/root", "DISPLAY": ":0"}
    assert load_config(environ=env) == Config()


def test_unknown_section_and_key_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[nonsense]\na = 1\n[general]\nlisten_prot = 1\n")
    problems = problems_of(path=path, environ={})
    assert problems == [
        f"{path}: unknown section [nonsense]",
        f"{path}: unknown key general.listen_prot",
    ]


def test_unknown_section_and_key_in_environment() -> None:
    problems = problems_of(environ={"DIS_NOPE__X": "1", "DIS_GENERAL__NOPE": "1"})
    assert sorted(problems) == [
        "environment DIS_GENERAL__NOPE: unknown key general.nope",
        "environment DIS_NOPE__X: unknown section [nope]",
    ]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        (
            {"DIS_GENERAL__LISTEN_PORT": "eighty"},
            "general.listen_port: expected a number, got 'eighty'",
        ),
        ({"DIS_GENERAL__LISTEN_PORT": "80.5"}, "general.listen_port: expected a number"),
        ({"DIS_CLOCK__SPEED": "fast"}, "clock.speed: expected a number"),
        ({"DIS_CLOCK__SPEED": "nan"}, "clock.speed: expected a finite number"),
        ({"DIS_CLOCK__SPEED": "inf"}, "clock.speed: expected a finite number"),
        (
            {"DIS_GENERAL__LISTEN_TLS": "maybe"},
            "general.listen_tls: expected true or false, got 'maybe'",
        ),
    ],
)
def test_bad_environment_values(env: dict[str, str], fragment: str) -> None:
    (problem,) = problems_of(environ=env)
    assert problem.startswith(f"environment {next(iter(env))}: ")
    assert fragment in problem


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("[general]\nlisten_port = true", "general.listen_port: expected a number, got True"),
        ("[general]\nlisten_port = 80.0", "general.listen_port: expected a whole number"),
        ("[general]\nlisten_port = '80x'", "general.listen_port: expected a number"),
        ("[general]\nlisten_tls = 'sometimes'", "general.listen_tls: expected true or false"),
        ("[general]\nrestore_dirs = 5", "general.restore_dirs: expected a list"),
        ("[general]\nserver_name = ['a']", "general.server_name: expected text"),
        ("general = 5", "general must be a [section]"),
    ],
)
def test_bad_file_values(tmp_path: Path, line: str, fragment: str) -> None:
    path = write(tmp_path, line + "\n")
    (problem,) = problems_of(path=path, environ={})
    assert problem.startswith(str(path)) and fragment in problem


def test_missing_and_broken_files(tmp_path: Path) -> None:
    (problem,) = problems_of(path=tmp_path / "absent.toml", environ={})
    assert problem.endswith("configuration file not found")
    (problem,) = problems_of(path=write(tmp_path, "[general\n"), environ={})
    assert "not valid TOML" in problem


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"general": {"listen_port": 70000}}, "general.listen_port 70000 is not a TCP port"),
        ({"gateway": {"listen_port": -1}}, "gateway.listen_port -1 is not a TCP port"),
        ({"general": {"quarantine_max_mb": 0}}, "general.quarantine_max_mb must be greater than 0"),
        (
            {"backoffice": {"binary_engines": -2}},
            "backoffice.binary_engines must be greater than 0",
        ),
        (
            {"sample_policy": {"default_priority": 1001}},
            "sample_policy.default_priority must be between 0 and 1000",
        ),
        (
            {"general": {"quota_low_percent": 0}},
            "general.quota_low_percent must be between 1 and 100",
        ),
        ({"clock": {"speed": 0}}, "clock.speed must be greater than 0"),
        (
            {"backoffice": {"executor": "threads"}},
            "backoffice.executor must be 'inprocess' or 'celery'",
        ),
        (
            {"definition_policy": {"engine": "clam"}},
            "definition_policy.engine must be 'yara' or 'yara-x'",
        ),
        (
            {"firewall": {"name": "proxy.local"}},
            "firewall.name and firewall.port must be set together",
        ),
        (
            {"alerting": {"enabled_events": ["quota_low", "bogus"]}},
            "alerting.enabled_events: unknown event 'bogus'",
        ),
        (
            {"web_communication": {"gateway_url": "http://127.0.0.1:8443"}},
            "web_communication.gateway_url must be https:// while secure submission/download is on",
        ),
    ],
)
def test_range_and_consistency_problems(
    overrides: dict[str, dict[str, object]], expected: str
) -> None:
    assert problems_of(environ={}, overrides=overrides) == [expected]


def test_http_gateway_is_fine_once_both_secure_switches_are_off() -> None:
    web = {"gateway_url": "http://127.0.0.1:8443", "secure_submission": False}
    assert problems_of(environ={}, overrides={"web_communication": web})
    web["secure_download"] = False
    assert load_config(
        environ={}, overrides={"web_communication": web}
    ).web_communication.gateway_url.startswith("http:")


def test_every_alert_event_may_be_enabled() -> None:
    events = [e.value for e in AlertEvent]
    assert (
        load_config(
            environ={}, overrides={"alerting": {"enabled_events": events}}
        ).alerting.enabled_events
        == events
    )


def test_all_problems_are_reported_together_one_line_each(tmp_path: Path) -> None:
    path = write(tmp_path, "[general]\nlisten_port = 'x'\nbogus = 1\n")
    env = {"DIS_CLOCK__SPEED": "-1", "DIS_GENERAL__LISTEN_TLS": "perhaps"}
    problems = problems_of(
        path=path, environ=env, overrides={"sample_policy": {"default_priority": 5000}}
    )
    assert len(problems) == 5
    assert all("\n" not in p and p for p in problems)


def test_paths_and_database_urls(tmp_path: Path) -> None:
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    assert config.path("quarantine") == tmp_path / "quarantine"
    assert config.path("/abs/elsewhere") == Path("/abs/elsewhere")
    assert config.certs_dir == tmp_path / "certs"
    assert config.database_url("gateway") == f"sqlite:///{(tmp_path / 'gateway.sqlite3').resolve()}"
    config.backoffice.database_url = "postgresql://127.0.0.1/bo"
    assert config.database_url("backoffice") == "postgresql://127.0.0.1/bo"


def test_describe_masks_secrets_only_when_set() -> None:
    config = load_config(
        environ={},
        overrides={"firewall": {"password": "hunter2"}, "gateway": {"admin_token": "t0k"}},
    )
    values = {(s, k): v for s, k, v, _ in describe(config)}
    assert values[("firewall", "password")] == "********"
    assert values[("gateway", "admin_token")] == "********"
    assert "hunter2" not in repr(values) and "t0k" not in repr(values)
    assert {(s, k): v for s, k, v, _ in describe(Config())}[("firewall", "password")] == ""


def test_toml_dict_round_trips_through_a_file(tmp_path: Path) -> None:
    import tomli_w

    config = load_config(
        environ={}, overrides={"general": {"listen_port": 9123}, "clock": {"speed": 7.5}}
    )
    path = tmp_path / "saved.toml"
    path.write_bytes(tomli_w.dumps(to_toml_dict(config)).encode())
    assert load_config(path, environ={}) == config
    assert set(to_toml_dict(config)) == {f.name for f in dataclasses.fields(Config)}


def test_every_password_and_token_key_is_masked() -> None:
    config = Config()
    secret_keys = [
        (section, key)
        for section, key, _, _ in describe(config)
        if "password" in key or "token" in key or "secret" in key
    ]
    assert ("firewall", "password") in secret_keys and ("gateway", "admin_token") in secret_keys
    for section, key in secret_keys:
        setattr(getattr(config, section), key, "s3cret-value")
    shown = {(s, k): v for s, k, v, _ in describe(config)}
    for section_key in secret_keys:
        assert shown[section_key] == "********", section_key
    assert "s3cret-value" not in repr(shown)


def test_addresses_follow_the_listen_ports_they_depend_on(tmp_path: Path) -> None:
    env = {"DIS_GATEWAY__LISTEN_PORT": "18444", "DIS_GENERAL__LISTEN_PORT": "18034"}
    config = load_config(environ=env)
    assert config.web_communication.gateway_url == "https://127.0.0.1:18444"
    assert config.endpoint.server_url == "https://127.0.0.1:18034"
    settings = tmp_path / "dis.toml"
    settings.write_text("[general]\nlisten_port = 9033\n[gateway]\nlisten_port = 9443\n")
    from_file = load_config(settings, environ={})
    assert from_file.endpoint.server_url == "https://127.0.0.1:9033"
    assert from_file.web_communication.gateway_url == "https://127.0.0.1:9443"


def test_an_address_set_explicitly_stays_as_given() -> None:
    env = {
        "DIS_GATEWAY__LISTEN_PORT": "18444",
        "DIS_WEB_COMMUNICATION__GATEWAY_URL": "https://127.0.0.1:9999",
    }
    config = load_config(environ=env, overrides={"endpoint": {"server_url": "https://127.0.0.1:7"}})
    assert config.web_communication.gateway_url == "https://127.0.0.1:9999"
    assert config.endpoint.server_url == "https://127.0.0.1:7"
    assert load_config(environ={}).web_communication.gateway_url == "https://127.0.0.1:8443"
