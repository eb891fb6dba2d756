"""One typed configuration object for every part.

Layers, later wins: the defaults written here, then a TOML file, then environment variables
named ``DIS_<SECTION>__<KEY>`` (for example ``DIS_SAMPLE_POLICY__QUEUE_CHECK_INTERVAL_S=30``).
Every key says its unit in its name (``_s`` seconds, ``_mb`` megabytes, ``_percent``) or in
its doc. :func:`load_config` validates everything and reports one line per problem.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "DIS_"


def doc(text: str, **kwargs: Any) -> Any:
    """A dataclass field with its documentation kept in metadata (shown by ``dis config show``)."""
    default = kwargs.pop("default", dataclasses.MISSING)
    factory = kwargs.pop("default_factory", dataclasses.MISSING)
    # positive=True: validated as greater than 0 when the configuration is loaded
    metadata = {"doc": text, "positive": kwargs.pop("positive", False)}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class GeneralConfig:
    """Seed tab General: where the quarantine lives, how big it may get, how clients reach it."""

    data_dir: str = doc(
        "Root folder for every part's databases, folders and keys.", default=".dis-data"
    )
    log_format: str = doc(
        "How the parts' processes log: 'text' lines or 'json' (one object per line).",
        default="text",
    )
    quarantine_dir: str = doc(
        "Quarantine folder; relative paths are under data_dir.", default="quarantine"
    )
    quarantine_max_mb: int = doc(
        "Maximum total size of the quarantine folder, in MB.", default=500, positive=True
    )
    quota_low_percent: int = doc(
        "Raise 'quota low' when the folder is this full, in percent.", default=90
    )
    listen_host: str = doc(
        "Address the Quarantine Server listens on for endpoints.", default="127.0.0.1"
    )
    listen_port: int = doc("TCP port for endpoint intake, the console and the API.", default=8033)
    listen_tls: bool = doc("Serve intake, console and API over TLS.", default=True)
    web_workers: int = doc(
        "Web worker processes of the Quarantine Server (gunicorn).", default=2, positive=True
    )
    web_threads: int = doc(
        "Threads per web worker; idle connections wait in a poller, not in a thread.",
        default=8,
        positive=True,
    )
    console_refresh_s: int = doc(
        "Console auto-refresh interval, in seconds.", default=30, positive=True
    )
    console_idle_timeout_s: int = doc(
        "A console session unused this long ends, in seconds.", default=1800, positive=True
    )
    console_session_max_s: int = doc(
        "A console session ends this long after its login, however used, in seconds.",
        default=43200,
        positive=True,
    )
    restore_dirs: list[str] = doc(
        "Folders a restore may write into (nothing else).", default_factory=list
    )
    server_name: str = doc(
        "Name this Quarantine Server gives itself in submissions.", default="qserver-1"
    )
    database_url: str = doc(
        "SQLAlchemy URL of the Quarantine Server database; empty: SQLite in data_dir.", default=""
    )


@dataclass
class WebCommunicationConfig:
    """Seed tab Web Communication: the gateway and the security of the connection."""

    gateway_url: str = doc(
        "Base URL of the Immune System gateway; unless set, https://127.0.0.1:<gateway.listen_port>.",
        default="https://127.0.0.1:8443",
    )
    secure_submission: bool = doc("Submit samples over TLS (https).", default=True)
    secure_download: bool = doc("Download definitions over TLS (https).", default=True)
    ca_file: str = doc(
        "CA certificate that signs the gateway's certificate; empty: data_dir/certs/ca.pem.",
        default="",
    )
    client_cert_file: str = doc(
        "Client certificate to present to the gateway (optional).", default=""
    )
    client_key_file: str = doc("Key of the client certificate (optional).", default="")
    timeout_s: float = doc("Network timeout for one gateway request, in seconds.", default=30.0)


@dataclass
class FirewallConfig:
    """Seed tab Firewall: an HTTP CONNECT proxy between the server and the gateway."""

    name: str = doc("Proxy host name or address; empty: connect directly.", default="")
    port: int = doc("Proxy port.", default=0)
    user: str = doc("Proxy user name (optional).", default="")
    password: str = doc("Proxy password (optional; never logged).", default="")


@dataclass
class SamplePolicyConfig:
    """Seed tab Sample Policy: how samples are queued and sent."""

    automatic_submission: bool = doc("Queue new samples for analysis without asking.", default=True)
    queue_check_interval_s: int = doc(
        "How often the quarantine is checked for new items, in seconds.", default=60, positive=True
    )
    strip_user_data: bool = doc("Remove user data from documents before submission.", default=False)
    status_query_interval_s: int = doc(
        "How often the gateway is asked about submitted samples, in seconds.",
        default=3600,
        positive=True,
    )
    default_priority: int = doc(
        "Priority given to new samples, 1-1000 (0 holds them).", default=500
    )
    max_pending_at_gateway: int = doc(
        "Most samples submitted and unfinished at the gateway at once.", default=10, positive=True
    )


@dataclass
class DefinitionPolicyConfig:
    """Seed tab Definition Policy: which definitions the server fetches and delivers."""

    certified_interval_s: int = doc(
        "How often certified definitions are checked, in seconds (default three times a day).",
        default=28800,
        positive=True,
    )
    use_newest: bool = doc(
        "Fetch the newest (possibly non-certified) set a sample needs; else certified only.",
        default=True,
    )
    hold_delivery: bool = doc(
        "Hold new definitions on the server (status available) instead of delivering them.",
        default=False,
    )
    definitions_dir: str = doc(
        "Folder of installed definition sets; relative paths are under data_dir.",
        default="definitions",
    )
    engine: str = doc("Scanning engine: 'yara-x' or 'yara' (yara-python).", default="yara-x")


@dataclass
class CustomerConfig:
    """Seed tab Customer Information: who the submitting customer is (all required)."""

    company_name: str = doc("Customer company name.", default="Example Corp")
    account_number: str = doc("Account number with the vendor.", default="0000-0000")
    contact_name: str = doc("Contact person.", default="Quarantine Administrator")
    contact_telephone: str = doc("Contact telephone.", default="+1 555 0100")
    contact_email: str = doc("Contact e-mail.", default="admin@example.invalid")


@dataclass
class AlertingConfig:
    """Seed tab Alerting: which events are raised, and where they go."""

    enabled_events: list[str] = doc("Events to raise; empty list means all.", default_factory=list)
    syslog_address: str = doc(
        "host:port of an RFC 5424 syslog receiver (UDP); empty: none.", default=""
    )
    smtp_address: str = doc("host:port of an SMTP server for alert mail; empty: none.", default="")
    mail_to: str = doc("Recipient of alert mail.", default="")
    webhook_url: str = doc("URL that receives each alert as JSON (POST); empty: none.", default="")
    too_long_quarantined_s: int = doc(
        "Alert when a sample stays quarantined longer, in seconds.", default=3600
    )
    too_long_released_s: int = doc(
        "Alert when a sample stays released longer, in seconds.", default=3600
    )
    too_long_submitted_s: int = doc(
        "Alert when a sample stays submitted longer, in seconds.", default=86400
    )
    too_long_needed_s: int = doc(
        "Alert when a sample stays needed longer, in seconds.", default=86400
    )
    too_long_distribute_s: int = doc(
        "Alert when a sample stays distribute longer, in seconds.", default=3600
    )
    too_long_distributed_s: int = doc(
        "Alert when a sample stays distributed longer, in seconds.", default=86400
    )
    heartbeat_timeout_s: int = doc(
        "A service with no heartbeat for this long is reported stopped, in seconds.", default=300
    )


@dataclass
class GatewayConfig:
    """The vendor gateway simulator."""

    listen_host: str = doc("Address the gateway listens on.", default="127.0.0.1")
    listen_port: int = doc("TLS port of the gateway.", default=8443)
    require_client_cert: bool = doc(
        "Refuse clients without a certificate from the CA.", default=False
    )
    max_sample_mb: int = doc("Largest sample accepted, in MB.", default=20, positive=True)
    database_url: str = doc(
        "SQLAlchemy URL of the tracking database; empty: SQLite in data_dir.", default=""
    )
    known_clean_file: str = doc(
        "File of SHA-256 hashes known to be clean, one a line (optional).", default=""
    )
    known_customers: list[str] = doc(
        "Customer accounts allowed to submit; empty: everyone.", default_factory=list
    )
    customer_quota_per_day: int = doc(
        "Most submissions per customer account per day (0: no limit).", default=0
    )
    declined_types: list[str] = doc(
        "Content kinds the gateway declines (e.g. 'data').", default_factory=list
    )
    admin_token: str = doc(
        "Bearer token for the fault-injection admin endpoint; empty: generated.", default=""
    )
    workers: int = doc("gunicorn worker processes.", default=2)
    threads: int = doc("Threads per gunicorn worker (gthread worker class).", default=4)
    name: str = doc(
        "Name the gateway gives itself in replies (X-Analysis-Gateway).", default="gateway-1"
    )
    fault_refuse_connections: bool = doc(
        "Fault: drop every protocol connection without an answer.", default=False
    )
    fault_delay_s: float = doc(
        "Fault: wait this long before answering each protocol request, in (wall-clock) seconds.",
        default=0.0,
    )
    fault_drop_transfers: bool = doc(
        "Fault: break off every sample upload and download half-way (lost).", default=False
    )
    fault_internal_errors: bool = doc(
        "Fault: answer every protocol request with an internal error.", default=False
    )
    fault_decline_all: bool = doc("Fault: decline every submitted sample.", default=False)
    fault_hold_definitions_above: int = doc(
        "Fault: serve no definition sequence above this number (-1: off).", default=-1
    )


@dataclass
class BackofficeConfig:
    """The vendor back office: analysis pipeline and definition builder."""

    database_url: str = doc(
        "SQLAlchemy URL of the back-office database; empty: SQLite in data_dir.", default=""
    )
    binary_engines: int = doc(
        "Binary replication engines that may run at once.", default=2, positive=True
    )
    macro_engines: int = doc(
        "Macro replication engines that may run at once.", default=2, positive=True
    )
    executor: str = doc("Where stages run: 'inprocess' or 'celery'.", default="inprocess")
    broker_url: str = doc(
        "Celery broker URL (executor 'celery').", default="redis://127.0.0.1:6379/0"
    )
    certified_build_interval_s: int = doc(
        "How often a certified full set is built, in seconds.", default=28800
    )
    emulator_max_steps: int = doc(
        "Instruction budget of one emulator run.", default=200000, positive=True
    )
    goodware_dirs: list[str] = doc(
        "Extra folders of known-good files for the goodware corpus.", default_factory=list
    )
    poll_interval_s: float = doc("How often idle workers look for work, in seconds.", default=0.5)
    desk_port: int = doc("Port of the expert desk web page.", default=8444)
    desk_token: str = doc(
        "Token the expert desk asks for (?token= or X-Desk-Token); empty: generated at start.",
        default="",
    )
    workers: int = doc(
        "Stage steps that run at once (threads of the in-process executor).", default=2
    )
    control_rounds: int = doc(
        "Most sets of starting conditions tried before a sample counts as non-replicating.",
        default=8,
    )
    max_fp_log10: float = doc(
        "Highest log10 of a candidate's estimated goodware probability per position.", default=-18.0
    )
    goodware_mb: int = doc(
        "Most goodware bytes taken from each corpus source (documents, Python PEs, ELF, extra), in MB.",
        default=12,
    )
    ngram_bucket_bits: int = doc(
        "log2 of the hashed 3- to 5-gram table size of the n-gram model.", default=24
    )
    max_retries: int = doc(
        "Retries of a step after a passing failure before the sample goes to attention.", default=3
    )
    lease_s: float = doc(
        "How long one step may hold a sample before another worker may take it over, in seconds.",
        default=600.0,
    )
    cache_dir: str = doc(
        "Folder for the goodware n-gram model cache (relative: under data_dir; empty: backoffice/ngram).",
        default="",
    )


@dataclass
class EndpointConfig:
    """A simulated client computer."""

    server_url: str = doc(
        "Quarantine Server intake URL; unless set, https://127.0.0.1:<general.listen_port>.",
        default="https://127.0.0.1:8033",
    )
    retry_interval_s: int = doc(
        "Wait between forwarding attempts after a failure, in seconds.", default=300, positive=True
    )
    defcast_port: int = doc("Port the endpoint listens on for Defcast (0: poll only).", default=0)
    defcast_host: str = doc(
        "Address the endpoints' Defcast listeners bind to and announce.", default="127.0.0.1"
    )
    timeout_s: float = doc(
        "Network timeout for one request to the Quarantine Server, in seconds.", default=10.0
    )
    scan_interval_s: int = doc(
        "How often a running endpoint scans its folder and retries what is queued, in seconds.",
        default=10,
        positive=True,
    )
    pull_interval_s: int = doc(
        "How often an endpoint pulls the server's active definitions when newer (always without a Defcast listener; with one while an item forwarded under an older listener address waits for its cure), in seconds.",
        default=300,
        positive=True,
    )
    heuristics: bool = doc(
        "Quarantine files the content heuristic finds suspicious (not only signature detections).",
        default=True,
    )
    max_file_mb: int = doc(
        "Largest file an endpoint scans, in MB (bigger files are skipped).",
        default=20,
        positive=True,
    )
    verify_key_file: str = doc(
        "Public key that signs definition sets; empty: data_dir/backoffice/keys/signing.pub.",
        default="",
    )
    initial_definitions: str = doc(
        "Signed definition package an endpoint installs when it has none yet (its older set); empty: none.",
        default="",
    )


@dataclass
class ClockConfig:
    """The one clock."""

    speed: float = doc(
        "How many simulated seconds pass per real second (1: real time).", default=1.0
    )
    step_mode: bool = doc("Pause every sample at each state until told to go on.", default=False)


@dataclass
class Config:
    """Everything, one section per seed tab or part."""

    general: GeneralConfig = field(default_factory=GeneralConfig)
    web_communication: WebCommunicationConfig = field(default_factory=WebCommunicationConfig)
    firewall: FirewallConfig = field(default_factory=FirewallConfig)
    sample_policy: SamplePolicyConfig = field(default_factory=SamplePolicyConfig)
    definition_policy: DefinitionPolicyConfig = field(default_factory=DefinitionPolicyConfig)
    customer: CustomerConfig = field(default_factory=CustomerConfig)
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    backoffice: BackofficeConfig = field(default_factory=BackofficeConfig)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)

    def path(self, relative: str) -> Path:
        """A path from configuration: absolute as given, else under the data directory."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else Path(self.general.data_dir) / candidate

    def database_url(self, part: str) -> str:
        configured: str = getattr(self, part).database_url
        return configured or f"sqlite:///{self.path(part + '.sqlite3').resolve()}"

    @property
    def certs_dir(self) -> Path:
        return self.path("certs")


class ConfigError(ValueError):
    """Configuration is invalid; ``problems`` holds one readable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _coerce(text_or_value: Any, kind: Any, where: str) -> Any:
    """Turn a TOML value or environment text into the declared type, or raise ValueError."""
    origin = typing.get_origin(kind)
    if origin is list:
        if isinstance(text_or_value, str):
            return [p.strip() for p in text_or_value.split(",") if p.strip()]
        if not isinstance(text_or_value, list):
            raise ValueError(f"{where}: expected a list")
        return [str(v) for v in text_or_value]
    if kind is bool:
        if isinstance(text_or_value, bool):
            return text_or_value
        lowered = str(text_or_value).strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"{where}: expected true or false, got {text_or_value!r}")
        return lowered in {"1", "true", "yes", "on"}
    if kind in (int, float):
        # a TOML float for an integer key would be truncated silently; nan/inf pass every range check
        if isinstance(text_or_value, bool):
            raise ValueError(f"{where}: expected a number, got {text_or_value!r}")
        if kind is int and isinstance(text_or_value, float):
            raise ValueError(f"{where}: expected a whole number, got {text_or_value!r}")
        try:
            number = kind(text_or_value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected a number, got {text_or_value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{where}: expected a finite number, got {text_or_value!r}")
        return number
    if not isinstance(text_or_value, str | int | float):
        raise ValueError(f"{where}: expected text")
    return str(text_or_value)


def _field_types(section_cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(section_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(section_cls)}


MAX_QUARANTINE_MB = 2**30  # 1 PiB: beyond any disk, and byte counts stay 64-bit
Explicit = set[tuple[type, str]]  # (section class, key) of every value given, not defaulted
# addresses that follow a port on this machine unless they are set themselves
DERIVED_ADDRESSES: dict[tuple[type, str], Callable[[Config], str]] = {
    (WebCommunicationConfig, "gateway_url"): lambda c: f"https://127.0.0.1:{c.gateway.listen_port}",
    (EndpointConfig, "server_url"): lambda c: f"https://127.0.0.1:{c.general.listen_port}",
}


def _derive_addresses(config: Config, explicit: Explicit) -> None:
    """A changed listen port moves every address that depends on it (an address set in the
    file, the environment or an override stays as given)."""
    for (section, key), address in DERIVED_ADDRESSES.items():
        if (section, key) not in explicit:
            setattr(getattr(config, _section_name(config, section)), key, address(config))


def _section_name(config: Config, section: type) -> str:
    """The name of the section of ``config`` that is of class ``section``."""
    return next(f.name for f in dataclasses.fields(config) if f.type in (section, section.__name__))


def address_notes(config: Config) -> list[str]:
    """One line per address set apart from the local port it would follow (a proxy or another
    machine is fine; a typo sends every sample to nobody)."""
    notes = []
    for (section, key), address in DERIVED_ADDRESSES.items():
        name = _section_name(config, section)
        given, local = getattr(getattr(config, name), key), address(config)
        if given != local:
            notes.append(f"note: {name}.{key} is {given}, not this machine's {local}")
    return notes


def _apply(
    config: Config,
    section: str,
    key: str,
    value: Any,
    source: str,
    problems: list[str],
    explicit: Explicit | None = None,
) -> None:
    sections = _field_types(Config)
    if section not in sections:
        problems.append(f"{source}: unknown section [{section}]")
        return
    target = getattr(config, section)
    types_ = _field_types(type(target))
    if key not in types_:
        problems.append(f"{source}: unknown key {section}.{key}")
        return
    try:
        setattr(target, key, _coerce(value, types_[key], f"{source}: {section}.{key}"))
    except ValueError as exc:
        problems.append(str(exc))
        return
    if explicit is not None:
        explicit.add((type(target), key))


def _validate(config: Config) -> list[str]:
    problems: list[str] = []
    for part in dataclasses.fields(config):
        for entry in dataclasses.fields(getattr(config, part.name)):
            value = getattr(getattr(config, part.name), entry.name)
            if entry.metadata.get("positive") and value <= 0:
                problems.append(f"{part.name}.{entry.name} must be greater than 0")
    for section in (config.general, config.gateway):
        if not 0 <= section.listen_port <= 65535:
            name = "general" if section is config.general else "gateway"
            problems.append(f"{name}.listen_port {section.listen_port} is not a TCP port")
    if not 0 <= config.sample_policy.default_priority <= 1000:
        problems.append("sample_policy.default_priority must be between 0 and 1000")
    if config.general.quarantine_max_mb > MAX_QUARANTINE_MB:
        problems.append(f"general.quarantine_max_mb must be at most {MAX_QUARANTINE_MB} (1 PiB)")
    if not 1 <= config.general.quota_low_percent <= 100:
        problems.append("general.quota_low_percent must be between 1 and 100")
    if config.clock.speed <= 0:
        problems.append("clock.speed must be greater than 0")
    if config.general.log_format not in {"text", "json"}:
        problems.append("general.log_format must be 'text' or 'json'")
    if config.backoffice.executor not in {"inprocess", "celery"}:
        problems.append("backoffice.executor must be 'inprocess' or 'celery'")
    if config.definition_policy.engine not in {"yara", "yara-x"}:
        problems.append("definition_policy.engine must be 'yara' or 'yara-x'")
    if bool(config.firewall.name) != bool(config.firewall.port):
        problems.append("firewall.name and firewall.port must be set together")
    for name in config.alerting.enabled_events:
        from dis_core.vocabulary.events import AlertEvent

        if name not in AlertEvent.__members__.values():
            problems.append(f"alerting.enabled_events: unknown event {name!r}")
    web = config.web_communication
    if web.secure_submission or web.secure_download:
        for key, value in dataclasses.asdict(web).items():
            insecure = isinstance(value, str) and value.startswith("http://")
            if key.endswith("_url") and key != "webhook_url" and insecure:
                problems.append(
                    f"web_communication.{key} must be https:// while secure submission/download is on"
                )
    return problems


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Build the configuration from defaults, a TOML file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    config = Config()
    problems: list[str] = []
    explicit: Explicit = set()
    if path is not None:
        _load_file(config, Path(path), problems, explicit)
    for name, text in environ.items():
        if name.startswith(ENV_PREFIX) and "__" in name and name != "DIS_CONFIG":
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
            _apply(config, section, key, text, f"environment {name}", problems, explicit)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            _apply(config, section, key, value, "override", problems, explicit)
    _derive_addresses(config, explicit)
    problems += _validate(config)
    if problems:
        raise ConfigError(problems)
    return config


def _load_file(config: Config, path: Path, problems: list[str], explicit: Explicit) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: configuration file not found")
        return
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return
    for section, values in data.items():
        if not isinstance(values, dict):
            problems.append(f"{path}: {section} must be a [section]")
            continue
        for key, value in values.items():
            _apply(config, section, key, value, str(path), problems, explicit)


def _is_secret(key: str) -> bool:
    """Passwords and tokens (any part's) are never shown; file paths to keys are fine."""
    return key == "password" or key.endswith(("_password", "_token", "_secret"))


def describe(config: Config) -> list[tuple[str, str, Any, str]]:
    """(section, key, value, doc) for every key; secrets are masked."""
    rows = []
    for section_field in dataclasses.fields(config):
        section = getattr(config, section_field.name)
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if _is_secret(f.name) and value:
                value = "********"
            rows.append((section_field.name, f.name, value, f.metadata.get("doc", "")))
    return rows


def to_toml_dict(config: Config) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in dataclasses.asdict(config).items()}
