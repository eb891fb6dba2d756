"""SimVM: the deterministic, bounded interpreter for programs carried by simulated binaries.

A run starts the program found in the sample, then applies the events in order: an
``execute`` event runs the program carried by that file (so infected goats replicate
further), and every event wakes the resident handlers (``HOOK``) whose mask includes it.
All work happens on a :class:`VirtualFS`; the clock is the ``when`` passed in; every key a
program asks for comes from a generator seeded by the sample and ``when``, so a run is a
pure function of its inputs.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dis_core.formats import pe
from simworld.bytecode import (
    BUFFERS,
    BY_CODE,
    CARRIER_HEADER,
    EVENT_BITS,
    MAGIC,
    OPERAND_SIZE,
    Carrier,
    carrier_at,
    pack_carrier,
)
from simworld.vfs import Event, RunResult, VFSLimitError, VirtualFS, diff

MASK32 = 0xFFFFFFFF
MAX_CALL_DEPTH = 64
WORK_UNIT = (
    4096  # bytes copied, read or written per extra step (keeps big-data loops bounded in time)
)


@dataclass(frozen=True)
class Limits:
    max_steps: int = 200_000
    max_memory: int = 16 * 2**20  # bytes held in buffers + code, per program
    max_written: int = 32 * 2**20  # bytes written to files during one run
    max_log: int = 64 * 2**10  # bytes of OUT text


class VMStop(Exception):
    """Ends the whole run: a bound was reached or the program faulted."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass
class World:
    """What every program in one run shares: files, time, keys, budgets, residents."""

    vfs: VirtualFS
    when: datetime
    seed: bytes
    limits: Limits
    steps: int = 0
    written: int = 0
    log_bytes: int = 0
    key_counter: int = 0
    threat_actions: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    hooks: list[tuple[int, Machine, int]] = field(default_factory=list)

    def tick(self, cost: int = 1) -> None:
        """Count ``cost`` steps; work on big data costs one extra step per 4 KiB touched."""
        self.steps += cost
        if self.steps > self.limits.max_steps:
            raise VMStop("step_limit", f"more than {self.limits.max_steps} steps")

    def charge_write(self, size: int) -> None:
        self.written += size
        if self.written > self.limits.max_written:
            raise VMStop("output_limit", f"more than {self.limits.max_written} bytes written")

    def new_key(self, length: int) -> bytes:
        self.key_counter += 1
        stream = b""
        block = 0
        while len(stream) < length:
            stream += hashlib.sha256(
                self.seed + struct.pack("<II", self.key_counter, block)
            ).digest()
            block += 1
        return stream[:length]


def locate(data: bytes | bytearray) -> Carrier | None:
    """The carrier a file holds: the one right after the ``ret`` at its entry point, else the first."""
    if data[:2] != b"MZ":
        return None
    entry = pe.entry_offset(data) if pe.is_pe(data) else None
    if entry is not None:
        found = carrier_at(data, entry + 1)
        if found is not None:
            return found
    at = data.find(MAGIC)
    while at >= 0:
        found = carrier_at(data, at)
        if found is not None:
            return found
        at = data.find(MAGIC, at + 1)
    return None


def find_program(pe_bytes: bytes) -> bytes | None:
    """The SimVM bytecode carried by a file, found by content (magic, length), if any."""
    found = locate(pe_bytes)
    return found.code if found else None


class Machine:
    """One loaded program: code memory, 16 registers, 16 byte buffers, a host list."""

    def __init__(self, world: World, carrier: Carrier, self_path: str) -> None:
        self.world = world
        self.carrier = carrier
        # the carrier exactly as stored in the file (before any DECRYPT of code memory)
        self.carrier_bytes = (
            MAGIC + struct.pack("<II", len(carrier.code), carrier.checksum) + carrier.code
        )
        self.code = bytearray(carrier.code)
        self.self_path = self_path
        self.regs = [0] * 16
        self.bufs: list[bytes] = [b""] * BUFFERS
        self.found: list[str] = []
        self.stack: list[int] = []
        self.pc = 0

    def run(self, start: int) -> None:
        self.pc = start
        while True:
            self.world.tick()
            if not 0 <= self.pc < len(self.code):
                raise VMStop("fault", f"execution left the code at {self.pc:#x}")
            op = BY_CODE.get(self.code[self.pc])
            if op is None:
                raise VMStop("fault", f"invalid opcode {self.code[self.pc]:#04x} at {self.pc:#x}")
            args, after = self._operands(op.operands, self.pc + 1)
            here, self.pc = self.pc, after
            if op.code == 0x00:
                return
            try:
                HANDLERS[op.name](self, *args)
            except (pe.PEError, IndexError, struct.error) as exc:
                raise VMStop("fault", f"{op.name} at {here:#x}: {exc}") from None

    def _operands(self, kinds: str, at: int) -> tuple[list[int | bytes], int]:
        args: list[int | bytes] = []
        for kind in kinds:
            if kind == "s":
                length = int.from_bytes(self.code[at : at + 2], "little")
                value: int | bytes = bytes(self.code[at + 2 : at + 2 + length])
                size = 2 + length
            else:
                size = OPERAND_SIZE[kind]
                value = int.from_bytes(self.code[at : at + size], "little")
                if kind in "rb" and value >= 16:
                    raise VMStop("fault", f"bad register or buffer number {value} at {at:#x}")
            if at + size > len(self.code):
                raise VMStop("fault", f"instruction cut off at the end of the code ({at:#x})")
            args.append(value)
            at += size
        return args, at

    # -- helpers used by the handlers
    def put(self, index: int, data: bytes) -> None:
        self.world.tick(len(data) // WORK_UNIT)
        self.bufs[index] = bytes(data)
        held = sum(len(b) for b in self.bufs) + len(self.code)
        if held > self.world.limits.max_memory:
            raise VMStop(
                "memory_limit", f"buffers hold more than {self.world.limits.max_memory} bytes"
            )

    def set(self, reg: int, value: int) -> None:
        self.regs[reg] = value & MASK32

    def text(self, index: int) -> str:
        return self.bufs[index].decode("latin-1")

    def write_file(self, path: str, data: bytes) -> None:
        self.world.tick(len(data) // WORK_UNIT)
        self.world.charge_write(len(data))
        try:
            self.world.vfs.write(path, data)
        except VFSLimitError as exc:
            raise VMStop("output_limit", str(exc)) from None

    def read_file(self, path: str) -> bytes:
        try:
            return self.world.vfs.read(path)
        except FileNotFoundError:
            return b""


# ----------------------------------------------------------------------------- handlers
# Each handler receives the decoded operands in order (registers/buffers as indexes).


def _jump(m: Machine, address: int) -> None:
    m.pc = address


def _jz(m: Machine, reg: int, address: int) -> None:
    if m.regs[reg] == 0:
        m.pc = address


def _jnz(m: Machine, reg: int, address: int) -> None:
    if m.regs[reg] != 0:
        m.pc = address


def _call(m: Machine, address: int) -> None:
    if len(m.stack) >= MAX_CALL_DEPTH:
        raise VMStop("fault", "call stack overflow")
    m.stack.append(m.pc)
    m.pc = address


def _ret(m: Machine) -> None:
    if not m.stack:
        raise VMStop("fault", "RET with an empty call stack")
    m.pc = m.stack.pop()


def _arith(fn: Callable[[int, int], int]) -> Callable[[Machine, int, int, int], None]:
    def handler(m: Machine, rd: int, ra: int, rb: int) -> None:
        m.set(rd, fn(m.regs[ra], m.regs[rb]))

    return handler


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise VMStop("fault", "MOD by zero")
    return a % b


def _bslice(m: Machine, bd: int, bs: int, roff: int, rlen: int) -> None:
    offset, length = m.regs[roff], m.regs[rlen]
    m.put(bd, m.bufs[bs][offset : offset + length])


def _bget32(m: Machine, rd: int, b: int, roff: int) -> None:
    m.set(rd, struct.unpack_from("<I", m.bufs[b], m.regs[roff])[0])


def _bput32(m: Machine, b: int, roff: int, rval: int) -> None:
    data = bytearray(m.bufs[b])
    offset = m.regs[roff]
    if offset + 4 > len(data):
        raise VMStop("fault", "BPUT32 beyond the end of the buffer")
    struct.pack_into("<I", data, offset, m.regs[rval])
    m.put(b, bytes(data))


def _bxor(m: Machine, bd: int, bk: int) -> None:
    key = m.bufs[bk]
    if not key:
        raise VMStop("fault", "BXOR with an empty key")
    data = m.bufs[bd]
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    m.put(
        bd,
        (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
            len(data), "little"
        ),
    )


def _bzero(m: Machine, bd: int, rlen: int) -> None:
    if m.regs[rlen] > m.world.limits.max_memory:
        raise VMStop("memory_limit", "BZERO larger than the memory bound")
    m.put(bd, bytes(m.regs[rlen]))


def _bpoke(m: Machine, bd: int, roff: int, bs: int) -> None:
    data = bytearray(m.bufs[bd])
    offset, patch = m.regs[roff], m.bufs[bs]
    if offset + len(patch) > len(data):
        raise VMStop("fault", "BPOKE beyond the end of the buffer")
    data[offset : offset + len(patch)] = patch
    m.put(bd, bytes(data))


def _find(m: Machine, bpat: int, rmin: int, rmax: int) -> None:
    low, high = m.regs[rmin], m.regs[rmax]
    vfs = m.world.vfs
    m.world.tick(len(vfs.files) // 16)
    m.found = [p for p in vfs.glob(m.text(bpat)) if low <= len(vfs.files[p]) <= high]


def _next(m: Machine, bd: int, rok: int) -> None:
    if m.found:
        m.put(bd, m.found.pop(0).encode("latin-1"))
        m.set(rok, 1)
    else:
        m.set(rok, 0)


def _append(m: Machine, bpath: int, bdata: int) -> None:
    m.write_file(m.text(bpath), m.read_file(m.text(bpath)) + m.bufs[bdata])


def _prepend(m: Machine, bpath: int, bdata: int) -> None:
    m.write_file(m.text(bpath), m.bufs[bdata] + m.read_file(m.text(bpath)))


def _namehas(m: Machine, rd: int, bpath: int, bsub: int) -> None:
    name = m.text(bpath).rsplit("/", 1)[-1].lower()
    m.set(rd, int(m.text(bsub).lower() in name))


def _pe_edit(m: Machine, bfile: int, edit: Callable[[bytearray], int]) -> int:
    image = bytearray(m.bufs[bfile])
    value = edit(image)
    m.put(bfile, bytes(image))
    return value


def _peaddsect(m: Machine, bfile: int, bname: int, bdata: int, rd: int) -> None:
    m.set(rd, _pe_edit(m, bfile, lambda image: pe.add_section(image, m.bufs[bname], m.bufs[bdata])))


def _peextend(m: Machine, bfile: int, bdata: int, rd: int) -> None:
    m.set(rd, _pe_edit(m, bfile, lambda image: pe.extend_last_section(image, m.bufs[bdata])))


def _pesetep(m: Machine, bfile: int, rva: int) -> None:
    def edit(image: bytearray) -> int:
        pe.set_entry_point(image, m.regs[rva])
        return 0

    _pe_edit(m, bfile, edit)


def _peoff2rva(m: Machine, rd: int, bfile: int, roff: int) -> None:
    m.set(rd, pe.offset_to_rva(m.bufs[bfile], m.regs[roff]) or 0)


def _decrypt(m: Machine, rstart: int, rlen: int, rkey: int, rklen: int) -> None:
    start, length, key_at, key_len = (m.regs[r] for r in (rstart, rlen, rkey, rklen))
    key = bytes(m.code[key_at : key_at + key_len])
    if not key or len(key) != key_len or start + length > len(m.code):
        raise VMStop("fault", "DECRYPT range or key outside the code")
    m.world.tick(length // WORK_UNIT)
    stream = (key * (length // key_len + 1))[:length]
    plain = int.from_bytes(m.code[start : start + length], "little") ^ int.from_bytes(
        stream, "little"
    )
    m.code[start : start + length] = plain.to_bytes(length, "little")


def _newkey(m: Machine, bd: int, length: int) -> None:
    m.put(bd, m.world.new_key(max(1, length)))


def _hook(m: Machine, mask: int, address: int) -> None:
    m.world.hooks.append((mask, m, address))


def _mail(m: Machine, bto: int, bdata: int) -> None:
    m.world.threat_actions.append(f"mail:{m.text(bto)}:{len(m.bufs[bdata])}")


def _drop(m: Machine, bpath: int, bdata: int) -> None:
    m.write_file(m.text(bpath), m.bufs[bdata])
    m.world.threat_actions.append(f"drop:{m.text(bpath)}")


def _out(m: Machine, b: int) -> None:
    m.world.log_bytes += len(m.bufs[b])
    if m.world.log_bytes > m.world.limits.max_log:
        raise VMStop("output_limit", f"more than {m.world.limits.max_log} bytes of OUT text")
    m.world.output.append(m.text(b))


def _weekday(when: datetime) -> int:
    return when.isoweekday()


HANDLERS: dict[str, Callable[..., None]] = {
    "NOP": lambda m: None,
    "JMP": _jump,
    "JZ": _jz,
    "JNZ": _jnz,
    "CALL": _call,
    "RET": _ret,
    "MOVI": lambda m, rd, value: m.set(rd, value),
    "MOV": lambda m, rd, rs: m.set(rd, m.regs[rs]),
    "ADD": _arith(lambda a, b: a + b),
    "SUB": _arith(lambda a, b: a - b),
    "LT": _arith(lambda a, b: int(a < b)),
    "EQ": _arith(lambda a, b: int(a == b)),
    "ADDI": lambda m, rd, value: m.set(rd, m.regs[rd] + value),
    "NOT": lambda m, rd, rs: m.set(rd, int(m.regs[rs] == 0)),
    "AND": _arith(lambda a, b: a & b),
    "MOD": _arith(_mod),
    "BSET": lambda m, bd, data: m.put(bd, data),
    "BLEN": lambda m, rd, b: m.set(rd, len(m.bufs[b])),
    "BCAT": lambda m, bd, bs: m.put(bd, m.bufs[bd] + m.bufs[bs]),
    "BSLICE": _bslice,
    "BSELF": lambda m, bd: m.put(bd, m.carrier_bytes),
    "BFILE": lambda m, bd: m.put(bd, m.read_file(m.self_path)),
    "BCODE": lambda m, bd: m.put(bd, bytes(m.code)),
    "BGET32": _bget32,
    "BPUT32": _bput32,
    "BXOR": _bxor,
    "BZERO": _bzero,
    "BHAS": lambda m, rd, bh, bn: m.set(rd, int(m.bufs[bn] in m.bufs[bh])),
    "BPOKE": _bpoke,
    "PACK": lambda m, bd, bs: m.put(bd, pack_carrier(m.bufs[bs])),
    "BMOV": lambda m, bd, bs: m.put(bd, m.bufs[bs]),
    "FIND": _find,
    "NEXT": _next,
    "READ": lambda m, bd, bpath: m.put(bd, m.read_file(m.text(bpath))),
    "WRITE": lambda m, bpath, bdata: m.write_file(m.text(bpath), m.bufs[bdata]),
    "APPEND": _append,
    "PREPEND": _prepend,
    "FSIZE": lambda m, rd, bpath: m.set(rd, len(m.read_file(m.text(bpath)))),
    "NAMEHAS": _namehas,
    "PEVALID": lambda m, rd, b: m.set(rd, int(pe.is_pe(m.bufs[b]))),
    "PEGETEP": lambda m, rd, b: m.set(rd, pe.entry_point(m.bufs[b])),
    "PESETEP": _pesetep,
    "PEADDSECT": _peaddsect,
    "PEEXTEND": _peextend,
    "PECAVE": lambda m, rd, b, rneed: m.set(rd, pe.find_cavity(m.bufs[b], m.regs[rneed])),
    "PEOFF2RVA": _peoff2rva,
    "PEEND": lambda m, rd, b: m.set(rd, pe.image_end(m.bufs[b])),
    "DECRYPT": _decrypt,
    "NEWKEY": _newkey,
    "DATE": lambda m, rd: m.set(
        rd, m.world.when.year * 10000 + m.world.when.month * 100 + m.world.when.day
    ),
    "TIME": lambda m, rd: m.set(
        rd, m.world.when.hour * 10000 + m.world.when.minute * 100 + m.world.when.second
    ),
    "WEEKDAY": lambda m, rd: m.set(rd, _weekday(m.world.when)),
    "HOOK": _hook,
    "SELFPATH": lambda m, bd: m.put(bd, m.self_path.encode("latin-1")),
    "MAIL": _mail,
    "DROP": _drop,
    "OUT": _out,
}


# ----------------------------------------------------------------------------- runs


def run_binary(
    sample: bytes,
    vfs: VirtualFS,
    *,
    when: datetime,
    events: list[Event],
    sample_path: str = "C:/sample.exe",
    max_steps: int = 200_000,
    limits: Limits | None = None,
) -> RunResult:
    """Run the sample's program, then the events; report what changed in ``vfs``."""
    limits = limits or Limits(max_steps=max_steps)
    vfs.write(sample_path, sample)
    before = vfs.snapshot()
    carrier = locate(sample)
    if carrier is None:
        return RunResult(carried_program=False)
    seed = hashlib.sha256(sample + when.isoformat().encode()).digest()
    world = World(vfs, when, seed, limits)
    stop_reason, fault = "halt", None
    try:
        _start(world, carrier, sample_path)
        for event in events:
            _apply(world, event)
    except VMStop as stop:
        stop_reason, fault = stop.reason, stop.detail
        if stop.reason != "fault":
            world.output.append(f"stopped: {stop.detail}")  # why a bound ended the run
    changed, created = diff(before, vfs)
    return RunResult(
        True,
        changed,
        created,
        world.threat_actions,
        world.steps,
        stop_reason,
        fault if stop_reason == "fault" else None,
        world.output,
    )


def _start(world: World, carrier: Carrier, path: str) -> None:
    if not carrier.intact:
        raise VMStop("fault", "damaged program: the code does not match its checksum")
    Machine(world, carrier, path).run(0)


def _apply(world: World, event: Event) -> None:
    bit = EVENT_BITS[event.kind]
    for mask, machine, address in list(world.hooks):
        if mask & bit and world.vfs.exists(event.path):
            machine.put(0, event.path.encode("latin-1"))
            machine.set(0, bit)
            machine.run(address)
    if event.kind == "execute" and world.vfs.exists(event.path):
        carrier = locate(world.vfs.read(event.path))
        if carrier is not None:
            _start(world, carrier, event.path)


def carrier_span(data: bytes) -> tuple[int, int] | None:
    """(start, end) file offsets of the carrier a file holds, for tools and tests."""
    found = locate(data)
    return (found.offset, found.offset + CARRIER_HEADER + len(found.code)) if found else None
