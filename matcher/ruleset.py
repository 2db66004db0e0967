"""The ruleset: every lender's requirements, compiled once, content-hashed.

A ruleset is built from lender documents (the parsed rule files). It is checked completely
before anything is built: a ruleset with any problem raises `RulesetError` listing them all.
Its snapshot is canonical JSON of the documents; its hash is the snapshot's SHA-256, so the
same rules always have the same hash and a stored snapshot rebuilds the very same ruleset.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from lender_rules.canonical import canonical_json, sha256_hex
from lender_rules.errors import Problem, RulesetError
from lender_rules.loader import LenderDocument, check_document, read_lender_files
from lender_rules.vocabulary import LANGUAGES
from matcher.compiled_lender import CompiledLender as CompiledLender
from matcher.compiled_lender import CompiledRequirement as CompiledRequirement
from matcher.compiler import compile_rule
from matcher.errors import NothingActivatedError
from matcher.hints import prepare, prepare_lender
from matcher.lower_python import lower_requirements
from matcher.reasons import prepare as prepare_reasons
from matcher.words import render


@dataclass(frozen=True, eq=False)
class Ruleset:
    """All lenders' compiled requirements, with the documents they came from."""

    documents: Mapping[str, dict[str, Any]]
    lenders: tuple[CompiledLender, ...]
    hash: str

    def snapshot(self) -> str:
        """Canonical JSON of every lender document: what the hash is the hash of."""
        return canonical_snapshot(self.documents)

    def lender(self, lender_id: str) -> CompiledLender:
        return self.by_id[lender_id]

    @cached_property
    def by_id(self) -> Mapping[str, CompiledLender]:
        """The lenders by id (`lender` of each)."""
        return {lender.lender_id: lender for lender in self.lenders}

    def for_market(self, market: str) -> tuple[CompiledLender, ...]:
        return self._by_market.get(market, ())

    @cached_property
    def _by_market(self) -> dict[str, tuple[CompiledLender, ...]]:
        out: dict[str, list[CompiledLender]] = {}
        for lender in self.lenders:
            for market in lender.markets:
                out.setdefault(market, []).append(lender)
        return {m: tuple(ls) for m, ls in out.items()}


def canonical_snapshot(documents: Mapping[str, Mapping[str, Any]]) -> str:
    """Canonical JSON (`lender_rules.canonical`) of `{"lenders": [...]}`, the documents in
    the order of their lender ids."""
    return canonical_json({"lenders": [documents[k] for k in sorted(documents)]})


def _compile_lender(doc: LenderDocument) -> tuple[CompiledLender | None, list[Problem]]:
    model, file = doc.model, doc.file
    problems: list[Problem] = []
    requirements: list[CompiledRequirement] = []
    for i, req in enumerate(model.requirements):
        node, found = compile_rule(
            req.rule, file=file, requirement_id=req.id, path=f"$.requirements[{i}].rule"
        )
        problems.extend(found)
        if node is None:
            continue
        reason = req.reason.model_dump()
        words: dict[str, str] = {lang: render(node, lang) for lang in LANGUAGES}
        prepare(node)
        key = canonical_json(req.rule)
        requirements.append(
            CompiledRequirement(model.lender_id, req.id, i, node, reason, words, key)
        )
    if problems:
        return None, problems
    lender = CompiledLender(
        lender_id=model.lender_id,
        name=model.name,
        markets=tuple(model.markets),
        effective_from=model.effective_from,
        requirements=tuple(requirements),
        evaluate=lower_requirements(
            [r.node for r in requirements], name=f"lender_{model.lender_id}"
        ),
    )
    # what explaining its rejections works out once, worked out now, not in a request
    for requirement in requirements:
        prepare_reasons(requirement)
    prepare_lender(lender)
    return lender, []


def _build(docs: Sequence[LenderDocument], problems: list[Problem]) -> Ruleset:
    """Compile every document that has the right shape; raise with every problem, those
    found reading the documents (`problems`) and those in their rules, in one error."""
    problems = list(problems)
    lenders: list[CompiledLender] = []
    documents: dict[str, dict[str, Any]] = {}
    for doc in docs:
        lender, found = _compile_lender(doc)
        problems.extend(found)
        if lender is None:
            continue
        if lender.lender_id in documents:
            problems.append(
                Problem(
                    doc.file, f"lender {lender.lender_id!r} is defined twice", None, "$.lender_id"
                )
            )
            continue
        documents[lender.lender_id] = doc.document
        lenders.append(lender)
    if problems:
        raise RulesetError(problems)
    lenders.sort(key=lambda lender: lender.lender_id)
    return Ruleset(documents=documents, lenders=tuple(lenders), hash=_hash(documents))


def load_ruleset(path: str | Path) -> Ruleset:
    """Load and compile the lender rule files at `path` (a file, or a folder of them).

    Raises `RulesetError` listing every problem in every file.
    """
    return _build(*read_lender_files(Path(path)))


def ruleset_from_documents(
    documents: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    *,
    listed_as: str | None = None,
) -> Ruleset:
    """Build a ruleset from lender documents (for example the body of an upload).

    A problem names its document as `<lender_id>.json`; with `listed_as` (the list's name in
    an upload, e.g. "lenders"), by its place in that list: `lenders[2]`. A document without a
    lender id is always named by its place.
    """
    items = list(documents.values()) if isinstance(documents, Mapping) else list(documents)
    problems: list[Problem] = []
    checked: list[LenderDocument] = []
    for i, document in enumerate(items):
        lender_id = document.get("lender_id") if isinstance(document, Mapping) else None
        by_place = listed_as is not None or not isinstance(lender_id, str)
        file = f"{listed_as or 'lenders'}[{i}]" if by_place else f"{lender_id}.json"
        if not isinstance(document, Mapping):
            problems.append(Problem(file, "a lender document is a JSON object"))
            continue
        doc, found = check_document(dict(document), file, None)
        problems.extend(found)
        if doc is not None:
            checked.append(doc)
    if not items:
        problems.append(Problem("lenders", "a ruleset needs at least one lender"))
    return _build(checked, problems)


def ruleset_from_snapshot(snapshot: str) -> Ruleset:
    """Rebuild the ruleset a snapshot was taken of (its hash is the snapshot's hash)."""
    return ruleset_from_documents(json.loads(snapshot)["lenders"])


def in_force(activated: Sequence[Ruleset], on: dt.date) -> Ruleset:
    """The ruleset in force on a date, from rulesets in the order they were activated.

    The newest activation names the lenders. For each of them the version in force is the
    newest activated one whose `effective_from` is on or before `on` (a version without it is
    in force at once); a lender with no version in force yet is left out. So a rule change
    activated ahead of its date takes over on that date, and until then the version before
    it goes on deciding. The result is an ordinary ruleset with its own hash and snapshot.
    """
    if not activated:
        raise NothingActivatedError("no ruleset has been activated")
    newest = activated[-1]
    documents: dict[str, dict[str, Any]] = {}
    for lender in newest.lenders:
        for ruleset in reversed(activated):
            if lender.lender_id not in ruleset.documents:
                continue
            version = ruleset.lender(lender.lender_id)
            if version.effective_from is None or version.effective_from <= on:
                documents[lender.lender_id] = ruleset.documents[lender.lender_id]
                break
    if documents.keys() == newest.documents.keys() and all(
        documents[k] is newest.documents[k] for k in documents
    ):
        return newest
    if not documents:
        return Ruleset(documents={}, lenders=(), hash=_hash({}))
    return ruleset_from_documents(documents)


def _hash(documents: Mapping[str, Mapping[str, Any]]) -> str:
    return sha256_hex(canonical_snapshot(documents))
