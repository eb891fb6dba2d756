"""Every generated rule file compiles with the stand-alone yara tool and matches like the library."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from dis_core.definitions import SigningKey, eicar_signature, write_rule_file

from .helpers import (
    APPENDER_RECIPE,
    HOST,
    MARKER,
    binary_signature,
    full_set,
    hash_signature,
    infect,
    loaded,
    macro_signature,
)

YARA = shutil.which("yara") or "/usr/bin/yara"


def _yara(rule_file: Path, target: Path) -> list[str]:
    done = subprocess.run(
        [YARA, "-w", str(rule_file), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return sorted(line.split()[0] for line in done.stdout.splitlines())


def test_rule_files_compile_and_match_with_the_yara_tool(tmp_path: Path) -> None:
    key = SigningKey.generate()
    secret = b"hash me"
    sigs = [
        eicar_signature(), binary_signature(1, text=MARKER, repair=APPENDER_RECIPE),
        hash_signature(2, hashlib.sha256(secret).hexdigest()), hash_signature(3, "00" * 32),
        macro_signature(4, "sub autoopen()"),
    ] + [binary_signature(n) for n in range(5, 40)]  # fmt: skip
    definitions = loaded(key, full_set(key, 2, sigs))
    whole = write_rule_file(definitions, tmp_path / "all.yar")
    assert whole.read_text().count('import "hash"') == 1
    infected = tmp_path / "infected.exe"
    infected.write_bytes(infect(HOST))
    hashed = tmp_path / "hashed.bin"
    hashed.write_bytes(secret)
    assert _yara(whole, infected) == ["sig_S000001"]
    assert _yara(whole, hashed) == ["sig_S000002"]
    clean = tmp_path / "host.exe"
    clean.write_bytes(HOST)
    for kind in ("binary", "macro", "hash"):
        assert _yara(write_rule_file(definitions, tmp_path / f"{kind}.yar", kind), clean) == []
