"""Run `module:function` in a worker: `python -m launcher.call MODULE:FUNC [JSON_ARGS]`.

Used by `distnet.testing.run_distributed` for function targets. The function's return
value is written as JSON to `$DISTNET_RESULT_DIR/worker-<RANK>.json` (atomically), so
the harness can hand it back; JSON, never pickle, so nothing executable travels.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import List, Optional

RESULT_DIR_VAR = "DISTNET_RESULT_DIR"


def resolve(target: str):
    """The function named by 'package.module:qualname'."""
    module_name, sep, qualname = target.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError(f"expected 'module:function', got {target!r}")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def write_result(value, result_dir: str, rank: str) -> None:
    """Write `value` as JSON to `<result_dir>/worker-<rank>.json` via tmp + rename."""
    path = os.path.join(result_dir, f"worker-{rank}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)


def main(argv: Optional[List[str]] = None) -> int:
    """Call the target with the JSON-decoded positional args; record its return value."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m launcher.call MODULE:FUNCTION [JSON_ARGS]", file=sys.stderr)
        return 2
    func = resolve(argv[0])
    args = json.loads(argv[1]) if len(argv) > 1 else []
    value = func(*args)
    result_dir = os.environ.get(RESULT_DIR_VAR)
    if result_dir:
        write_result(value, result_dir, os.environ.get("RANK", "0"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
