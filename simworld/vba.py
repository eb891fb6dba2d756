"""SimVBA: a documented subset of VBA, parsed to a small tree and interpreted with bounds.

Supported (see docs/simulated-malware.md): ``Sub``/``Function`` with parameters, ``Dim``,
``Const``, assignment (``Set`` optional), calls with or without ``Call``, single-line and
block ``If``/``ElseIf``/``Else``, ``For ... To ... Step``, ``For Each``, ``Do While/Until ...
Loop``, ``Do ... Loop While/Until``, ``While ... Wend``, ``Exit Sub/Function/For/Do``,
``On Error Resume Next`` / ``On Error GoTo 0``, ``'`` and ``Rem`` comments, ``_`` line
continuation, ``:`` statement separators; operators ``^ * / \\ Mod + - & = <> < > <= >= Not
And Or Xor``; the built-in functions in :data:`BUILTINS`. Everything else is a parse error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Value = Any  # str | int | float | bool | list | object | None


class VBASyntaxError(ValueError):
    """Source outside the SimVBA subset; message names module and line."""


class VBARuntimeError(Exception):
    """A statement failed (unknown name, bad argument); ``On Error Resume Next`` skips it."""


class VBAStop(Exception):
    """A bound was reached: ends the whole run."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ----------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r'\s*(?:(?P<num>&H[0-9A-Fa-f]+|\d+\.\d+|\d+)|(?P<str>"(?:[^"]|"")*")|(?P<id>[A-Za-z_][A-Za-z0-9_]*[$%&]?)|(?P<op><>|<=|>=|[-+*/\\&=<>^(),.]))'
)


@dataclass(frozen=True)
class Tok:
    kind: str  # num | str | id | op
    text: str

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "id" else ""


def tokenize(line: str, where: str) -> list[Tok]:
    tokens = []
    at = 0
    line = line.rstrip()
    while at < len(line):
        match = _TOKEN.match(line, at)
        if not match or match.end() == at:
            raise VBASyntaxError(f"{where}: cannot read {line[at:]!r}")
        kind = match.lastgroup or "op"
        tokens.append(Tok(kind, match.group(kind)))
        at = match.end()
    return tokens


def logical_lines(source: str) -> list[tuple[int, str]]:
    """(line number, text) after removing comments, joining ``_`` continuations, splitting ``:``."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(source.replace("\r\n", "\n").split("\n"), 1):
        text = _without_comment(raw).rstrip()
        if text.lstrip().lower().startswith("attribute "):
            continue
        if not pending:
            start = number
        if text.endswith(" _"):
            pending += text[:-2] + " "
            continue
        full, pending = pending + text, ""
        out.extend((start, part) for part in _split_colons(full) if part.strip())
    return out


def _without_comment(line: str) -> str:
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "'":
            return line[:index]
    stripped = line.lstrip()
    return "" if stripped.lower().startswith("rem ") or stripped.lower() == "rem" else line


def _split_colons(line: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == ":" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


# ----------------------------------------------------------------------------- tree

Expr = tuple  # ("num", v) ("str", v) ("name", n) ("index", expr, args) ("member", expr, name, args|None) ("bin", op, a, b) ("un", op, a)
Stmt = tuple


@dataclass
class Proc:
    name: str
    params: list[str]
    body: list[Stmt]
    is_function: bool
    module: str


@dataclass
class Module:
    name: str
    procs: dict[str, Proc] = field(default_factory=dict)
    consts: dict[str, Expr] = field(default_factory=dict)


class _Cursor:
    """Walks the tokens of one logical line."""

    def __init__(self, tokens: list[Tok], where: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.where = where

    def peek(self, ahead: int = 0) -> Tok | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Tok:
        token = self.peek()
        if token is None:
            raise VBASyntaxError(f"{self.where}: line ends too early")
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and (
            token.word == text.lower() if token.kind == "id" else token.text == text
        ):
            self.at += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.peek()
            raise VBASyntaxError(
                f"{self.where}: expected {text!r}, found {found.text if found else 'end of line'!r}"
            )

    def name(self) -> str:
        token = self.take()
        if token.kind != "id":
            raise VBASyntaxError(f"{self.where}: expected a name, found {token.text!r}")
        return token.text.rstrip("$%&").lower()

    @property
    def done(self) -> bool:
        return self.at >= len(self.tokens)


_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("or", "xor"),
    ("and",),
    ("=", "<>", "<", ">", "<=", ">=", "like"),
    ("&",),
    ("+", "-"),
    ("mod",),
    ("\\",),
    ("*", "/"),
]


def parse_expr(cur: _Cursor, level: int = 0) -> Expr:
    if level == 2 and cur.accept("not"):
        return ("un", "not", parse_expr(cur, 2))
    if level == len(_BINARY_LEVELS):
        return _unary(cur)
    left = parse_expr(cur, level + 1)
    while True:
        token = cur.peek()
        op = (token.word or token.text) if token else None
        if op not in _BINARY_LEVELS[level]:
            return left
        cur.take()
        left = ("bin", op, left, parse_expr(cur, level + 1))


def _unary(cur: _Cursor) -> Expr:
    if cur.accept("-"):
        return ("un", "-", _unary(cur))
    base = _postfix(cur)
    if cur.accept("^"):
        return ("bin", "^", base, _unary(cur))
    return base


def _postfix(cur: _Cursor) -> Expr:
    expr = _primary(cur)
    while True:
        if cur.accept("."):
            member = cur.name()
            args = _args_in_parens(cur) if _next_is(cur, "(") else None
            expr = ("member", expr, member, args)
        elif _next_is(cur, "(") and expr[0] == "name":
            expr = ("index", expr, _args_in_parens(cur))
        else:
            return expr


def _args_in_parens(cur: _Cursor) -> list[Expr]:
    cur.expect("(")
    args: list[Expr] = []
    if cur.accept(")"):
        return args
    while True:
        args.append(parse_expr(cur))
        if cur.accept(")"):
            return args
        cur.expect(",")


def _next_is(cur: _Cursor, text: str) -> bool:
    token = cur.peek()
    return token is not None and token.text == text


def _primary(cur: _Cursor) -> Expr:
    token = cur.take()
    if token.kind == "num":
        text = token.text
        return (
            "num",
            int(text[2:], 16)
            if text.lower().startswith("&h")
            else float(text)
            if "." in text
            else int(text),
        )
    if token.kind == "str":
        return ("str", token.text[1:-1].replace('""', '"'))
    if token.text == "(":
        inner = parse_expr(cur)
        cur.expect(")")
        return inner
    if token.kind == "id":
        word = token.word.rstrip("$%&")
        if word in ("true", "false"):
            return ("num", word == "true")
        if word in ("nothing", "empty", "null"):
            return ("num", None)
        return ("name", word)
    raise VBASyntaxError(f"{cur.where}: unexpected {token.text!r}")


# ----------------------------------------------------------------------------- statements


class _Parser:
    def __init__(self, module_name: str, source: str) -> None:
        self.module_name = module_name
        self.lines = [
            (number, tokenize(text, f"{module_name} line {number}"))
            for number, text in logical_lines(source)
        ]
        self.at = 0

    def where(self) -> str:
        number = self.lines[min(self.at, len(self.lines) - 1)][0] if self.lines else 0
        return f"{self.module_name} line {number}"

    def cursor(self) -> _Cursor:
        return _Cursor(self.lines[self.at][1], self.where())

    def module(self) -> Module:
        module = Module(self.module_name)
        while self.at < len(self.lines):
            cur = self.cursor()
            while cur.accept("public") or cur.accept("private") or cur.accept("static"):
                pass
            if cur.accept("sub") or cur.accept("function"):
                is_function = cur.tokens[cur.at - 1].word == "function"
                proc = self._proc(cur, is_function)
                module.procs[proc.name] = proc
            elif cur.accept("const"):
                _const(cur, module.consts)
                self.at += 1
            elif cur.accept("dim") or cur.accept("option") or cur.done:
                self.at += 1
            else:
                raise VBASyntaxError(
                    f"{self.where()}: only declarations may stand outside a procedure"
                )
        return module

    def _proc(self, cur: _Cursor, is_function: bool) -> Proc:
        name = cur.name()
        params: list[str] = []
        if cur.accept("("):
            while not cur.accept(")"):
                while cur.accept("byval") or cur.accept("byref") or cur.accept("optional"):
                    pass
                params.append(cur.name())
                if cur.accept("as"):
                    cur.name()
                cur.accept(",")
        self.at += 1
        body = self._block(("end sub",) if not is_function else ("end function",))
        self.at += 1
        return Proc(name, params, body, is_function, self.module_name)

    def _starts(self, *phrases: str) -> str | None:
        if self.at >= len(self.lines):
            raise VBASyntaxError(f"{self.module_name}: missing {phrases[0]!r} at the end")
        words = " ".join(t.word or t.text for t in self.lines[self.at][1][:3])
        for phrase in phrases:
            if words == phrase or words.startswith(phrase + " "):
                return phrase
        return None

    def _block(self, enders: tuple[str, ...]) -> list[Stmt]:
        body: list[Stmt] = []
        while not self._starts(*enders):
            body.append(self._statement())
        return body

    def _statement(self) -> Stmt:
        cur = self.cursor()
        first = cur.peek()
        word = first.word if first else ""
        handler = {"if": self._if, "for": self._for, "do": self._do, "while": self._while}.get(word)
        if handler:
            return handler(cur)
        self.at += 1
        return _simple(cur)

    def _if(self, cur: _Cursor) -> Stmt:
        cur.expect("if")
        cond = parse_expr(cur)
        cur.expect("then")
        if not cur.done:  # single-line If
            self.at += 1
            then_part = _simple_rest(cur)
            else_part = _simple_rest(cur) if cur.accept("else") else []
            return ("if", [(cond, then_part)], else_part)
        self.at += 1
        branches = [(cond, self._block(("elseif", "else", "end if")))]
        else_body: list[Stmt] = []
        while True:
            cur = self.cursor()
            if cur.accept("elseif"):
                cond = parse_expr(cur)
                cur.expect("then")
                self.at += 1
                branches.append((cond, self._block(("elseif", "else", "end if"))))
            elif cur.accept("else"):
                self.at += 1
                else_body = self._block(("end if",))
            else:
                self.at += 1  # End If
                return ("if", branches, else_body)

    def _for(self, cur: _Cursor) -> Stmt:
        cur.expect("for")
        if cur.accept("each"):
            var = cur.name()
            cur.expect("in")
            items = parse_expr(cur)
            self.at += 1
            body = self._block(("next",))
            self.at += 1
            return ("foreach", var, items, body)
        var = cur.name()
        cur.expect("=")
        start = parse_expr(cur)
        cur.expect("to")
        end = parse_expr(cur)
        step = parse_expr(cur) if cur.accept("step") else ("num", 1)
        self.at += 1
        body = self._block(("next",))
        self.at += 1
        return ("for", var, start, end, step, body)

    def _do(self, cur: _Cursor) -> Stmt:
        cur.expect("do")
        pre = _loop_condition(cur)
        self.at += 1
        body = self._block(("loop",))
        end = self.cursor()
        end.expect("loop")
        post = _loop_condition(end)
        self.at += 1
        return ("loop", pre, post, body)

    def _while(self, cur: _Cursor) -> Stmt:
        cur.expect("while")
        cond = parse_expr(cur)
        self.at += 1
        body = self._block(("wend",))
        self.at += 1
        return ("loop", ("while", cond), None, body)


def _const(cur: _Cursor, into: dict[str, Expr]) -> None:
    while True:
        name = cur.name()
        if cur.accept("as"):
            cur.name()
        cur.expect("=")
        into[name] = parse_expr(cur)
        if not cur.accept(","):
            return


def _loop_condition(cur: _Cursor) -> tuple[str, Expr] | None:
    for word in ("while", "until"):
        if cur.accept(word):
            return (word, parse_expr(cur))
    return None


def _simple_rest(cur: _Cursor) -> list[Stmt]:
    """Statements of a single-line If part (up to ``Else`` or the end of the line)."""
    start = cur.at
    depth = 0
    while not cur.done:
        token = cur.peek()
        if token and token.word == "else" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(token.text if token else "", 0)
        cur.at += 1
    return [_simple(_Cursor(cur.tokens[start : cur.at], cur.where))] if cur.at > start else []


def _simple(cur: _Cursor) -> Stmt:
    if cur.accept("dim") or cur.accept("static"):
        return ("dim", _dim_names(cur))
    if cur.accept("const"):
        values: dict[str, Expr] = {}
        _const(cur, values)
        return ("const", values)
    if cur.accept("exit"):
        return ("exit", cur.name())
    if cur.accept("on"):
        cur.expect("error")
        if cur.accept("resume"):
            cur.expect("next")
            return ("onerror", True)
        cur.expect("goto")
        cur.take()
        return ("onerror", False)
    cur.accept("set")
    if cur.accept("call"):
        return ("call", _postfix(cur), [])
    target = _postfix(cur)
    if cur.accept("="):
        return ("assign", target, parse_expr(cur))
    args: list[Expr] = []
    while not cur.done:
        args.append(parse_expr(cur))
        if not cur.done:
            cur.expect(",")
    return ("call", target, args)


def _dim_names(cur: _Cursor) -> list[str]:
    names = []
    while not cur.done:
        names.append(cur.name())
        if cur.accept("("):
            while not cur.accept(")"):
                cur.take()
        if cur.accept("as"):
            cur.accept("new")
            cur.name()
        cur.accept(",")
    return names


def parse_module(name: str, source: str) -> Module:
    return _Parser(name, source).module()


# ----------------------------------------------------------------------------- interpreter


# what a built-in or member raises when called with missing or wrong-typed arguments
_BAD_ARGUMENT = (IndexError, TypeError, ValueError, AttributeError, OverflowError, KeyError)


class _Exit(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind


@dataclass
class Limits:
    max_steps: int = 200_000
    max_string: int = 1 * 2**20  # characters in any one string
    max_output: int = 64 * 2**10  # characters of MsgBox / Debug.Print text


class Project:
    """The modules of one document, as the interpreter sees them."""

    def __init__(self, modules: list[Module]) -> None:
        self.modules = modules

    def find(self, name: str) -> Proc | None:
        for module in self.modules:
            if name in module.procs:
                return module.procs[name]
        return None

    def const(self, name: str) -> Expr | None:
        for module in self.modules:
            if name in module.consts:
                return module.consts[name]
        return None


@dataclass
class Frame:
    proc: Proc
    project: Project
    owner: Any  # the document whose project holds the running code
    locals: dict[str, Value] = field(default_factory=dict)
    resume_next: bool = False


class Interpreter:
    """Runs procedures; ``host`` provides the ``SimOffice`` object and receives output."""

    def __init__(self, host: Any, when: datetime, limits: Limits) -> None:
        self.host = host
        self.when = when
        self.limits = limits
        self.steps = 0
        self.output: list[str] = []
        self.output_size = 0
        self.depth = 0

    def tick(self, cost: int = 1) -> None:
        """Count ``cost`` steps; big strings cost one extra step per 4,096 characters."""
        self.steps += cost
        if self.steps > self.limits.max_steps:
            raise VBAStop("step_limit", f"more than {self.limits.max_steps} steps")

    def call(self, proc: Proc, project: Project, owner: Any, args: list[Value]) -> Value:
        self.depth += 1
        if self.depth > 64:
            self.depth -= 1
            raise VBARuntimeError("procedure calls nested too deeply")
        frame = Frame(proc, project, owner, dict(zip(proc.params, args, strict=False)))
        if proc.is_function:
            frame.locals[proc.name] = None
        try:
            self.block(proc.body, frame)
        except _Exit as done:
            if done.kind not in ("sub", "function"):
                raise VBARuntimeError(f"Exit {done.kind} outside its block") from None
        finally:
            self.depth -= 1
        return frame.locals.get(proc.name) if proc.is_function else None

    def block(self, body: list[Stmt], frame: Frame) -> None:
        for stmt in body:
            self.tick()
            try:
                self.statement(stmt, frame)
            except VBARuntimeError:
                if not frame.resume_next:
                    raise

    def statement(self, stmt: Stmt, frame: Frame) -> None:
        kind = stmt[0]
        if kind == "assign":
            self.assign(stmt[1], self.eval(stmt[2], frame), frame)
        elif kind == "call":
            self.call_statement(stmt[1], stmt[2], frame)
        elif kind == "if":
            self._if(stmt, frame)
        elif kind == "for":
            self._for(stmt, frame)
        elif kind == "foreach":
            self._foreach(stmt, frame)
        elif kind == "loop":
            self._loop(stmt, frame)
        elif kind == "exit":
            raise _Exit(stmt[1])
        elif kind == "onerror":
            frame.resume_next = stmt[1]
        elif kind == "dim":
            for name in stmt[1]:
                frame.locals.setdefault(name, None)
        elif kind == "const":
            for name, expr in stmt[1].items():
                frame.locals[name] = self.eval(expr, frame)

    def _if(self, stmt: Stmt, frame: Frame) -> None:
        for cond, body in stmt[1]:
            if truthy(self.eval(cond, frame)):
                self.block(body, frame)
                return
        self.block(stmt[2], frame)

    def _for(self, stmt: Stmt, frame: Frame) -> None:
        _, var, start_e, end_e, step_e, body = stmt
        value, end, step = (
            self.eval(start_e, frame),
            self.eval(end_e, frame),
            self.eval(step_e, frame),
        )
        if not isinstance(step, int | float) or step == 0:
            raise VBARuntimeError("For needs a non-zero numeric Step")
        frame.locals[var] = value
        try:
            while (frame.locals[var] <= end) if step > 0 else (frame.locals[var] >= end):
                self.tick()
                self.block(body, frame)
                frame.locals[var] = frame.locals[var] + step
        except _Exit as done:
            if done.kind != "for":
                raise

    def _foreach(self, stmt: Stmt, frame: Frame) -> None:
        _, var, items_e, body = stmt
        items = self.eval(items_e, frame)
        if not isinstance(items, list):
            raise VBARuntimeError("For Each needs an array or a collection")
        try:
            for item in list(items):
                self.tick()
                frame.locals[var] = item
                self.block(body, frame)
        except _Exit as done:
            if done.kind != "for":
                raise

    def _loop(self, stmt: Stmt, frame: Frame) -> None:
        _, pre, post, body = stmt
        try:
            while True:
                self.tick()
                if pre and not self._holds(pre, frame):
                    return
                self.block(body, frame)
                if post and not self._holds(post, frame):
                    return
        except _Exit as done:
            if done.kind != "do":
                raise

    def _holds(self, condition: tuple[str, Expr], frame: Frame) -> bool:
        value = truthy(self.eval(condition[1], frame))
        return value if condition[0] == "while" else not value

    # -- names, calls, members
    def assign(self, target: Expr, value: Value, frame: Frame) -> None:
        if target[0] == "name":
            frame.locals[target[1]] = self.limit(value)
        elif target[0] == "index" and isinstance(frame.locals.get(target[1][1]), list):
            items = frame.locals[target[1][1]]
            index = int(self.eval(target[2][0], frame))
            if not 0 <= index < len(items):
                raise VBARuntimeError("subscript out of range")
            items[index] = self.limit(value)
        elif target[0] == "member":
            obj = self.eval(target[1], frame)
            setter = getattr(obj, "set_member", None)
            if setter is None:
                raise VBARuntimeError(f"cannot assign to .{target[2]}")
            setter(target[2], value)
        else:
            raise VBARuntimeError("cannot assign to that")

    def call_statement(self, target: Expr, args: list[Expr], frame: Frame) -> None:
        if target[0] == "name":
            self.invoke(target[1], [self.eval(a, frame) for a in args], frame)
        elif target[0] == "index" and not args:
            self.invoke(target[1][1], [self.eval(a, frame) for a in target[2]], frame)
        elif target[0] == "member":
            extra = [self.eval(a, frame) for a in args]
            inner = [self.eval(a, frame) for a in target[3]] if target[3] is not None else []
            self.member(self.eval(target[1], frame), target[2], inner + extra)
        else:
            raise VBARuntimeError("not a procedure call")

    def invoke(self, name: str, args: list[Value], frame: Frame) -> Value:
        proc = frame.project.find(name)
        if proc is not None:
            self.tick()
            return self.call(proc, frame.project, frame.owner, args)
        builtin = BUILTINS.get(name)
        if builtin is not None:
            try:
                return self.limit(builtin(self, args))
            except _BAD_ARGUMENT as exc:
                raise VBARuntimeError(f"{name}: bad or missing argument ({exc})") from None
        if name == "simoffice" and not args:
            return self.host.office_object(frame)
        raise VBARuntimeError(f"unknown procedure or function {name}")

    def member(self, obj: Value, name: str, args: list[Value]) -> Value:
        method = getattr(obj, "member", None)
        if method is None:
            raise VBARuntimeError(f"{type(obj).__name__} has no member {name}")
        try:
            return self.limit(method(name, args))
        except _BAD_ARGUMENT as exc:
            raise VBARuntimeError(f".{name}: bad or missing argument ({exc})") from None

    def eval(self, expr: Expr, frame: Frame) -> Value:
        kind = expr[0]
        if kind in ("num", "str"):
            return expr[1]
        if kind == "name":
            return self._name(expr[1], frame)
        if kind == "index":
            return self._index(expr, frame)
        if kind == "member":
            args = [self.eval(a, frame) for a in expr[3]] if expr[3] is not None else []
            return self.member(self.eval(expr[1], frame), expr[2], args)
        if kind == "un":
            value = self.eval(expr[2], frame)
            return (not truthy(value)) if expr[1] == "not" else -number(value)
        return self.limit(binary(expr[1], self.eval(expr[2], frame), self.eval(expr[3], frame)))

    def _name(self, name: str, frame: Frame) -> Value:
        if name in frame.locals:
            return frame.locals[name]
        const = frame.project.const(name)
        if const is not None:
            return self.eval(const, frame)
        if name in CONSTANTS:
            return CONSTANTS[name]
        return self.invoke(name, [], frame)

    def _index(self, expr: Expr, frame: Frame) -> Value:
        name = expr[1][1]
        args = [self.eval(a, frame) for a in expr[2]]
        held = frame.locals.get(name)
        if isinstance(held, list):
            index = int(number(args[0])) if args else -1
            if not 0 <= index < len(held):
                raise VBARuntimeError("subscript out of range")
            return held[index]
        return self.invoke(name, args, frame)

    def limit(self, value: Value) -> Value:
        if isinstance(value, str) and len(value) > self.limits.max_string:
            raise VBAStop(
                "memory_limit", f"a string longer than {self.limits.max_string} characters"
            )
        if isinstance(value, list):
            if len(value) > self.limits.max_string:
                raise VBAStop("memory_limit", "an array longer than the memory bound")
            self.tick(len(value) // 256)
        return value

    def emit(self, text: str) -> None:
        self.output_size += len(text)
        if self.output_size > self.limits.max_output:
            raise VBAStop(
                "output_limit", f"more than {self.limits.max_output} characters of output"
            )
        self.output.append(text)


# ----------------------------------------------------------------------------- values


def truthy(value: Value) -> bool:
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        return number(value) != 0
    return bool(value)


def number(value: Value) -> int | float:
    if value is None:
        return 0
    if isinstance(value, bool):
        return -1 if value else 0
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value.strip() or "0")
        except ValueError:
            raise VBARuntimeError(f"type mismatch: {value[:20]!r} is not a number") from None
    raise VBARuntimeError("type mismatch")


def text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise VBARuntimeError("type mismatch: an object where text was expected")


def _compare(op: str, left: Value, right: Value) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        a: Any = text(left)
        b: Any = text(right)
        if op == "like":
            return (
                re.fullmatch(re.escape(b).replace(r"\*", ".*").replace(r"\?", "."), a) is not None
            )
    else:
        a, b = number(left), number(right)
    return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}.get(
        op, False
    )


def binary(op: str, left: Value, right: Value) -> Value:
    if op == "&":
        return text(left) + text(right)
    if op in ("=", "<>", "<", ">", "<=", ">=", "like"):
        return _compare(op, left, right)
    if op in ("and", "or", "xor"):
        p, q = truthy(left), truthy(right)
        return {"and": p and q, "or": p or q, "xor": p != q}[op]
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    a, b = number(left), number(right)
    if op in ("/", "\\", "mod") and b == 0:
        raise VBARuntimeError("division by zero")
    operations: dict[str, Callable[[Any, Any], Value]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
        "\\": lambda x, y: int(x) // int(y),
        "mod": lambda x, y: int(x) % int(y),
        "^": lambda x, y: x**y if abs(y) <= 64 else 0,
    }
    result = operations[op](a, b)
    if isinstance(result, int) and not isinstance(result, bool) and abs(result) > MAX_INTEGER:
        raise VBARuntimeError("overflow")
    return result


MAX_INTEGER = 2**63 - 1  # like VBA's LongLong: bigger results are an Overflow error


CONSTANTS: dict[str, Value] = {
    "vbcrlf": "\r\n",
    "vblf": "\n",
    "vbcr": "\r",
    "vbtab": "\t",
    "vbsunday": 1,
    "vbmonday": 2,
    "vbtuesday": 3,
    "vbwednesday": 4,
    "vbthursday": 5,
    "vbfriday": 6,
    "vbsaturday": 7,
}


def _arg(args: list[Value], index: int, default: Value = None) -> Value:
    return args[index] if index < len(args) else default


def _mid(args: list[Value]) -> str:
    source, start = text(args[0]), int(number(args[1]))
    length = int(number(args[2])) if len(args) > 2 else len(source)
    return source[start - 1 : start - 1 + length] if start >= 1 else ""


def _instr(args: list[Value]) -> int:
    if len(args) >= 3:
        start, hay, needle = int(number(args[0])), text(args[1]), text(args[2])
    else:
        start, hay, needle = 1, text(args[0]), text(args[1])
    return hay.find(needle, max(0, start - 1)) + 1


def _replace(interp: Interpreter, args: list[Value]) -> str:
    source, old, new = text(args[0]), text(args[1]), text(args[2])
    if not old:
        return source
    if source.count(old) * max(1, len(new)) + len(source) > interp.limits.max_string:
        raise VBAStop("memory_limit", "Replace would build a string past the memory bound")
    return source.replace(old, new)


def _msgbox(interp: Interpreter, args: list[Value]) -> int:
    interp.emit(text(_arg(args, 0, "")))
    return 1


def _chr(args: list[Value]) -> str:
    code = int(number(args[0]))
    if not 0 <= code <= 255:
        raise VBARuntimeError("Chr needs 0..255")
    return chr(code)


def _string(interp: Interpreter, args: list[Value]) -> str:
    count = int(number(args[0]))
    if count > interp.limits.max_string:
        raise VBAStop("memory_limit", "String() past the memory bound")
    return (text(args[1])[:1] or " ") * max(0, count)


BUILTINS: dict[str, Callable[[Interpreter, list[Value]], Value]] = {
    "len": lambda i, a: len(text(a[0])),
    "left": lambda i, a: text(a[0])[: max(0, int(number(a[1])))],
    "right": lambda i, a: text(a[0])[-int(number(a[1])) :] if int(number(a[1])) > 0 else "",
    "mid": lambda i, a: _mid(a),
    "instr": lambda i, a: _instr(a),
    "ucase": lambda i, a: text(a[0]).upper(),
    "lcase": lambda i, a: text(a[0]).lower(),
    "trim": lambda i, a: text(a[0]).strip(" "),
    "replace": _replace,
    "split": lambda i, a: text(a[0]).split(text(_arg(a, 1, " "))) if text(a[0]) else [],
    "join": lambda i, a: text(_arg(a, 1, " ")).join(text(x) for x in a[0]),
    "ubound": lambda i, a: len(a[0]) - 1,
    "lbound": lambda i, a: 0,
    "chr": lambda i, a: _chr(a),
    "asc": lambda i, a: ord(text(a[0])[0]) if text(a[0]) else 0,
    "cstr": lambda i, a: text(a[0]),
    "str": lambda i, a: text(a[0]),
    "cint": lambda i, a: round(number(a[0])),
    "clng": lambda i, a: round(number(a[0])),
    "val": lambda i, a: number(text(a[0]) or "0"),
    "int": lambda i, a: int(number(a[0]) // 1),
    "string": _string,
    "now": lambda i, a: i.when,
    "date": lambda i, a: i.when,
    "day": lambda i, a: _date_arg(i, a).day,
    "month": lambda i, a: _date_arg(i, a).month,
    "year": lambda i, a: _date_arg(i, a).year,
    "hour": lambda i, a: _date_arg(i, a).hour,
    "minute": lambda i, a: _date_arg(i, a).minute,
    "weekday": lambda i, a: _date_arg(i, a).isoweekday() % 7 + 1,  # Sunday = 1
    "msgbox": _msgbox,
    "isempty": lambda i, a: a[0] is None or a[0] == "",
}


def _date_arg(interp: Interpreter, args: list[Value]) -> datetime:
    value = _arg(args, 0, interp.when)
    if not isinstance(value, datetime):
        raise VBARuntimeError("a date was expected")
    return value
