"""The workflow policy's machinery: rules saying which fields and values a
document may hold, checked in one walk that stops at the first thing refused
and names its path (`spec.templates[2].container.securityContext.privileged`).

A field no rule names is refused: the rules are an allowlist. A refusal is
a RefusedError, which the policy turns into the service's typed error; a
document of any shape (lists where maps belong, YAML's integer keys, ...)
ends in a refusal, never in another exception.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simpipe_workflow_submitter.config import WorkflowPolicySettings
from simpipe_workflow_submitter.policy.scope import Scope

PathPart = str | int
Path = tuple[PathPart, ...]

# Path parts printed as `.name`; others as `["a/b"]`.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A path part longer than this is cut when shown (keys are user text).
_SHOWN_KEY_CHARS = 60
# Argo's parameter placeholders: `{{inputs.parameters.x}}`, `{{=expr}}`.
PLACEHOLDER = "{{"


def render(path: Path) -> str:
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            shown = part if len(part) <= _SHOWN_KEY_CHARS else part[:_SHOWN_KEY_CHARS] + "..."
            out.append(f"[{json.dumps(shown)}]")
    return "".join(out) or "the document"


class RefusedError(Exception):
    def __init__(self, at: Path, reason: str) -> None:
        super().__init__(f"{render(at)}: {reason}")
        self.at = at
        self.reason = reason


@dataclass
class Walk:
    """What one check carries through a document."""

    scope: Scope
    settings: WorkflowPolicySettings
    # True: set the service's defaults where the document leaves them out.
    # False (documents stored earlier): a missing default is refused.
    fill: bool
    # WorkflowTemplates the document names, with where each is named first.
    template_refs: dict[str, Path] = field(default_factory=dict)
    # Volumes the document declares and the mounts that name them.
    volumes: set[str] = field(default_factory=set)
    mounts: list[tuple[str, Path]] = field(default_factory=list)


class Rule(ABC):
    @abstractmethod
    def check(self, value: Any, at: Path, walk: Walk) -> None:
        """Raises RefusedError unless `value` at `at` is allowed."""


@dataclass(frozen=True)
class Refuse(Rule):
    """A field named only to say why it is refused."""

    reason: str

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        raise RefusedError(at, self.reason)


@dataclass(frozen=True)
class Text(Rule):
    # Written out: no placeholder, so that the value checked is the value used.
    literal: bool = False
    pattern: re.Pattern[str] | None = None
    # What `pattern` asks for, in the refusal.
    shape: str = ""

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if not isinstance(value, str):
            raise RefusedError(at, "must be a string")
        if self.literal and PLACEHOLDER in value:
            raise RefusedError(at, "must be written out here: no {{...}} placeholders")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise RefusedError(at, f"must be {self.shape}")


class Scalar(Rule):
    """Argo's parameter values: text, or a number or boolean read as text."""

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if value is not None and not isinstance(value, str | int | float | bool):
            raise RefusedError(at, "must be a string, number or boolean")
        if isinstance(value, float) and not math.isfinite(value):
            raise RefusedError(at, "must be a finite number")


@dataclass(frozen=True)
class Choice(Rule):
    values: tuple[str, ...]

    def __init__(self, *values: str) -> None:
        object.__setattr__(self, "values", values)

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if not isinstance(value, str) or value not in self.values:
            raise RefusedError(at, "must be one of " + ", ".join(repr(v) for v in self.values))


@dataclass(frozen=True)
class Flag(Rule):
    """A boolean; with `only`, that value alone (the other is refused with `why`)."""

    only: bool | None = None
    why: str = ""

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if not isinstance(value, bool):
            raise RefusedError(at, "must be true or false")
        if self.only is not None and value is not self.only:
            raise RefusedError(
                at, f"must be {str(self.only).lower()}" + (f": {self.why}" if self.why else "")
            )


@dataclass(frozen=True)
class Integer(Rule):
    low: int
    high: int
    # Argo's IntOrString fields: text (a placeholder, a number as text) too.
    text: bool = False

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if self.text and isinstance(value, str):
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise RefusedError(at, "must be an integer" + (" or text" if self.text else ""))
        if not self.low <= value <= self.high:
            raise RefusedError(at, f"must be between {self.low} and {self.high}")


class Quantity(Rule):
    """A Kubernetes quantity ("500m", "1Gi", 2) or a placeholder."""

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise RefusedError(at, "must be a quantity such as 500m or 1Gi")
        if isinstance(value, float) and not math.isfinite(value):
            raise RefusedError(at, "must be a finite number")


@dataclass(frozen=True)
class Items(Rule):
    item: Rule

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if not isinstance(value, list):
            raise RefusedError(at, "must be a list")
        if len(value) > walk.settings.max_list_items:
            raise RefusedError(
                at, f"has {len(value)} items; the limit is {walk.settings.max_list_items}"
            )
        for index, item in enumerate(value):
            self.item.check(item, (*at, index), walk)


def _mapping(value: Any, at: Path, walk: Walk) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RefusedError(at, "must be a mapping")
    if len(value) > walk.settings.max_list_items:
        raise RefusedError(
            at, f"has {len(value)} entries; the limit is {walk.settings.max_list_items}"
        )
    for key in value:
        if not isinstance(key, str):
            raise RefusedError((*at, repr(key)), "keys must be strings")
    return value


@dataclass(frozen=True)
class Entries(Rule):
    """A map of names to values, e.g. labels or resource limits."""

    key: Rule
    value: Rule

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        for key, item in _mapping(value, at, walk).items():
            self.key.check(key, (*at, key), walk)
            self.value.check(item, (*at, key), walk)


# Called once a mapping's fields are allowed: sets the service's defaults in
# it (walk.fill), or refuses it when they are missing.
Complete = Callable[[dict[str, Any], Path, Walk], None]


@dataclass(frozen=True)
class Fields(Rule):
    """A mapping with known fields; any other field is refused with `otherwise`."""

    fields: Mapping[str, Rule]
    otherwise: str = "not an allowed field"
    complete: Complete | None = None

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        for key, item in _mapping(value, at, walk).items():
            rule = self.fields.get(key)
            if rule is None:
                raise RefusedError((*at, key), self.otherwise)
            rule.check(item, (*at, key), walk)
        if self.complete is not None:
            self.complete(value, at, walk)

    def with_fields(self, extra: Mapping[str, Rule]) -> Fields:
        return Fields({**self.fields, **extra}, self.otherwise, self.complete)


class Anything(Rule):
    """Plain data of any shape (loop items): JSON values only."""

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        if isinstance(value, dict):
            for key, item in _mapping(value, at, walk).items():
                self.check(item, (*at, key), walk)
        elif isinstance(value, list):
            Items(self).check(value, at, walk)
        else:
            Scalar().check(value, at, walk)


@dataclass(frozen=True)
class Custom(Rule):
    """A rule of its own, e.g. a name that must carry the project's prefix."""

    function: Callable[[Any, Path, Walk], None]

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        self.function(value, at, walk)


class Later(Rule):
    """A rule defined further down (a template holds templates inline)."""

    rule: Rule  # set once that rule exists

    def check(self, value: Any, at: Path, walk: Walk) -> None:
        self.rule.check(value, at, walk)


def required(value: dict[str, Any], key: str, default: Any, at: Path, walk: Walk) -> None:
    """Set `key` to `default` when absent (walk.fill), else refuse its absence."""
    if key in value:
        return
    if not walk.fill:
        raise RefusedError(
            (*at, key),
            "missing: set by SIM-PIPE's workflow policy; save the document again to apply it",
        )
    value[key] = default


def ensure(value: dict[str, Any], key: str, rule: Rule, at: Path, walk: Walk) -> None:
    """A mapping at `key` that `rule` completes: made empty first when absent
    (walk.fill), else its absence refused. A present one was checked already."""
    if key not in value:
        required(value, key, {}, at, walk)
        rule.check(value[key], (*at, key), walk)
