"""What a rule is, and where rules come from.

A rule is a pure function of one device's facts, declared with `@rule(...)`: a stable code, a title,
a category, a weight, an ease (for the PIE backlog), default thresholds, a recommendation, and a docstring
that says why it matters. Built-in rules live in the `rules` package; third-party packages add theirs
through the `cro_audit.rules` entry point group (a module holding rules and, optionally, categories).
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from auditor.config import toml_text
from auditor.facts import DeviceFacts

ENTRY_POINT_GROUP = "cro_audit.rules"


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    weight: float  # share of the page score
    order: int = 100  # position in reports: fundamentals (speed, mobile, navigation) first


@dataclass
class Verdict:
    """A rule's judgement of one device's facts: a score from 0 to 100 and what it is based on."""

    score: float
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


Check = Callable[[DeviceFacts, dict[str, Any]], Verdict | None]  # None: does not apply to this page


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    title: str  # what good looks like
    failure_title: str  # the finding's headline
    category: str
    weight: float  # 1-10: how much it matters within its category, and its PIE importance
    ease: int  # 1-10: how easy a typical fix is (10 = a one-line change), the E of PIE
    devices: tuple[str, ...]
    per_device: bool  # judge every device, or only the first of `devices` that was measured
    thresholds: dict[str, Any]
    recommendation: str
    check: Check
    doc: str
    source: str = "builtin"

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n")[0].replace("\n", " ")

    def with_thresholds(self, overrides: dict[str, Any]) -> Rule:
        unknown = set(overrides) - set(self.thresholds)
        if unknown:
            raise ValueError(f"rule {self.id} has no threshold {sorted(unknown)[0]!r} (it has: {', '.join(self.thresholds)})")
        for key, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):  # TOML has nan, inf
                raise ValueError(f"rule {self.id} threshold {key} must be a number of 0 or more, not {toml_text(value)}")
        merged = {**self.thresholds, **overrides}
        for key, value in merged.items():  # log-normal curves need 0 < p10 < median
            twin = key.replace("p10", "median")
            if twin != key and twin in merged and not 0 < value < merged[twin]:
                raise ValueError(f"rule {self.id}: {key} ({value}) must be above 0 and below {twin} ({merged[twin]})")
        return Rule(**{**self.__dict__, "thresholds": merged})


def rule(
    *,
    id: str,
    name: str,
    title: str,
    failure_title: str,
    category: str,
    weight: float,
    ease: int,
    recommendation: str,
    devices: tuple[str, ...] = ("desktop", "mobile"),
    per_device: bool = True,
    thresholds: dict[str, Any] | None = None,
) -> Callable[[Check], Rule]:
    """Declare a rule. The decorated function receives the facts and the thresholds."""

    def declare(check: Check) -> Rule:
        return Rule(
            id=id,
            name=name,
            title=title,
            failure_title=failure_title,
            category=category,
            weight=weight,
            ease=ease,
            devices=devices,
            per_device=per_device,
            thresholds=dict(thresholds or {}),
            recommendation=" ".join(recommendation.split()),
            check=check,
            doc=inspect.cleandoc(check.__doc__ or ""),
            source=check.__module__,
        )

    return declare


# ---- scoring curves shared by rules -------------------------------------------------------------
def log_normal(value: float, p10: float, median: float) -> float:
    """Score a 'lower is better' metric: `median` scores 50, `p10` scores 90 (Lighthouse's curve)."""
    if value <= 0:
        return 100.0
    standardized = math.log(value / median) * 0.9061938024368232 / -math.log(p10 / median)
    return max(0.0, min(100.0, 100 * (1 - math.erf(standardized)) / 2))


# ---- loading ---------------------------------------------------------------------------------
@dataclass
class Rulebook:
    rules: list[Rule]
    categories: dict[str, Category]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _collect(module: ModuleType) -> tuple[list[Rule], list[Category]]:
    members = vars(module).values()
    return [m for m in members if isinstance(m, Rule)], [m for m in members if isinstance(m, Category)]


def builtin_modules() -> Iterable[ModuleType]:
    import rules as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def plugin_modules() -> Iterable[ModuleType]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            yield ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
            raise ValueError(f"rule plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None


class UnknownPrefix(ValueError):
    """A select or ignore prefix no rule id has; `option` says which, so the caller can name where it was set."""

    def __init__(self, option: str, prefix: str) -> None:
        super().__init__(f"no rule id starts with {prefix!r} (see `cro-audit rules`)")
        self.option, self.prefix = option, prefix


def load_rulebook(
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    modules: Iterable[ModuleType] | None = None,
) -> Rulebook:
    """All rules, filtered by id prefix like a linter (`select = ["SPD", "MOB001"]`), thresholds overridden."""
    rules: list[Rule] = []
    categories: dict[str, Category] = {}
    for module in modules if modules is not None else [*builtin_modules(), *plugin_modules()]:
        found, cats = _collect(module)
        for cat in cats:
            categories.setdefault(cat.id, cat)
        rules.extend(found)
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"two rules share the id {duplicates[0]}")
    for r in rules:
        if r.category not in categories:
            raise ValueError(f"rule {r.id} names an unknown category {r.category!r}")
    known = set(ids)
    for option, prefixes in (("select", select), ("ignore", ignore)):
        for prefix in prefixes or []:
            if not any(i.startswith(prefix) for i in known):
                raise UnknownPrefix(option, prefix)
    for rule_id, values in (overrides or {}).items():  # checked for every rule, selected or not: typos surface
        if rule_id not in known:
            raise ValueError(f"thresholds given for an unknown rule {rule_id!r}")
        if not isinstance(values, dict):
            raise ValueError(f"thresholds for {rule_id} must be a table, like [rules.{rule_id}]")
        rules = [r.with_thresholds(values) if r.id == rule_id else r for r in rules]
    if select:
        rules = [r for r in rules if any(r.id.startswith(p) for p in select)]
    if ignore:
        rules = [r for r in rules if not any(r.id.startswith(p) for p in ignore)]
    rules.sort(key=lambda r: r.id)
    ordered = dict(sorted(categories.items(), key=lambda item: (item[1].order, item[0])))
    return Rulebook(rules=rules, categories=ordered)
