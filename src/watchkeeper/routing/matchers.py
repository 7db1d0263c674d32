r"""Alertmanager label matchers: parse, print and evaluate.

The syntax is Alertmanager's UTF-8 matcher syntax (``matcher/parse`` in
prometheus/alertmanager, the default since 0.27):

* ``{a="b", c!~"d.*"}``: matchers are ANDed and comma separated; the braces
  are optional but must come in pairs; a trailing comma is allowed; ``""``
  and ``{}`` are the empty list, which matches every label set.
* The operators are ``=``, ``!=``, ``=~`` and ``!~``.
* Names and values are either double-quoted, with Go's escapes (``\"``,
  ``\\``, ``\n``, ``\t``, ``\xHH``, ``\uHHHH`` …), or unquoted: a run of
  characters that are not whitespace, braces, ``!``, ``=``, ``~``, ``,``,
  a backslash or a quote (double, single or back). A regex that needs a
  backslash must be quoted with the backslash doubled: ``instance=~"db\\d+"``.
* Regexes are RE2 (the engine Go's regexp implements), anchored at both ends
  exactly as Alertmanager does: ``^(?:VALUE)$``. RE2 runs in linear time, so a
  route regex cannot stall ingestion with catastrophic backtracking.
* A missing label has the value ``""``: ``foo=""`` matches alerts without a
  ``foo`` label and ``foo!=""`` requires it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import re2  # type: ignore[import-untyped]

__all__ = ["MatchOp", "Matcher", "MatcherError", "format_matchers", "matches", "parse_matchers"]


class MatcherError(ValueError):
    """A matcher text or a matcher's regex is invalid."""

    def __init__(self, problem: str, *, position: int | None = None) -> None:
        self.problem = problem
        self.position = position  # 0-based character offset into the input
        where = f"column {position + 1}: " if position is not None else ""
        super().__init__(where + problem)


class MatchOp(enum.StrEnum):
    """A matcher's comparison."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@dataclass(frozen=True)
class Matcher:
    """One ``name op value`` condition on an alert's labels."""

    name: str
    op: MatchOp
    value: str
    _regex: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not self.name:
            raise MatcherError("label name must not be empty")
        object.__setattr__(self, "op", MatchOp(self.op))
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                regex = re2.compile("^(?:" + self.value + ")$", _RE2_OPTIONS)
            except re2.error as exc:
                detail = exc.args[0].decode() if exc.args else str(exc)
                raise MatcherError(f"invalid regex {self.value!r}: {detail}") from None
            object.__setattr__(self, "_regex", regex)

    def matches_value(self, value: str) -> bool:
        """Whether a label value (``""`` when absent) satisfies this matcher."""
        if self.op is MatchOp.EQUAL:
            return value == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return value != self.value
        found = self._regex.search(value) is not None
        return found if self.op is MatchOp.REGEX else not found

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this matcher."""
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        name = self.name if not any(map(_is_reserved, self.name)) else _quote(self.name)
        return f"{name}{self.op.value}{_quote(self.value)}"


def matches(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether all matchers hold for the labels (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def format_matchers(matchers: Iterable[Matcher]) -> str:
    """Print matchers so that ``parse_matchers`` gives them back."""
    return "{" + ", ".join(str(m) for m in matchers) + "}"


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Parse ``{a="b", c=~"d.*"}`` (braces optional) into matchers."""
    return _Parser(text).parse()


# Go's unicode.IsSpace, which Alertmanager's lexer uses.
_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_RESERVED = frozenset("{}!=~,\\\"'`") | _SPACE
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"',
}  # fmt: skip
_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNQUOTED_HINT = (
    "values with spaces or any of {}!=~,\\\"'` must be double-quoted, "
    'for example severity=~"warning|critical"'
)

_Kind = Literal["{", "}", ",", "op", "quoted", "unquoted", "eof"]


def _is_reserved(ch: str) -> bool:
    return ch in _RESERVED


def _quote(s: str) -> str:
    out = []
    for ch in s:
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    start: int

    def describe(self) -> str:
        return "end of input" if self.kind == "eof" else repr(self.text)


class _Parser:
    """Recursive-descent parser over tokens, mirroring matcher/parse."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._lex()
        self.i = 0

    def parse(self) -> tuple[Matcher, ...]:
        matchers: list[Matcher] = []
        has_open = self._peek().kind == "{"
        if has_open:
            self.i += 1
        after_comma = False
        while self._peek().kind in ("quoted", "unquoted"):
            matchers.append(self._matcher())
            after_comma = False
            tok = self._peek()
            if tok.kind == ",":
                self.i += 1
                after_comma = True
            elif tok.kind not in ("}", "eof"):
                hint = f"; {_UNQUOTED_HINT}" if self.tokens[self.i - 1].kind == "unquoted" else ""
                self._fail(tok, f"unexpected {tok.describe()}, expected ',' or '}}'{hint}")
        tok = self._peek()
        if tok.kind not in ("}", "eof"):
            wanted = "a matcher or '}' after ','" if after_comma else "a label name"
            self._fail(tok, f"unexpected {tok.describe()}, expected {wanted}")
        if has_open:
            if tok.kind != "}":
                self._fail(tok, "missing closing '}'")
            self.i += 1
        elif tok.kind == "}":
            self._fail(tok, "unexpected '}' without an opening '{'")
        tok = self._peek()
        if tok.kind != "eof":
            self._fail(tok, f"unexpected {tok.describe()} after the closing '}}'")
        return tuple(matchers)

    def _matcher(self) -> Matcher:
        name_tok = self._next()
        name = self._unquote(name_tok)
        if not name:
            self._fail(name_tok, "label name must not be empty")
        op_tok = self._next()
        if op_tok.kind != "op":
            self._fail(
                op_tok,
                f"unexpected {op_tok.describe()} after label name {name!r}, "
                "expected an operator such as '=', '!=', '=~' or '!~'",
            )
        value_tok = self._next()
        if value_tok.kind not in ("quoted", "unquoted"):
            self._fail(
                value_tok,
                f"unexpected {value_tok.describe()}, expected a label value "
                '(write "" for the empty value)',
            )
        value = self._unquote(value_tok)
        try:
            return Matcher(name, MatchOp(op_tok.text), value)
        except MatcherError as exc:
            raise MatcherError(exc.problem, position=value_tok.start) from None

    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def _fail(self, tok: _Token, problem: str) -> None:
        raise MatcherError(problem, position=tok.start)

    def _lex(self) -> list[_Token]:
        text, pos, tokens = self.text, 0, []
        while pos < len(text):
            ch = text[pos]
            if ch in _SPACE:
                pos += 1
                continue
            start = pos
            if ch in "{},":
                kind = cast(_Kind, ch)
                pos += 1
            elif ch in "=!":
                pos += 1
                nxt = text[pos : pos + 1]
                if ch == "!" and nxt not in ("=", "~"):
                    raise MatcherError("expected '=' or '~' after '!'", position=pos)
                if nxt in ("=", "~") and not (ch == "=" and nxt == "="):
                    pos += 1
                kind = "op"
            elif ch == '"':
                pos = self._scan_quoted(start)
                kind = "quoted"
            elif ch not in _RESERVED:
                while pos < len(text) and text[pos] not in _RESERVED:
                    pos += 1
                kind = "unquoted"
            else:
                raise MatcherError(_unexpected_char(ch), position=pos)
            tokens.append(_Token(kind, text[start:pos], start))
        tokens.append(_Token("eof", "", len(text)))
        return tokens

    def _scan_quoted(self, start: int) -> int:
        text, pos, escaped = self.text, start + 1, False
        while pos < len(text):
            ch = text[pos]
            pos += 1
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                return pos
        raise MatcherError(f"missing closing '\"' for {text[start:]!r}", position=start)

    def _unquote(self, tok: _Token) -> str:
        """Decode a quoted token the way Go's strconv.Unquote does."""
        if tok.kind != "quoted":
            return tok.text
        body, out, i = tok.text[1:-1], bytearray(), 0
        while i < len(body):
            ch, at = body[i], tok.start + 1 + i
            i += 1
            if ch == "\n":
                raise MatcherError("line break inside quotes, write \\n", position=at)
            if ch != "\\":
                try:
                    out += ch.encode()
                except UnicodeEncodeError:
                    raise MatcherError("invalid character", position=at) from None
                continue
            esc = body[i]
            i += 1
            if esc in _SIMPLE_ESCAPES:
                out += _SIMPLE_ESCAPES[esc].encode()
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(esc, 3 if esc in "01234567" else 0)
            digits = body[i : i + width] if esc in "xuU" else body[i - 1 : i + 2]
            base = 8 if esc in "01234567" else 16
            allowed = "01234567" if base == 8 else "0123456789abcdefABCDEF"
            valid = bool(width) and len(digits) == width and all(d in allowed for d in digits)
            code = int(digits, base) if valid else -1
            if code < 0 or (width == 3 and code > 255):
                raise MatcherError(_bad_escape(esc), position=at)
            i += width if esc in "xuU" else 2
            if esc in "uU":
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise MatcherError(f"invalid code point \\{esc}{digits}", position=at)
                out += chr(code).encode()
            else:
                out.append(code)
        try:
            return out.decode()
        except UnicodeDecodeError:
            raise MatcherError(f"{tok.text} is not valid UTF-8", position=tok.start) from None


def _unexpected_char(ch: str) -> str:
    if ch == "'" or ch == "`":
        return f"unexpected {ch!r}: quote names and values with double quotes"
    if ch == "\\":
        return f"unexpected '\\' outside quotes; {_UNQUOTED_HINT}"
    return f"unexpected {ch!r}"


def _bad_escape(esc: str) -> str:
    return (
        f"invalid escape sequence \\{esc}; write \\\\ for a literal backslash "
        '(a regex digit is "\\\\d")'
    )
