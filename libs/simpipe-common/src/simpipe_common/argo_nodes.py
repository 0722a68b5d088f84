"""A Workflow's nodes where Argo keeps them: in status.nodes, or, once the
Workflow outgrows the controller's size limit (1 MiB by default: a run of a
couple of thousand steps), gzip'ed and base64'ed in status.compressedNodes
with status.nodes left out."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from typing import Any

# Far above what fits in an apiserver object (1.5 MiB compressed): a
# compressed status that claims more is not read.
MAX_NODES_JSON_BYTES = 256 * 1024 * 1024


def workflow_nodes(status: Any) -> Mapping[str, Any]:
    """The nodes by id, as the status holds them (not copied: the watcher
    reads every event's); empty when there are none or they cannot be read."""
    if not isinstance(status, Mapping):
        return {}
    nodes = status.get("nodes")
    if isinstance(nodes, Mapping) and nodes:
        return nodes
    packed = status.get("compressedNodes")
    if not isinstance(packed, str) or not packed:
        return {}
    try:
        # gzip framing (wbits 16+), bounded: a bomb stops at the limit.
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text = inflate.decompress(base64.b64decode(packed, validate=True), MAX_NODES_JSON_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            return {}
        decoded = json.loads(text)
    except (binascii.Error, zlib.error, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}
