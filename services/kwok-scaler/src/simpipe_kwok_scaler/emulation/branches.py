"""Values for outputs nothing recorded, from how the workflow uses them. A
placeholder would make every branch false (and an expression that picks a
branch's output then fails), and is neither the JSON list a loop iterates
over nor the number a sequence counts to. So:
- the literal a `when` compares the output with (the first the workflow
  names sends the run down a path the pipeline has):
  `{{steps.S.outputs.result}} == x`, `x == {{tasks.S.outputs.parameters.p}}`
  (quotes optional), the forms Argo's `when` takes with govaluate;
- an empty JSON list for an output a `withParam` iterates over (the loop
  runs no item: none is known);
- 1 for an output a `withSequence` counts with.
Pure.
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
_REFERENCE = re.compile(_REF.replace("N", "1"))
EMPTY_LIST = "[]"
ONE = "1"
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
    """Output name ("result" or a parameter's) of step `step` -> the value
    its use in the workflow calls for (see above)."""
    compared: dict[str, str] = {}
    shaped: dict[str, str] = {}
    for field, text in _fields(workflow):
        if field == "when":
            for pattern in _COMPARISONS:
                for match in pattern.finditer(text):
                    groups = match.groupdict()
                    n = "1" if groups.get("step1") is not None else "2"
                    if groups[f"step{n}"] == step:
                        compared.setdefault(groups[f"param{n}"] or RESULT, groups[f"lit{n}"])
            continue
        for match in _REFERENCE.finditer(text):
            if match["step1"] == step:
                value = EMPTY_LIST if field == "withParam" else ONE
                shaped.setdefault(match["param1"] or RESULT, value)
    return shaped | compared


def _fields(workflow: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every `when`, `withParam` and `withSequence` bound of the workflow's
    templates (its own, or those of the WorkflowTemplate it was made from),
    in document order, walked iteratively with a bound."""
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
            for field in ("when", "withParam"):
                text = node.get(field)
                if isinstance(text, str) and len(text) <= MAX_WHEN_LENGTH:
                    yield field, text
            sequence = node.get("withSequence")
            if isinstance(sequence, Mapping):
                for bound in ("count", "start", "end"):
                    text = sequence.get(bound)
                    if isinstance(text, str) and len(text) <= MAX_WHEN_LENGTH:
                        yield "withSequence", text
            children = [v for v in node.values() if isinstance(v, (Mapping, list))]
        elif isinstance(node, list):
            children = [v for v in node if isinstance(v, (Mapping, list))]
        else:
            continue
        stack.extend(reversed(children))  # document order: the first `when` first
