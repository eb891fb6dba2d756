"""``dis defs build|verify|show|diff|rules|install`` and ``dis scan``.

Exit codes: ``dis scan``: 0 every file clean, 1 something detected (and nothing failed),
2 an error (unreadable file, no or bad definitions, a repair that failed). A detection
without a repair under ``--repair`` is reported and counts as detected (1). The ``dis defs``
commands: 0 success, 2 error (one readable line on stderr).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from dis_core.cli import Context, pass_context
from dis_core.clock import clock_for
from dis_core.definitions.errors import DefinitionError, InstallError, RepairError
from dis_core.definitions.installed import InstalledDefinitions
from dis_core.definitions.keys import VERIFY_KEY_FILE, VerifyKey, load_or_create_signing_key
from dis_core.definitions.model import DefinitionSet, Detection, Signature
from dis_core.definitions.package import (
    apply_incremental,
    build_full,
    build_incremental,
    full_package,
    read_package,
)
from dis_core.definitions.repository import DefinitionRepository
from dis_core.definitions.rulefile import write_rule_file
from dis_core.definitions.scanner import Scanner
from dis_core.layout import PUBLISHED_SETS_DIR, SIGNING_KEYS_DIR

EXIT_CLEAN, EXIT_DETECTED, EXIT_ERROR = 0, 1, 2
MAX_REPAIR_ROUNDS = 8


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_ERROR)


def _verify_key(context: Context, pub: str | None) -> VerifyKey:
    path = Path(pub) if pub else context.config.path(SIGNING_KEYS_DIR) / VERIFY_KEY_FILE
    try:
        return VerifyKey.load(path)
    except (OSError, ValueError) as exc:
        fail(f"cannot load the verify key {path}: {exc}")


def _read(path: str, key: VerifyKey) -> DefinitionSet:
    try:
        return read_package(Path(path).read_bytes(), key)
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    except DefinitionError as exc:
        fail(f"{path}: {exc}")


pub_option = click.option(
    "--pub",
    type=click.Path(dir_okay=False),
    help="Public key (default: data_dir/backoffice/keys/signing.pub).",
)


@click.group("defs")
def defs() -> None:
    """Build, check and compare signed definition packages."""


def _signatures_from_json(path: str, sequence: int) -> list[Signature]:
    try:
        items: Any = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        fail(f"{path}: {exc}")
    if not isinstance(items, list):
        fail(f"{path}: expected a JSON list of signatures")
    try:
        return [Signature(**({"added_in": sequence} | item)) for item in items]
    except TypeError as exc:
        fail(f"{path}: bad signature entry: {exc}")


@defs.command("build")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Package file to write."
)
@click.option(
    "--keys",
    type=click.Path(file_okay=False),
    help="Key folder (default: data_dir/backoffice/keys; created).",
)
@click.option("--baseline", is_flag=True, help="Build the baseline set (sequence 1, certified).")
@click.option(
    "--signatures", type=click.Path(dir_okay=False), help="JSON list of signatures for a full set."
)
@click.option(
    "--sequence", type=int, default=1, show_default=True, help="Sequence of the full set."
)
@click.option("--certified", is_flag=True, help="Mark the full set certified.")
@click.option("--publish", is_flag=True, help="Also publish it into data_dir/backoffice/published.")
@pass_context
def build(
    context: Context,
    out: str,
    keys: str | None,
    baseline: bool,
    signatures: str | None,
    sequence: int,
    certified: bool,
    publish: bool,
) -> None:
    """Build and sign the baseline or a full set from a JSON list of signatures."""
    if baseline == bool(signatures):
        fail("give exactly one of --baseline or --signatures FILE")
    key = load_or_create_signing_key(Path(keys) if keys else context.config.path(SIGNING_KEYS_DIR))
    now = clock_for(context.config).now()
    try:
        if baseline:
            from dis_core.definitions.baseline import build_baseline

            package = build_baseline(key, now)
        else:
            sigs = _signatures_from_json(str(signatures), sequence)
            package = build_full(
                sequence,
                sigs,
                certified=certified,
                produced=now,
                key=key,
                published=now,
                certified_at=now if certified else None,
            )
    except ValueError as exc:
        fail(str(exc))
    Path(out).write_bytes(package)
    definitions = read_package(package, key.verify_key())
    click.echo(f"wrote {out}: {_summary(definitions)}")
    if publish:
        _publish(context, package, key.verify_key())


def _publish(context: Context, package: bytes, key: VerifyKey) -> None:
    repository = DefinitionRepository(context.config.path(PUBLISHED_SETS_DIR), key)
    try:
        published = repository.publish(package)
    except DefinitionError as exc:
        fail(f"not published: {exc}")
    click.echo(f"published sequence {published.sequence} in {repository.root}")


def _summary(definitions: DefinitionSet) -> str:
    kind = definitions.kind if definitions.base is None else f"incremental from {definitions.base}"
    flag = "certified" if definitions.certified else "not certified"
    count = f"{len(definitions.signatures)} signatures" + (
        f", {len(definitions.removed)} removed" if definitions.removed else ""
    )
    return f"sequence {definitions.sequence}, {kind}, {flag}, {count}, checksum {definitions.result_checksum[:16]}"


@defs.command("verify")
@click.argument("package", type=click.Path(dir_okay=False))
@pub_option
@pass_context
def verify(context: Context, package: str, pub: str | None) -> None:
    """Check a package's signature, manifest and contents (exit 0 good, 2 refused)."""
    definitions = _read(package, _verify_key(context, pub))
    click.echo(f"OK {package}: {_summary(definitions)}")


@defs.command("show")
@click.argument("package", type=click.Path(dir_okay=False))
@pub_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--rules", is_flag=True, help="Also print each rule's source.")
@pass_context
def show(context: Context, package: str, pub: str | None, as_json: bool, rules: bool) -> None:
    """Print a verified package's envelope and signatures."""
    definitions = _read(package, _verify_key(context, pub))
    if as_json:
        click.echo(json.dumps(_as_json(definitions), indent=2))
        return
    click.echo(_summary(definitions))
    for name in ("produced", "published", "certified_at"):
        moment = getattr(definitions, name)
        click.echo(f"  {name}: {moment.isoformat() if moment else '-'}")
    for sig in definitions.signatures:
        click.echo(
            f"  {sig.id:<10} {sig.kind:<6} {sig.category:<9} {'repair' if sig.repair else '-':<6} {sig.virus_name} [{sig.family}] added {sig.added_in}"
        )
        if rules:
            click.echo("    " + sig.rule.strip().replace("\n", "\n    "))
    for removed in definitions.removed:
        click.echo(f"  removed {removed}")


def _as_json(definitions: DefinitionSet) -> dict[str, Any]:
    return {
        "sequence": definitions.sequence, "kind": definitions.kind, "base": definitions.base,
        "certified": definitions.certified, "produced": definitions.produced.isoformat(),
        "published": definitions.published.isoformat() if definitions.published else None,
        "certified_at": definitions.certified_at.isoformat() if definitions.certified_at else None,
        "result_checksum": definitions.result_checksum,
        "signatures": [s.to_dict() for s in definitions.signatures], "removed": definitions.removed,
    }  # fmt: skip


@defs.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@pub_option
@pass_context
def diff(context: Context, old: str, new: str, pub: str | None) -> None:
    """Signatures added (+), removed (-) and changed (~) from OLD to NEW (full sets)."""
    key = _verify_key(context, pub)
    before, after = _read(old, key).by_id(), _read(new, key).by_id()
    for sig_id in sorted(set(before) | set(after)):
        if sig_id not in before:
            click.echo(f"+ {sig_id} {after[sig_id].virus_name}")
        elif sig_id not in after:
            click.echo(f"- {sig_id} {before[sig_id].virus_name}")
        elif before[sig_id] != after[sig_id]:
            click.echo(f"~ {sig_id} {after[sig_id].virus_name}")


@defs.command("incremental")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Incremental package to write."
)
@pub_option
@pass_context
def incremental(context: Context, base: str, target: str, out: str, pub: str | None) -> None:
    """Make the increment from full set BASE to full set TARGET (no signing key needed)."""
    key = _verify_key(context, pub)
    try:
        package = build_incremental(_read(base, key), _read(target, key))
    except ValueError as exc:
        fail(str(exc))
    Path(out).write_bytes(package)
    click.echo(f"wrote {out}: {_summary(read_package(package, key))}")


@defs.command("apply")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("increment", type=click.Path(dir_okay=False))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Full package to write."
)
@pub_option
@pass_context
def apply(context: Context, base: str, increment: str, out: str, pub: str | None) -> None:
    """Apply INCREMENT to full set BASE and write the vendor's full package it rebuilds."""
    key = _verify_key(context, pub)
    try:
        result = apply_incremental(_read(base, key), _read(increment, key))
    except DefinitionError as exc:
        fail(str(exc))
    Path(out).write_bytes(full_package(result))
    click.echo(f"wrote {out}: {_summary(result)}")


@defs.command("rules")
@click.argument("package", type=click.Path(dir_okay=False))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="YARA rule file to write."
)
@click.option(
    "--kind", type=click.Choice(["binary", "macro", "hash"]), help="Only rules of this kind."
)
@pub_option
@pass_context
def rules(context: Context, package: str, out: str, kind: str | None, pub: str | None) -> None:
    """Write the rules of a full set as one file for the stand-alone yara tool."""
    definitions = _read(package, _verify_key(context, pub))
    if definitions.kind != "full":
        fail("rules come from a full set")
    write_rule_file(definitions, Path(out), kind)
    click.echo(f"wrote {out}")


@defs.command("install")
@click.argument("package", type=click.Path(dir_okay=False))
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    help="Installed-definitions folder (default: definition_policy.definitions_dir).",
)
@pub_option
@pass_context
def install(context: Context, package: str, folder: str | None, pub: str | None) -> None:
    """Verify, load-test and activate a package in a host's definitions folder."""
    installed = _installed(context, folder, pub)
    try:
        definitions = installed.install(Path(package).read_bytes())
    except OSError as exc:
        fail(f"{package}: {exc.strerror or exc}")
    except InstallError as exc:
        fail(f"unable to install definitions: {exc.reason}")
    click.echo(f"active: {_summary(definitions)}")


def _installed(context: Context, folder: str | None, pub: str | None) -> InstalledDefinitions:
    root = (
        Path(folder)
        if folder
        else context.config.path(context.config.definition_policy.definitions_dir)
    )
    return InstalledDefinitions(
        root, _verify_key(context, pub), context.config.definition_policy.engine
    )


def _scanner(
    context: Context, defs_path: str | None, pub: str | None, engine: str | None
) -> Scanner:
    chosen = engine or context.config.definition_policy.engine
    if defs_path and Path(defs_path).is_file():
        definitions = _read(defs_path, _verify_key(context, pub))
    else:
        try:
            found = _installed(context, defs_path, pub).active()
        except DefinitionError as exc:
            fail(f"installed definitions are damaged: {exc}")
        if found is None:
            fail("no definitions installed (use --defs DIR or PACKAGE)")
        definitions = found
    try:
        return Scanner(definitions, chosen)
    except ValueError as exc:
        fail(str(exc))


def _files(paths: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return found


@click.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--defs",
    "defs_path",
    type=click.Path(),
    help="Installed-definitions folder or a full package file.",
)
@click.option(
    "--repair",
    "repair_dir",
    type=click.Path(file_okay=False),
    help="Write repaired copies of detected files here.",
)
@click.option(
    "--engine",
    type=click.Choice(["yara", "yara-x"]),
    help="Scanning engine (default: definition_policy.engine).",
)
@pub_option
@pass_context
def scan(
    context: Context,
    paths: tuple[str, ...],
    defs_path: str | None,
    repair_dir: str | None,
    engine: str | None,
    pub: str | None,
) -> None:
    """Scan files (folders recursively). Exit 0 clean, 1 detected, 2 error."""
    scanner = _scanner(context, defs_path, pub, engine)
    outcomes = [
        _scan_one(scanner, path, Path(repair_dir) if repair_dir else None) for path in _files(paths)
    ]
    if EXIT_ERROR in outcomes:
        raise SystemExit(EXIT_ERROR)
    raise SystemExit(EXIT_DETECTED if EXIT_DETECTED in outcomes else EXIT_CLEAN)


def _scan_one(scanner: Scanner, path: Path, repair_dir: Path | None) -> int:
    try:
        data = path.read_bytes()
        detections = scanner.scan_bytes(data)
    except OSError as exc:
        click.echo(f"{path}: ERROR {exc.strerror or exc}")
        return EXIT_ERROR
    if not detections:
        click.echo(f"{path}: OK")
        return EXIT_CLEAN
    for found in detections:
        click.echo(
            f"{path}: FOUND {found.virus_name} ({found.signature_id}, sequence {found.sequence}, {found.kind}{', repairable' if found.repairable else ''})"
        )
    if repair_dir is None:
        return EXIT_DETECTED
    return _repair(scanner, path, data, detections, repair_dir)


def _repair(
    scanner: Scanner, path: Path, data: bytes, detections: list[Detection], repair_dir: Path
) -> int:
    """Repair one detection at a time, rescanning after each, until the file is clean."""
    for _ in range(MAX_REPAIR_ROUNDS):
        repairable = [d for d in detections if d.repairable]
        if not detections or not repairable:
            break
        try:
            data = scanner.repair(data, repairable[0])
        except RepairError as exc:
            click.echo(f"{path}: NOT REPAIRED {repairable[0].virus_name}: {exc}")
            return EXIT_ERROR
        detections = scanner.scan_bytes(data)
    if detections:
        names = ", ".join(d.virus_name for d in detections)
        click.echo(f"{path}: NOT REPAIRED (no repair for {names})")
        return EXIT_DETECTED
    repair_dir.mkdir(parents=True, exist_ok=True)
    target = repair_dir / path.name
    target.write_bytes(data)
    click.echo(f"{path}: REPAIRED -> {target}")
    return EXIT_DETECTED


COMMANDS = [defs, scan]
