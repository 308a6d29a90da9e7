"""Check results and how they are printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TextIO

Level = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Result:
    """One check: ``detail`` says what was found, ``fix`` what to do (failures and warnings)."""

    name: str
    level: Level
    detail: str
    fix: str = ""


def passed(name: str, detail: str) -> Result:
    return Result(name, "pass", detail)


def failed(name: str, detail: str, fix: str) -> Result:
    return Result(name, "fail", detail, fix)


def warned(name: str, detail: str, fix: str) -> Result:
    return Result(name, "warn", detail, fix)


def skipped(name: str, detail: str) -> Result:
    return Result(name, "skip", detail)


def render(result: Result) -> str:
    line = f"{result.level.upper():4} {result.name}: {result.detail}"
    if result.fix and result.level in ("fail", "warn"):
        line += f" -> fix: {result.fix}"
    return line


class Report:
    """Collects results and prints each as it arrives (a slow check shows where it is)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.results: list[Result] = []

    def add(self, result: Result) -> Result:
        self.results.append(result)
        self.out.write(render(result) + "\n")
        self.out.flush()
        return result

    def extend(self, results: list[Result]) -> None:
        for r in results:
            self.add(r)

    @property
    def failures(self) -> int:
        return sum(r.level == "fail" for r in self.results)

    def exit_code(self) -> int:
        return 1 if self.failures else 0
