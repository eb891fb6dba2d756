"""The simulated Office: Word and Excel documents, the global containers, events, SimVBA.

Word keeps one global template (``GLOBAL_TEMPLATE_PATH``); Excel one startup workbook
(``EXCEL_STARTUP_PATH``). For every event on a document, the handlers of the document itself
run first, then those of its application's global container. Macros reach the documents only
through the ``SimOffice`` object, which exists nowhere but here, so the same code does
nothing in a real Office.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dis_core.formats.documents import (
    DocumentError,
    OfficeDocument,
    parse_document,
    render,
    write_document,
)
from simworld.vba import (
    Frame,
    Interpreter,
    Limits,
    Project,
    Value,
    VBARuntimeError,
    VBAStop,
    VBASyntaxError,
    parse_module,
)
from simworld.vfs import Event, RunResult, VFSLimitError, VirtualFS, diff

__all__ = [
    "EXCEL_STARTUP_PATH",
    "GLOBAL_TEMPLATE_PATH",
    "run_document",
    "write_document",
]

GLOBAL_TEMPLATE_PATH = "C:/Office/Templates/Normal.dotm"
EXCEL_STARTUP_PATH = "C:/Office/XLSTART/PERSONAL.xlsm"
MAX_MODULE_CHARS = 64 * 1024
SAVE_CHARS_PER_STEP = 8  # saving compresses every module: charge it so Save loops stay fast

HANDLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "word": {
        "open": ("autoopen", "document_open"),
        "close": ("autoclose", "document_close"),
        "save": ("filesave", "document_beforesave"),
        "new": ("autonew", "document_new"),
    },
    "excel": {
        "open": ("workbook_open", "auto_open"),
        "close": ("workbook_beforeclose", "auto_close"),
        "save": ("workbook_beforesave",),
        "new": ("workbook_new",),
    },
}


# ----------------------------------------------------------------------------- runtime


@dataclass
class OpenDocument:
    """A document loaded in the simulated Office."""

    path: str
    document: OfficeDocument
    dirty: bool = False
    _project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project(
                [parse_module(name, source) for name, source in self.document.modules]
            )
        return self._project

    def changed(self) -> None:
        self.dirty = True
        self._project = None


class Office:
    """One simulated Office session over a virtual file system."""

    def __init__(self, vfs: VirtualFS, when: datetime, limits: Limits, seed: bytes) -> None:
        self.vfs = vfs
        self.interp = Interpreter(self, when, limits)
        self.open_docs: dict[str, OpenDocument] = {}
        self.active: OpenDocument | None = None
        self.rng = random.Random(int.from_bytes(seed[:8], "little"))

    def open(self, path: str) -> OpenDocument | None:
        key = path.lower()
        if key not in self.open_docs:
            if not self.vfs.exists(path):
                return None
            try:
                self.open_docs[key] = OpenDocument(path, parse_document(self.vfs.read(path)))
            except DocumentError:
                return None
        return self.open_docs[key]

    def global_for(self, doc: OpenDocument, create: bool = False) -> OpenDocument | None:
        path = GLOBAL_TEMPLATE_PATH if doc.document.application == "word" else EXCEL_STARTUP_PATH
        found = self.open(path)
        if found is None and create:
            kind = "dotm" if path == GLOBAL_TEMPLATE_PATH else "xlsm"
            found = OpenDocument(path, OfficeDocument(kind, [], "", None), dirty=True)
            self.open_docs[path.lower()] = found
        return found

    def save(self, doc: OpenDocument) -> None:
        self.interp.tick(
            sum(len(source) for _name, source in doc.document.modules) // SAVE_CHARS_PER_STEP
        )
        try:
            self.vfs.write(doc.path, render(doc.document))
        except VFSLimitError as exc:
            raise VBAStop("output_limit", str(exc)) from None
        except DocumentError as exc:
            raise VBARuntimeError(f"cannot save {doc.path}: {exc}") from None
        doc.dirty = False

    def fire(self, kind: str, doc: OpenDocument) -> None:
        names = HANDLERS[doc.document.application].get(kind, ())
        containers = [doc]
        container = self.global_for(doc)
        if container is not None and container is not doc:
            containers.append(container)
        for owner in containers:
            for name in names:
                self._run_handler(owner, doc, name)

    def _run_handler(self, owner: OpenDocument, active: OpenDocument, name: str) -> None:
        try:
            project = owner.project
        except VBASyntaxError as exc:
            raise VBAStop("fault", f"{owner.path}: {exc}") from None
        proc = project.find(name)
        if proc is None:
            return
        self.active = active
        try:
            self.interp.call(proc, project, owner, [])
        except VBARuntimeError as exc:
            raise VBAStop("fault", f"{owner.path}, {proc.name}: {exc}") from None

    def office_object(self, frame: Frame) -> SimOfficeObject:
        return SimOfficeObject(self, frame)


class SimOfficeObject:
    """``SimOffice``: the only door from SimVBA code to documents."""

    def __init__(self, office: Office, frame: Frame) -> None:
        self.office = office
        self.frame = frame

    def member(self, name: str, args: list[Value]) -> Value:
        office = self.office
        active = office.active
        handles: dict[str, Callable[[], Value]] = {
            "activedocument": lambda: DocumentHandle(office, active) if active else None,
            "activeworkbook": lambda: DocumentHandle(office, active) if active else None,
            "thisdocument": lambda: DocumentHandle(office, self.frame.owner),
            "thisworkbook": lambda: DocumentHandle(office, self.frame.owner),
            "template": lambda: self._global("word"),
            "startup": lambda: self._global("excel"),
            "thismodule": lambda: self.frame.proc.module,
            "randomname": lambda: _random_name(office.rng, int(args[0]) if args else 8),
            "application": lambda: self.frame.owner.document.application,
        }
        if name not in handles:
            raise VBARuntimeError(f"SimOffice has no member {name}")
        return handles[name]()

    def _global(self, application: str) -> DocumentHandle:
        probe = OpenDocument(
            "", OfficeDocument("dotm" if application == "word" else "xlsm", [], "", None)
        )
        found = self.office.global_for(probe, create=True)
        assert found is not None
        return DocumentHandle(self.office, found)


def _random_name(rng: random.Random, length: int) -> str:
    length = max(3, min(length, 24))
    return rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(length - 1)
    )


class DocumentHandle:
    """A document as SimVBA code sees it."""

    def __init__(self, office: Office, doc: OpenDocument) -> None:
        self.office = office
        self.doc = doc

    def _module(self, name: str) -> tuple[str, str] | None:
        return next((m for m in self.doc.document.modules if m[0].lower() == name.lower()), None)

    def member(self, name: str, args: list[Value]) -> Value:
        document = self.doc.document
        simple: dict[str, Callable[[], Value]] = {
            "name": lambda: self.doc.path.rsplit("/", 1)[-1],
            "fullname": lambda: self.doc.path,
            "kind": lambda: document.kind,
            "text": lambda: document.body_text,
            "modulenames": lambda: [m[0] for m in document.modules],
            "hasmodule": lambda: self._module(str(args[0])) is not None,
            "modulesource": lambda: (self._module(str(args[0])) or ("", ""))[1],
            "findmodule": lambda: next(
                (m[0] for m in document.modules if str(args[0]) in m[1]), ""
            ),
            "addmodule": lambda: self._add(str(args[0]), str(args[1])),
            "removemodule": lambda: self._remove(str(args[0])),
            "save": lambda: self.office.save(self.doc),
        }
        if name not in simple:
            raise VBARuntimeError(f"a document has no member {name}")
        try:
            return simple[name]()
        except IndexError:
            raise VBARuntimeError(f"{name} needs more arguments") from None

    def _add(self, name: str, source: str) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", name):
            raise VBARuntimeError(f"invalid module name {name[:40]!r}")
        if len(source) > MAX_MODULE_CHARS:
            raise VBAStop("output_limit", f"a module larger than {MAX_MODULE_CHARS} characters")
        self._remove(name)
        self.doc.document.modules.append((name, source))
        self.doc.changed()

    def _remove(self, name: str) -> None:
        before = len(self.doc.document.modules)
        self.doc.document.modules = [
            m for m in self.doc.document.modules if m[0].lower() != name.lower()
        ]
        if len(self.doc.document.modules) != before:
            self.doc.changed()


def run_document(
    sample: bytes,
    vfs: VirtualFS,
    *,
    when: datetime,
    events: list[Event],
    sample_path: str = "C:/docs/sample.docm",
    max_steps: int = 200_000,
    limits: Limits | None = None,
) -> RunResult:
    """Open the sample in the simulated Office, then apply the events; report the changes."""
    limits = limits or Limits(max_steps=max_steps)
    vfs.write(sample_path, sample)
    before = vfs.snapshot()
    office = Office(vfs, when, limits, hashlib.sha256(sample + when.isoformat().encode()).digest())
    doc = office.open(sample_path)
    if doc is None or not any(source.strip() for _name, source in doc.document.modules):
        return RunResult(carried_program=False)
    stop_reason, fault = "halt", None
    try:
        office.fire("open", doc)
        for event in events:
            _apply(office, event)
    except VBAStop as stop:
        stop_reason, fault = stop.reason, stop.detail
        if stop.reason != "fault":
            office.interp.output.append(f"stopped: {stop.detail}")  # why a bound ended the run
    changed, created = diff(before, vfs)
    return RunResult(
        True,
        changed,
        created,
        [],
        office.interp.steps,
        stop_reason,
        fault if stop_reason == "fault" else None,
        office.interp.output,
    )


def _apply(office: Office, event: Event) -> None:
    if event.kind == "execute":
        return  # documents are opened, not executed
    doc = _new_document(office, event.path) if event.kind == "new" else office.open(event.path)
    if doc is None:
        return
    office.fire(event.kind, doc)
    if event.kind in ("save", "new") and doc.dirty:
        office.save(doc)
    if event.kind == "close":
        office.open_docs.pop(event.path.lower(), None)


def _new_document(office: Office, path: str) -> OpenDocument:
    lowered = path.lower()
    kind = "xlsm" if lowered.endswith((".xlsm", ".xls", ".xlsx")) else "docm"
    doc = OpenDocument(path, OfficeDocument(kind, [], "", None), dirty=True)
    office.open_docs[lowered] = doc
    return doc
