"""Values for outputs nothing recorded: the literal a `when` of the workflow
compares the output with. A placeholder would make every branch false (and
an expression that picks a branch's output then fails); the first literal
the workflow names sends the run down a path the pipeline has. Pure.

Recognised: `{{steps.S.outputs.result}} == x`, `x == {{tasks.S.outputs.parameters.p}}`
(quotes optional), the forms Argo's `when` takes with govaluate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from simpipe_kwok_scaler.emulation.outputs import RESULT

_REF = (
    r"\{\{\s*(?:steps|tasks)\.(?P<stepN>[\w-]+)\.outputs\."
    r"(?:result|parameters\.(?P<paramN>[\w-]+))\s*\}\}"
)
_LITERAL = r"(?P<litN>[\w.\-]+)"
_QUOTE = r"['\"]?"
_COMPARISONS = (
    re.compile(_REF.replace("N", "1") + _QUOTE + r"\s*==\s*" + _QUOTE + _LITERAL.replace("N", "1")),
    re.compile(_LITERAL.replace("N", "2") + _QUOTE + r"\s*==\s*" + _QUOTE + _REF.replace("N", "2")),
)
# Bounds on what is read of a (user-written) workflow.
MAX_WHEN_LENGTH = 4096
MAX_NODES = 200_000


def step_name(node_name: str) -> str:
    """The step or task name of an Argo node name (`wf[0].flip-coin`,
    `wf.A(0:item)`): its last dotted part outside a loop item's brackets,
    without the item. Dots and brackets inside an item do not count."""
    depth, start, last = 0, 0, node_name
    for index, char in enumerate(node_name):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "." and depth == 0:
            start = index + 1
    last = node_name[start:]
    cut = next((i for i, c in enumerate(last) if c in "(["), len(last))
    return last[:cut].strip()


def branch_values(workflow: Mapping[str, Any], step: str) -> dict[str, str]:
    """Output name ("result" or a parameter's) -> the first literal a `when`
    compares that output of step `step` with."""
    found: dict[str, str] = {}
    for when in _whens(workflow):
        for pattern in _COMPARISONS:
            for match in pattern.finditer(when):
                groups = match.groupdict()
                n = "1" if groups.get("step1") is not None else "2"
                if groups[f"step{n}"] != step:
                    continue
                found.setdefault(groups[f"param{n}"] or RESULT, groups[f"lit{n}"])
    return found


def _whens(workflow: Mapping[str, Any]) -> Iterator[str]:
    """Every `when` of the workflow's templates (its own, or those of the
    WorkflowTemplate it was made from), walked iteratively with a bound."""
    roots = [
        workflow.get("spec"),
        (workflow.get("status") or {}).get("storedWorkflowTemplateSpec"),
    ]
    stack: list[Any] = [r for r in reversed(roots) if r is not None]
    seen = 0
    while stack and seen < MAX_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, Mapping):
            when = node.get("when")
            if isinstance(when, str) and len(when) <= MAX_WHEN_LENGTH:
                yield when
            children = [v for v in node.values() if isinstance(v, (Mapping, list))]
        elif isinstance(node, list):
            children = [v for v in node if isinstance(v, (Mapping, list))]
        else:
            continue
        stack.extend(reversed(children))  # document order: the first `when` first
