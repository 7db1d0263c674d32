"""Bounded rendering of user-written Jinja2 templates for integrations.

Templates are written by integration owners and run on every incoming alert,
so a careless or hostile template must not stall ingestion or exhaust memory.
The guards, and why each one is there:

* `ImmutableSandboxedEnvironment`: no private attributes, no mutating the
  payload (`payload.update(...)` would corrupt the raw payload we store).
* An operation budget with a wall-clock deadline. Every loop iteration, call
  (macros included, so recursion counts), attribute/item lookup and
  intercepted operator "ticks". A signal-based timeout would only work in the
  main thread and a subprocess per render is far too slow for ingest, while
  a tick counter works in any thread and is deterministic. Loops are counted
  by rewriting each `{% for %}` in the parsed template so its iterable passes
  through `environment.loop_guard`, a name templates cannot shadow.
* Size checks before the few single operations that could allocate huge
  strings in one step (`"x" * n`, `**`, padding widths, `replace`, `join`),
  because a deadline cannot interrupt one long C-level operation.
* Output is streamed and cut at `MAX_OUTPUT_CHARS`, so endless output stops
  early instead of being built and then truncated.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.environment import Environment, Template
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_OUTPUT_CHARS = 8192
MAX_OPERATIONS = 100_000
MAX_SECONDS = 0.1
# Largest string/list a single template operation may build.
MAX_VALUE_CHARS = 1 << 20
MAX_WIDTH = 10_000
MAX_EXPONENT = 256

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:[^{}]*?(?:\d{5,}|\{)")
_SEQUENCES = (str, list, tuple)
_PASSED_ARGS = (Context, EvalContext, Environment)


class TemplateFailure(Exception):
    """A template could not be compiled or rendered within its bounds."""


class TemplateTooExpensive(TemplateFailure):
    """A template ran out of its operation or time budget."""


@dataclass
class _Budget:
    operations: int
    deadline: float


_budget: ContextVar[_Budget | None] = ContextVar("watchkeeper_template_budget", default=None)


def _tick() -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.operations -= 1
    if budget.operations < 0:
        raise TemplateTooExpensive(f"template exceeded {MAX_OPERATIONS} operations")
    # Reading the clock every 64 operations keeps ticking cheap.
    if budget.operations & 63 == 0 and time.monotonic() > budget.deadline:
        raise TemplateTooExpensive(f"template took longer than {int(MAX_SECONDS * 1000)} ms")


def _check_size(n: int) -> None:
    if n > MAX_VALUE_CHARS:
        raise SecurityError(f"template would build a value of {n} characters or items")


def _check_format(fmt: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_WIDTH):
                raise SecurityError("format width too large")
    if "{" in fmt and _BRACE_SPEC.search(fmt):
        raise SecurityError("format width too large")


def _check_width(value: object) -> None:
    if isinstance(value, int) and value > MAX_WIDTH:
        raise SecurityError(f"width {value} is larger than {MAX_WIDTH}")


def _check_replace(text: object, old: object, new: object) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        _check_size((len(text) // max(len(old), 1) + 1) * len(new) + len(text))


def _check_join(items: object, separator: object) -> None:
    if not isinstance(separator, str):
        return
    if isinstance(items, Sized):
        _check_size(len(items) * len(separator))
    elif len(separator) > 64:
        raise SecurityError("join separator too long for an unsized sequence")


def _check_indent(text: object, width: object) -> None:
    if isinstance(text, str):
        per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_size(len(text) + per_line * (text.count("\n") + 1))


def _check_filter(name: str, values: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse filter calls whose single step would build a huge value."""
    value = values[0] if values else None
    if name == "replace":
        old = values[1] if len(values) > 1 else kwargs.get("old")
        new = values[2] if len(values) > 2 else kwargs.get("new")
        _check_replace(value, old, new)
    elif name == "join":
        _check_join(value, values[1] if len(values) > 1 else kwargs.get("d", ""))
    elif name == "format" and isinstance(value, str):
        _check_format(value)
    elif name == "indent":
        _check_indent(value, values[1] if len(values) > 1 else kwargs.get("width", 4))
    else:  # center, batch, slice: the first argument is a width or count
        for extra in [*values[1:2], *kwargs.values()]:
            _check_width(extra)


def _guard_filter(name: str, original: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_filter(name, [a for a in args if not isinstance(a, _PASSED_ARGS)], kwargs)
        return original(*args, **kwargs)

    if hasattr(original, "jinja_pass_arg"):
        guarded.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return guarded


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _check_size(len(left) + len(right))
    elif operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(n, int):
                _check_size(len(seq) * n)
        if isinstance(left, int) and isinstance(right, int):
            _check_size((left.bit_length() + right.bit_length()) // 8)
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            _check_size(left.bit_length() * right // 8)
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


class _GuardLoopsAndConcat(NodeTransformer):
    """Route every loop iterable and every `~` through the environment's guards."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)  # transforms children in place
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("loop_guard"), [node.iter], [], None, None
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("concat_guard"), node.nodes, [], None, None)


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_GUARDED_FILTERS = ("center", "indent", "batch", "slice", "replace", "join", "format")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Sandbox that counts operations and refuses oversized single operations."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=ChainableUndefined)
        self.globals.pop("lipsum", None)  # lipsum(n=10**9) is one unbounded call
        for name in _GUARDED_FILTERS:
            self.filters[name] = _guard_filter(name, self.filters[name])

    def loop_guard(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            _tick()
            yield item

    def concat_guard(self, *parts: Any) -> str:
        _tick()
        texts = [str(part) for part in parts]
        _check_size(sum(map(len, texts)))
        return "".join(texts)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded: nodes.Template = _GuardLoopsAndConcat().visit(tree)
        return guarded

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            method = getattr(__obj, "__name__", "")
            if method in _WIDTH_METHODS:
                for value in (*args, *kwargs.values()):
                    _check_width(value)
            elif method == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            elif method == "join" and args:
                _check_join(args[0], owner)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


_environment = BoundedEnvironment()


@lru_cache(maxsize=1024)
def _compile(source: str) -> Template | TemplateFailure:
    # The failure is cached too, so a broken template costs one parse per
    # process, not one per alert.
    try:
        return _environment.from_string(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" at line {line}" if line else ""
        return TemplateFailure(f"syntax error{where}: {exc.message or exc}")
    except (RecursionError, MemoryError):
        return TemplateFailure("template is too deeply nested")


def template_error(source: str) -> str | None:
    """Why `source` does not compile, or None when it does (for form validation)."""
    compiled = _compile(source)
    return str(compiled) if isinstance(compiled, TemplateFailure) else None


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render `source` with `context`, truncated to `MAX_OUTPUT_CHARS`.

    Raises TemplateFailure with a human-readable reason when the template does
    not compile, raises, or exceeds its operation or time budget.
    """
    compiled = _compile(source)
    if isinstance(compiled, TemplateFailure):
        raise compiled
    token = _budget.set(_Budget(MAX_OPERATIONS, time.monotonic() + MAX_SECONDS))
    parts: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(context):
            _tick()
            parts.append(chunk)
            size += len(chunk)
            if size >= MAX_OUTPUT_CHARS:
                break
    except TemplateFailure:
        raise
    except SecurityError as exc:
        raise TemplateFailure(f"template refused by the sandbox: {exc}") from None
    except RecursionError:
        raise TemplateFailure("template recursed too deeply") from None
    except Exception as exc:  # a user template can raise anything; report, never crash
        raise TemplateFailure(f"{type(exc).__name__}: {exc}") from None
    finally:
        _budget.reset(token)
    return "".join(parts)[:MAX_OUTPUT_CHARS]
