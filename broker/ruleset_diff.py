"""What changed between two rulesets, in plain words.

Lenders are matched by id, requirements by id within their lender. A requirement whose rule
(its canonical JSON, `CompiledRequirement.rule_key`) differs is changed; one whose rule is the
same but whose reason text differs is reworded. A lender's name, markets and date in force are
compared too. The rules are given in words (`CompiledRequirement.plain`), so a rules owner can
read the change without reading JsonLogic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lender_rules.vocabulary import DEFAULT_LANGUAGE, Language
from matcher import CompiledLender, CompiledRequirement, Ruleset

ChangeKind = Literal["added", "removed", "changed", "reworded"]
LenderField = Literal["name", "markets", "effective_from"]


@dataclass(frozen=True, slots=True)
class RequirementChange:
    """One requirement of one lender added, removed, changed or reworded; rules in words."""

    lender_id: str
    requirement_id: str
    kind: ChangeKind
    before: str | None  # the old rule in words; None when added
    after: str | None  # the new rule in words; None when removed

    def sentence(self) -> str:
        where = f"{self.lender_id}.{self.requirement_id}"
        if self.kind == "added":
            return f"{where} added: {self.after}"
        if self.kind == "removed":
            return f"{where} removed (was: {self.before})"
        if self.kind == "changed":
            return f"{where} changed: {self.before} -> {self.after}"
        return f"{where} reason text changed (rule unchanged: {self.after})"


@dataclass(frozen=True, slots=True)
class LenderChange:
    """A lender's name, markets or date in force changed."""

    lender_id: str
    field: LenderField
    before: str
    after: str

    def sentence(self) -> str:
        return f"{self.lender_id}: {self.field} changed from {self.before} to {self.after}"


@dataclass(frozen=True, slots=True)
class RulesetDiff:
    """Everything that differs between `old_hash` and `new_hash`, lenders in id order."""

    old_hash: str
    new_hash: str
    lenders_added: tuple[str, ...]
    lenders_removed: tuple[str, ...]
    lender_changes: tuple[LenderChange, ...]
    requirement_changes: tuple[RequirementChange, ...]

    @property
    def unchanged(self) -> bool:
        return not (
            self.lenders_added
            or self.lenders_removed
            or self.lender_changes
            or self.requirement_changes
        )

    def sentences(self) -> list[str]:
        """The diff as plain sentences, one a line; "no changes" when there are none."""
        if self.unchanged:
            return ["no changes"]
        lines = [f"lender {lender_id} added" for lender_id in self.lenders_added]
        lines += [f"lender {lender_id} removed" for lender_id in self.lenders_removed]
        lines += [change.sentence() for change in self.lender_changes]
        lines += [change.sentence() for change in self.requirement_changes]
        return lines


def diff_rulesets(old: Ruleset, new: Ruleset, lang: Language = DEFAULT_LANGUAGE) -> RulesetDiff:
    """What changed from `old` to `new`, the rules in words in `lang`."""
    old_lenders = {lender.lender_id: lender for lender in old.lenders}
    new_lenders = {lender.lender_id: lender for lender in new.lenders}
    added = sorted(new_lenders.keys() - old_lenders.keys())
    removed = sorted(old_lenders.keys() - new_lenders.keys())
    lender_changes: list[LenderChange] = []
    requirement_changes: list[RequirementChange] = []
    for lender_id in sorted(old_lenders.keys() & new_lenders.keys()):
        before, after = old_lenders[lender_id], new_lenders[lender_id]
        lender_changes += _lender_changes(before, after)
        requirement_changes += _requirement_changes(before, after, lang)
    for lender_id in added:
        requirement_changes += [
            RequirementChange(lender_id, r.id, "added", None, r.plain(lang))
            for r in new_lenders[lender_id].requirements
        ]
    return RulesetDiff(
        old_hash=old.hash,
        new_hash=new.hash,
        lenders_added=tuple(added),
        lenders_removed=tuple(removed),
        lender_changes=tuple(lender_changes),
        requirement_changes=tuple(requirement_changes),
    )


def _lender_changes(before: CompiledLender, after: CompiledLender) -> list[LenderChange]:
    pairs: list[tuple[LenderField, str, str]] = [
        ("name", before.name, after.name),
        ("markets", ", ".join(before.markets), ", ".join(after.markets)),
        ("effective_from", str(before.effective_from), str(after.effective_from)),
    ]
    return [LenderChange(before.lender_id, f, old, new) for f, old, new in pairs if old != new]


def _requirement_changes(
    before: CompiledLender, after: CompiledLender, lang: Language
) -> list[RequirementChange]:
    old = {r.id: r for r in before.requirements}
    new = {r.id: r for r in after.requirements}
    changes: list[RequirementChange] = []
    for requirement in before.requirements:  # file order of the old version, then additions
        if requirement.id not in new:
            changes.append(_change(requirement, None, "removed", lang))
            continue
        replacement = new[requirement.id]
        if requirement.rule_key != replacement.rule_key:
            changes.append(_change(requirement, replacement, "changed", lang))
        elif dict(requirement.reason) != dict(replacement.reason):
            changes.append(_change(requirement, replacement, "reworded", lang))
    changes += [_change(None, r, "added", lang) for r in after.requirements if r.id not in old]
    return changes


def _change(
    before: CompiledRequirement | None,
    after: CompiledRequirement | None,
    kind: ChangeKind,
    lang: Language,
) -> RequirementChange:
    named = after if before is None else before  # the side that exists
    return RequirementChange(
        lender_id=named.lender_id if named else "",
        requirement_id=named.id if named else "",
        kind=kind,
        before=before.plain(lang) if before else None,
        after=after.plain(lang) if after else None,
    )
