"""Arithmetic expressions of a study file, parsed safely and evaluated on columns.

A derived variable may be written as an expression over raw NHANES variables and other
study variables, e.g. ``LBDTCSI - LBDHDDSI - LBDLDLSI``. The text is split into tokens,
parsed by recursive descent into a small tree and evaluated with numpy, column by column;
Python's ``eval`` is never used, so an expression can do nothing but compute numbers.

Grammar (lowest precedence first)::

    expression := or_test
    or_test    := and_test ("or" and_test)*
    and_test   := not_test ("and" not_test)*
    not_test   := "not" not_test | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | power
    power      := atom ("**" unary)?
    atom       := NUMBER | NAME | NAME "(" expression ("," expression)* ")" | "(" expression ")"

Functions: log, log2, log10, exp, sqrt, abs (one argument), min, max (two or more),
where(condition, if_true, if_false). Comparisons and and/or/not give 1 (true) or 0 (false).

Missing values: a missing input gives a missing result (``where`` looks only at the branch
it picks). An operation that has no finite answer for measured inputs (log of a value <= 0,
square root of a negative value, division by zero, overflow) gives a missing value too,
and is counted, so the variable's report says how many rows it made missing.

Example::

    >>> import numpy as np
    >>> e = parse("where(x > 0, log(x), -1) + min(x, y, 3)")
    >>> sorted(e.names)
    ['x', 'y']
    >>> values, problems = e.evaluate({"x": np.array([1.0, 0.0, np.nan]), "y": np.array([5.0, 2.0, 1.0])})
    >>> values.tolist()[:2], bool(np.isnan(values[2]))
    ([1.0, -1.0], True)
    >>> parse("log(0) + x").evaluate({"x": np.array([1.0])})[1]
    {'log of a value <= 0': 1}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np


class ExpressionError(ValueError):
    """A syntax error or unknown function, at character `position` of `text`."""

    def __init__(self, message: str, text: str, position: int):
        self.message, self.text, self.position = message, text, position
        super().__init__(f"{message} at character {position + 1}\n    {text}\n    {' ' * position}^")


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/<>(),])
""", re.VERBOSE)

KEYWORDS = ("and", "or", "not")
UNARY_FUNCTIONS = ("log", "log2", "log10", "exp", "sqrt", "abs")
FUNCTIONS = UNARY_FUNCTIONS + ("min", "max", "where")


@dataclass(frozen=True)
class Token:
    kind: str    # number, name, op, end
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise ExpressionError(f"unexpected character '{text[i]}'", text, i)
        if m.lastgroup != "space":
            kind = m.lastgroup
            if kind == "name" and m.group() in KEYWORDS:
                kind = "op"
            tokens.append(Token(kind, m.group(), i))
        i = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# A node of the tree: its label and its evaluation, (columns, problems, n rows) -> values.
@dataclass(frozen=True)
class Node:
    label: str
    run: Callable[[Mapping[str, np.ndarray], dict, int], np.ndarray]


def _finite_or_missing(result: np.ndarray, inputs_measured: np.ndarray, problem: str, problems: dict) -> np.ndarray:
    """Replace non-finite results of measured inputs by NaN, counting them under `problem`."""
    result = np.asarray(result, dtype=float)
    bad = ~np.isfinite(result) & inputs_measured
    if bad.any():
        problems[problem] = problems.get(problem, 0) + int(bad.sum())
    return np.where(np.isfinite(result), result, np.nan)


def _unary(name: str, arg: Node) -> Node:
    fn, problem = {
        "log": (np.log, "log of a value <= 0"), "log2": (np.log2, "log2 of a value <= 0"),
        "log10": (np.log10, "log10 of a value <= 0"), "exp": (np.exp, "exp overflow"),
        "sqrt": (np.sqrt, "sqrt of a negative value"), "abs": (np.abs, "abs"),
        "neg": (np.negative, "negation"), "not": (lambda a: np.where(np.isnan(a), np.nan, (a == 0) * 1.0), "not"),
    }[name]

    def run(cols, problems, n):
        a = arg.run(cols, problems, n)
        with np.errstate(all="ignore"):
            r = fn(a)
        if name in ("log", "log2", "log10"):
            r = np.where(a <= 0, np.nan, r)
            bad = ~np.isnan(a) & (a <= 0)
            if bad.any():
                problems[problem] = problems.get(problem, 0) + int(bad.sum())
            return _finite_or_missing(r, ~np.isnan(a) & (a > 0), f"{name} overflow", problems)
        return _finite_or_missing(r, ~np.isnan(a), problem, problems)
    return Node(name, run)


_BINARY = {
    "+": (np.add, "overflow in +"), "-": (np.subtract, "overflow in -"), "*": (np.multiply, "overflow in *"),
    "/": (np.divide, "division by 0"), "**": (np.power, "power with no finite value"),
    "<": (np.less, ""), "<=": (np.less_equal, ""), ">": (np.greater, ""), ">=": (np.greater_equal, ""),
    "==": (np.equal, ""), "!=": (np.not_equal, ""),
    "and": (lambda a, b: (a != 0) & (b != 0), ""), "or": (lambda a, b: (a != 0) | (b != 0), ""),
}


def _binary(op: str, left: Node, right: Node) -> Node:
    fn, problem = _BINARY[op]

    def run(cols, problems, n):
        a, b = left.run(cols, problems, n), right.run(cols, problems, n)
        measured = ~np.isnan(a) & ~np.isnan(b)
        with np.errstate(all="ignore"):
            r = np.asarray(fn(a, b), dtype=float)
        if op == "/":
            zero = measured & (b == 0)
            if zero.any():
                problems[problem] = problems.get(problem, 0) + int(zero.sum())
            r = np.where(zero, np.nan, r)
            return _finite_or_missing(r, measured & (b != 0), "overflow in /", problems)
        if not problem:  # comparisons, and/or: 0/1, missing if an input is missing
            return np.where(measured, r, np.nan)
        return _finite_or_missing(r, measured, problem, problems)
    return Node(op, run)


def _extreme(name: str, args: list[Node]) -> Node:
    fn = np.minimum if name == "min" else np.maximum

    def run(cols, problems, n):
        r = args[0].run(cols, problems, n)
        for a in args[1:]:
            r = fn(r, a.run(cols, problems, n))  # NaN propagates: missing in, missing out
        return r
    return Node(name, run)


def _where(cond: Node, yes: Node, no: Node) -> Node:
    def run(cols, problems, n):
        c = cond.run(cols, problems, n)
        # both branches are computed for every row; a branch's problems count only where it is picked
        a, b = yes.run(cols, {}, n), no.run(cols, {}, n)
        r = np.where(np.isnan(c), np.nan, np.where(c != 0, a, b))
        _count_branch(yes, cols, (c != 0) & ~np.isnan(c), problems, n)
        _count_branch(no, cols, c == 0, problems, n)
        return r
    return Node("where", run)


def _count_branch(branch: Node, cols, rows: np.ndarray, problems: dict, n: int) -> None:
    """Count a branch's problems on the rows where it is picked only."""
    if not rows.any():
        return
    sub = {k: (v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v) for k, v in cols.items()}
    found: dict = {}
    branch.run(sub, found, int(rows.sum()))
    for k, v in found.items():
        problems[k] = problems.get(k, 0) + v


def _number(value: float) -> Node:
    return Node("number", lambda cols, problems, n: np.full(n, value))


def _name(name: str) -> Node:
    return Node(name, lambda cols, problems, n: np.asarray(cols[name], dtype=float))


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.names: dict[str, int] = {}   # name -> first position
        self.calls: dict[str, int] = {}

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, message: str, token: Token | None = None):
        token = token or self.tok
        raise ExpressionError(message, self.text, token.position)

    def take(self, text: str | None = None) -> Token:
        tok = self.tok
        if text is not None and tok.text != text:
            what = "the end of the expression" if tok.kind == "end" else f"'{tok.text}'"
            self.fail(f"expected '{text}', found {what}")
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def parse(self) -> Node:
        if self.tok.kind == "end":
            self.fail("the expression is empty")
        node = self.or_test()
        if self.tok.kind != "end":
            self.fail(f"unexpected '{self.tok.text}'; an operator or the end was expected")
        return node

    def or_test(self) -> Node:
        node = self.and_test()
        while self.at("or"):
            self.take()
            node = _binary("or", node, self.and_test())
        return node

    def and_test(self) -> Node:
        node = self.not_test()
        while self.at("and"):
            self.take()
            node = _binary("and", node, self.not_test())
        return node

    def not_test(self) -> Node:
        if self.at("not"):
            self.take()
            return _unary("not", self.not_test())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.sum()
        if self.at("<", "<=", ">", ">=", "==", "!="):
            op = self.take().text
            node = _binary(op, node, self.sum())
            if self.at("<", "<=", ">", ">=", "==", "!="):
                self.fail("comparisons cannot be chained; write 'a < b and b < c'")
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.at("+", "-"):
            op = self.take().text
            node = _binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.take().text
            node = _binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return _unary("neg", self.unary())
        if self.at("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Node:
        node = self.atom()
        if self.at("**"):
            self.take()
            node = _binary("**", node, self.unary())
        return node

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return _number(float(tok.text))
        if tok.kind == "name":
            self.take()
            if self.at("("):
                return self.call(tok)
            self.names.setdefault(tok.text, tok.position)
            return _name(tok.text)
        if self.at("("):
            self.take()
            node = self.or_test()
            self.take(")")
            return node
        if tok.kind == "end":
            self.fail("the expression ends too early; a number, a variable or '(' was expected")
        self.fail(f"unexpected '{tok.text}'; a number, a variable or '(' was expected")

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            self.fail(f"unknown function '{name.text}'; functions: {', '.join(FUNCTIONS)}", name)
        self.take("(")
        args = [self.or_test()]
        while self.at(","):
            self.take()
            args.append(self.or_test())
        self.take(")")
        fn = name.text
        if fn in UNARY_FUNCTIONS and len(args) != 1:
            self.fail(f"{fn}() takes one argument, got {len(args)}", name)
        if fn in ("min", "max") and len(args) < 2:
            self.fail(f"{fn}() takes two or more arguments", name)
        if fn == "where" and len(args) != 3:
            self.fail(f"where() takes three arguments (condition, if true, if false), got {len(args)}", name)
        self.calls.setdefault(fn, name.position)
        if fn in UNARY_FUNCTIONS:
            return _unary(fn, args[0])
        if fn == "where":
            return _where(*args)
        return _extreme(fn, args)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, the names it reads (with their positions), its tree."""

    text: str
    positions: dict[str, int]
    tree: Node

    @property
    def names(self) -> tuple[str, ...]:
        """The variables the expression reads, in order of first appearance."""
        return tuple(self.positions)

    def error_at(self, name: str, message: str) -> ExpressionError:
        return ExpressionError(message, self.text, self.positions[name])

    def evaluate(self, columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, int]]:
        """The value of each row, and how many rows each problem (log of <= 0...) made missing."""
        n = len(next(iter(columns.values()))) if columns else 1
        problems: dict[str, int] = {}
        values = self.tree.run(columns, problems, n)
        values = np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()
        return values, dict(sorted(problems.items()))


def parse(text: str) -> Expression:
    """Parse `text`; raise ExpressionError (with a caret under the offending character)."""
    p = _Parser(text)
    tree = p.parse()
    return Expression(text, dict(p.names), tree)
