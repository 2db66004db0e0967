"""Rules in plain words, generated from the rule itself: `age >= 23`,
`employment is one of permanent, retired`, `if employment is temporary then ...`.

Features and the values of the vocabulary's closed lists are written in the reader's
language (`FEATURE_WORDS`, `VALUE_WORDS` of `matcher.texts`): in bokmål the last one reads
`hvis ansettelsesform er midlertidig ansatt så måneder hos arbeidsgiver >= 12, ellers sann`.
Other strings (a market code, a list of country codes) are shown as written in the rule."""

from __future__ import annotations

from lender_rules.vocabulary import DEFAULT_LANGUAGE, Language
from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.schema import Type
from matcher.texts import FEATURE_WORDS, VALUE_WORDS, WORDS


def render(node: Node, lang: Language = DEFAULT_LANGUAGE) -> str:
    """The node in plain words, in `lang`."""
    return _render(node, lang, parent_precedence=-1)


def _value(value: object, type_: Type, lang: Language) -> str:
    if type_ is Type.BOOL:
        return WORDS[lang]["true" if value else "false"]
    if type_ is Type.STR:
        return VALUE_WORDS[lang].get(str(value), str(value))
    return str(value)


def _render(node: Node, lang: Language, parent_precedence: int) -> str:
    if isinstance(node, Const):
        return _value(node.value, node.type, lang)
    if isinstance(node, ListConst):
        return ", ".join(_value(v, node.type, lang) for v in node.values)
    if isinstance(node, Var):
        name = FEATURE_WORDS[lang][node.name]
        if node.default is None:
            return name
        default = _value(node.default.value, node.default.type, lang)
        return f"{name} ({WORDS[lang]['if_missing'].format(value=default)})"
    return _call(node, lang, parent_precedence)


def _call(node: Call, lang: Language, parent_precedence: int) -> str:
    op = node.op
    if op.name == "in" and isinstance(node.args[1], ListConst):
        needle = _render(node.args[0], lang, op.precedence)
        text = f"{needle} {WORDS[lang]['one_of']} {_render(node.args[1], lang, op.precedence)}"
    else:
        args = [_render(a, lang, op.precedence) for a in node.args]
        text = op.words(args, [a.type for a in node.args], lang)
    if op.precedence <= parent_precedence or (op.name == "if" and parent_precedence >= 0):
        return f"({text})"
    return text
