"""The ConnectWise ``conditions`` grammar: parse once, test rows
(docs/connectwise-behaviour.md, "Conditions").

    expr       := and_expr ("or" and_expr)*
    and_expr   := term ("and" term)*
    term       := "(" expr ")" | path operator value
    path       := name ("/" name)*                    company/id, _info/lastUpdated
    operator   := = != < <= > >= contains like in | not contains | not like | not in
    value      := "text" | 42 | -1.5 | true | false | null | [2024-04-01T00:00:00Z]
                | "(" value ("," value)* ")"         (after in / not in)

Keywords are case-insensitive. ``like`` takes ``*`` or ``%`` as wildcards. Comparisons follow
SQL Server as ConnectWise uses it: text compares case-insensitively, a null field matches only
``= null`` (and ``!= null`` matches only non-null fields), numbers compare as numbers (also
when the field holds digits as text, like ``dueDays``), and a ``[datetime]`` compares as a
datetime with or without a zone in the field (no zone means UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from sandbox.matching import Test, compile_comparison, lookup, to_datetime

__all__ = ["ConditionError", "Predicate", "lookup", "parse", "to_datetime"]
_TOKEN = re.compile(r"""
    (?P<space>\s+) | (?P<string>"(?:[^"\\]|\\.)*") | (?P<date>\[[^\]]*\])
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_/])) | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),]) | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)
_WORD_OPS = {"contains", "like", "in"}


class ConditionError(ValueError):
    """A conditions string that does not parse; ``position`` is 1-based."""

    def __init__(self, message: str, position: int, text: str):
        self.position = position
        super().__init__(f"{message} at position {position} of conditions {text!r}")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Predicate:
    """A parsed conditions string: call it with a row; ``fields`` are the top-level names used."""

    text: str
    fields: frozenset[str]
    test: Test

    def __call__(self, row: Mapping[str, Any]) -> bool:
        return self.test(row)


def parse(text: str, aliases: Mapping[str, str] | None = None,
          known: Iterable[str] | None = None) -> Predicate:
    """Parse ``text``; ``aliases`` rename paths (``lastUpdated`` → ``_info/lastUpdated``) and
    ``known``, when given, lists the valid top-level field names."""
    parser = _Parser(text, dict(aliases or {}), set(known) if known is not None else None)
    test = parser.parse()
    return Predicate(text, frozenset(parser.fields), test)


def _tokens(text: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match:
            raise ConditionError(f"unexpected character {text[at]!r}", at + 1, text)
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), at + 1))
        at = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, aliases: dict[str, str], known: set[str] | None):
        self.text, self.aliases, self.known = text, aliases, known
        self.tokens, self.at, self.fields = _tokens(text), 0, set()

    def parse(self) -> Test:
        if self.peek().kind == "end":
            raise self.error("empty conditions")
        test = self.expr()
        if self.peek().kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {self.peek().text!r}")
        return test

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ConditionError:
        return ConditionError(message, (token or self.peek()).position, self.text)

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expr(self) -> Test:
        parts = [self.and_expr()]
        while self.keyword("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def and_expr(self) -> Test:
        parts = [self.term()]
        while self.keyword("and"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def term(self) -> Test:
        if self.peek().text == "(":
            self.take()
            inner = self.expr()
            if self.take().text != ")":
                raise self.error("expected ')'", self.tokens[self.at - 1])
            return inner
        return self.comparison()

    def comparison(self) -> Test:
        token = self.take()
        if token.kind != "word" or token.text.lower() in ("and", "or", "not"):
            raise self.error(f"expected a field name, found {token.text or 'the end'!r}", token)
        path = self.path(token)
        op = self.operator()
        at = self.peek()
        value = self.values() if op in ("in", "not in") else self.value()
        return compile_comparison(path, op, value, lambda message: self.error(message, at))

    def path(self, token: Token) -> list[str]:
        text = self.aliases.get(token.text, token.text)
        parts = text.split("/")
        if self.known is not None and parts[0] not in self.known:
            raise self.error(f"unknown field {parts[0]!r}", token)
        self.fields.add(parts[0])
        return parts

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            return "!=" if token.text == "<>" else token.text
        word = token.text.lower() if token.kind == "word" else ""
        if word in _WORD_OPS:
            return word
        if word == "not" and self.keyword(*_WORD_OPS):
            return f"not {self.take().text.lower()}"
        raise self.error("expected an operator (= != < <= > >= contains like in not like "
                         f"not in), found {token.text or 'the end'!r}", token)

    def values(self) -> list[Any]:
        if self.peek().text != "(":
            return [self.value()]
        self.take()
        items = [self.value()]
        while self.peek().text == ",":
            self.take()
            items.append(self.value())
        if self.take().text != ")":
            raise self.error("expected ',' or ')' in the list", self.tokens[self.at - 1])
        return items

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "date":
            return _literal_date(token, self)
        words = {"true": True, "false": False, "null": None}
        if token.kind == "word" and token.text.lower() in words:
            return words[token.text.lower()]
        raise self.error(f"expected a value (\"text\", number, true, false, null or "
                         f"[datetime]), found {token.text or 'the end'!r}", token)


def _literal_date(token: Token, parser: _Parser) -> datetime:
    parsed = to_datetime(token.text[1:-1].strip())
    if parsed is None:
        raise parser.error(f"invalid datetime {token.text}; write [2024-04-01T00:00:00Z]", token)
    return parsed
