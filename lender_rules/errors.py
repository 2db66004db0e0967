"""Errors of the rule files: every problem names the file, the requirement and the JSON path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a rule file, located as precisely as the file allows."""

    file: str
    message: str
    requirement_id: str | None = None
    path: str = "$"
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        if self.requirement_id is not None:
            where += f" [{self.requirement_id}]"
        return f"{where} {self.path}: {self.message}"


class RulesetError(Exception):
    """A ruleset did not load; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
