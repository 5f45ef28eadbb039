"""Every registered operator is exercised by some test of the operator suites."""

import importlib
import pathlib
import re

from distnet.ops.registry import all_ops

from .harness import OpCase

_HERE = pathlib.Path(__file__).resolve().parent
# Operators whose behaviour is tested outside tests/ops, with where.
_ELSEWHERE = {
    "_getitem": "tests/core/test_ndarray.py (indexing) and test_autograd.py (slicing grads)",
    "_copyto": "tests/core/test_autograd.py (copy to another context)",
    "reset_arrays": "tests/gluon/test_block_semantics.py (in place, num_arrays check, zero_grad)",
    "_square_sum": "tests/sparse/test_sparse_ndarray.py (values and gradient)",
    "_contrib_SparseEmbedding": "tests/sparse/test_sparse_ndarray.py (row_sparse gradient)",
}


def _case_names():
    """Operator names of every OpCase held in a module-level list of the op test modules."""
    names = set()
    for path in _HERE.glob("test_*.py"):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, (list, tuple)):
                names.update(c.name for c in value if isinstance(c, OpCase))
    return names


def _called_in_text():
    root = _HERE.parent
    return "\n".join(
        p.read_text() for suite in ("ops", "core", "symbol") for p in (root / suite).glob("*.py")
    )


def test_every_operator_is_tested():
    cases, text = _case_names(), _called_in_text()
    by_op = {}
    for name, op in all_ops().items():
        by_op.setdefault(op.name, set()).add(name)
    missing = [
        canonical
        for canonical, names in sorted(by_op.items())
        if canonical not in _ELSEWHERE
        and not names & cases
        and not any(re.search(rf"[\"'.]{re.escape(n)}[\"'(]", text) for n in names)
    ]
    assert not missing, f"operators no test calls: {missing}"
