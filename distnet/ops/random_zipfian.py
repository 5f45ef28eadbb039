"""Log-uniform (Zipfian) candidate samplers for sampled softmax: ``_sample_unique_zipfian``
and ``_contrib_rand_zipfian`` (MXNet's ``nd.contrib.rand_zipfian``).

Class ``k`` of ``range_max`` is drawn with probability
``(log(k + 2) - log(k + 1)) / log(range_max + 1)``: ``floor(exp(u) - 1)`` for ``u``
uniform in ``[0, log(range_max + 1))``.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Int, Shape
from .registry import Op, register
from ._util import xp_of
from .. import random as _random
from .random import _place


def _log_uniform(rng, range_max, size):
    classes = np.exp(rng.uniform(0.0, np.log(range_max + 1.0), size)) - 1.0
    return classes.astype(np.int64) % range_max


def _unique_row(rng, range_max, n):
    """``n`` distinct classes in the order first drawn, and how many draws it took."""
    drawn = np.empty(0, np.int64)
    chunk = 2 * n
    while True:
        drawn = np.concatenate([drawn, _log_uniform(rng, range_max, chunk)])
        _, first = np.unique(drawn, return_index=True)
        if first.size >= n:
            first.sort()
            return drawn[first[:n]], int(first[n - 1]) + 1
        chunk *= 2


@register
class _sample_unique_zipfian(Op):
    """``shape = (batch, num_sampled)`` distinct log-uniform classes per row, and per row
    the number of draws needed (``num_trials``), for sampled-softmax corrections."""

    name = "_sample_unique_zipfian"
    inputs = ()
    params = {"range_max": Attr(Int), "shape": Attr(Shape, ())}

    def output_names(self, a):
        return ("output", "num_trials")

    def _check(self, a):
        shape = tuple(a["shape"])
        if len(shape) != 2:
            raise MXNetError(f"{self.name}: shape must be (batch_size, num_sampled), got {shape}")
        if shape[1] > a["range_max"]:
            raise MXNetError(
                f"{self.name}: cannot draw {shape[1]} distinct classes from "
                f"range_max={a['range_max']}"
            )
        return shape

    def infer_shape(self, a, in_shapes, aux_shapes):
        shape = self._check(a)
        return in_shapes, [shape, (shape[0],)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.int64)] * 2, aux_types

    def forward(self, a, ins, aux, is_train):
        batch, n = self._check(a)
        rng = _random.generator(np)
        rows = [_unique_row(rng, a["range_max"], n) for _ in range(batch)]
        classes = np.stack([r[0] for r in rows])
        trials = np.array([r[1] for r in rows], np.int64)
        return (_place(classes, a), _place(trials, a)), None


def _expected_count(classes, range_max, num_sampled):
    c = classes.astype(np.float64)
    return np.log((c + 2.0) / (c + 1.0)) / np.log(range_max + 1.0) * num_sampled


@register
class _contrib_rand_zipfian(Op):
    """``num_sampled`` log-uniform classes (with repeats), the expected count of each of
    ``true_classes`` and of each sampled class among ``num_sampled`` draws (float64)."""

    name = "_contrib_rand_zipfian"
    inputs = ("true_classes",)
    params = {"num_sampled": Attr(Int), "range_max": Attr(Int)}

    def output_names(self, a):
        return ("sampled_classes", "expected_count_true", "expected_count_sampled")

    def infer_shape(self, a, in_shapes, aux_shapes):
        n = (a["num_sampled"],)
        return in_shapes, [n, in_shapes[0], n], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        t = in_types[0] if in_types[0] is not None else np.dtype(np.int32)
        return [t], [np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.float64)], aux_types

    def forward(self, a, ins, aux, is_train):
        true = ins[0]
        xp = xp_of(true)
        host = np.asarray(true.get() if hasattr(true, "get") else true)
        n, range_max = a["num_sampled"], a["range_max"]
        sampled = _log_uniform(_random.generator(np), range_max, n)
        outs = (
            sampled,
            _expected_count(host, range_max, n),
            _expected_count(sampled, range_max, n),
        )
        return tuple(o if xp is np else xp.asarray(o) for o in outs), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)
