"""``mx.lr_scheduler``: learning-rate schedules of the number of updates, with warmup.

A scheduler is called as ``sched(num_update)`` and returns the learning rate. Factor and
MultiFactor schedules are stateful as in MXNet (``base_lr`` decays as updates pass), so a
scheduler is described with its state: ``sched.describe() -> (name, params)`` where
``params`` holds the constructor arguments and, under ``'state'``, the attributes that
change while training; ``from_description((name, params))`` rebuilds it where it was.
"""

import inspect
import logging
from math import cos, pi

from .base import MXNetError

_LOG = logging.getLogger(__name__)  # named: the root logger is the user's to configure

__all__ = [
    "LRScheduler",
    "FactorScheduler",
    "MultiFactorScheduler",
    "PolyScheduler",
    "CosineScheduler",
    "create",
    "from_description",
    "register",
]

_REGISTRY = {}
_SHORT_NAMES = {
    "factor": "factorscheduler",
    "multifactor": "multifactorscheduler",
    "poly": "polyscheduler",
    "cosine": "cosinescheduler",
}


def register(klass):
    """Register an LRScheduler subclass under its class name (case-insensitive)."""
    if not (isinstance(klass, type) and issubclass(klass, LRScheduler)):
        raise MXNetError(f"register: {klass!r} is not an LRScheduler subclass")
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


class LRScheduler:
    """Base class: ``base_lr`` and a warmup of ``warmup_steps`` updates that goes from
    ``warmup_begin_lr`` to ``base_lr`` linearly (``warmup_mode='linear'``) or stays at
    ``warmup_begin_lr`` (``'constant'``)."""

    # constructor argument -> attribute holding its value, where the names differ
    _arg_attrs = {}
    # attributes that change while the schedule runs (restored by from_description)
    _state_attrs = ("base_lr", "warmup_final_lr")

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        self.base_lr = base_lr
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool):
            raise MXNetError(f"warmup_steps must be an int, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise ValueError("Base lr has to be higher than warmup_begin_lr")
        if self.warmup_steps < 0:
            raise ValueError("Warmup steps has to be positive or 0")
        if warmup_mode not in ("linear", "constant"):
            raise ValueError("Supports only linear and constant modes of warmup")
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        """The learning rate during warmup (``num_update < warmup_steps``)."""
        if self.warmup_mode == "linear":
            increase = (
                (self.warmup_final_lr - self.warmup_begin_lr)
                * float(num_update)
                / float(self.warmup_steps)
            )
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        raise NotImplementedError("must override this")

    def describe(self):
        """``(registered name, params)`` with msgpack-safe values; see module docstring."""
        name = type(self).__name__
        if _REGISTRY.get(name.lower()) is not type(self):
            raise MXNetError(
                f"cannot describe learning-rate scheduler {name}: it is not "
                "registered (decorate it with mx.lr_scheduler.register)"
            )
        params = {}
        for arg in _ctor_args(type(self)):
            attr = self._arg_attrs.get(arg, arg)
            if not hasattr(self, attr):
                raise MXNetError(
                    f"cannot describe {name}: constructor argument {arg!r} is "
                    f"not stored as attribute {attr!r}"
                )
            params[arg] = _plain(getattr(self, attr), f"{name}.{arg}")
        params["state"] = {
            a: _plain(getattr(self, a), f"{name}.{a}")
            for a in self._state_attrs
            if hasattr(self, a)
        }
        return name, params


def _ctor_args(klass):
    """Names of the keyword arguments ``klass``'s constructors accept (through the MRO)."""
    names = []
    for k in klass.__mro__:
        init = k.__dict__.get("__init__")
        if init is None:
            continue
        has_kwargs = False
        for p in list(inspect.signature(init).parameters.values())[1:]:
            if p.kind == p.VAR_KEYWORD:
                has_kwargs = True
            elif p.kind != p.VAR_POSITIONAL and p.name not in names:
                names.append(p.name)
        if not has_kwargs:
            break
    return names


def _plain(value, where):
    """``value`` as msgpack-safe Python data (numbers, str, bool, None, lists, str-key dicts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, where) for k, v in value.items()}
    raise MXNetError(
        f"{where}: value {value!r} of type {type(value).__name__} cannot be "
        "described (expected numbers, strings, bools, None, lists or dicts)"
    )


@register
class FactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` every ``step`` updates, never going below
    ``stop_factor_lr``."""

    _state_attrs = LRScheduler._state_attrs + ("count",)

    def __init__(
        self,
        step,
        factor=1,
        stop_factor_lr=1e-8,
        base_lr=0.01,
        warmup_steps=0,
        warmup_begin_lr=0,
        warmup_mode="linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise ValueError("Schedule step must be greater or equal than 1 round")
        if factor > 1.0:
            raise ValueError("Factor must be no more than 1 to make lr reduce")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        # MXNet's rule: decay once for every full `step` passed since the last decay
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                _LOG.info(
                    "Update[%d]: now learning rate arrived at %0.5e, will not change in the future",
                    num_update,
                    self.base_lr,
                )
            else:
                _LOG.info("Update[%d]: Change learning rate to %0.5e", num_update, self.base_lr)
        return self.base_lr


@register
class MultiFactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` after each update count listed in ``step``."""

    _state_attrs = LRScheduler._state_attrs + ("count", "cur_step_ind")

    def __init__(
        self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, (list, tuple)) or len(step) < 1:
            raise MXNetError(
                f"MultiFactorScheduler: step must be a non-empty list of "
                f"update counts, got {step!r}"
            )
        for i, s in enumerate(step):
            if i != 0 and step[i] <= step[i - 1]:
                raise ValueError("Schedule step must be an increasing integer list")
            if s < 1:
                raise ValueError("Schedule step must be greater or equal than 1 round")
        if factor > 1.0:
            raise ValueError("Factor must be no more than 1 to make lr reduce")
        self.step = list(step)
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind < len(self.step):
            if num_update <= self.step[self.cur_step_ind]:
                break
            self.count = self.step[self.cur_step_ind]
            self.cur_step_ind += 1
            self.base_lr *= self.factor
            _LOG.info("Update[%d]: Change learning rate to %0.5e", num_update, self.base_lr)
        return self.base_lr


@register
class PolyScheduler(LRScheduler):
    """Polynomial decay from ``base_lr`` to ``final_lr`` over ``max_update`` updates:
    ``final_lr + (base_lr - final_lr) * (1 - nup / max_steps) ** pwr``."""

    _arg_attrs = {"pwr": "power"}
    _state_attrs = LRScheduler._state_attrs + ("base_lr_orig",)

    def __init__(
        self,
        max_update,
        base_lr=0.01,
        pwr=2,
        final_lr=0,
        warmup_steps=0,
        warmup_begin_lr=0,
        warmup_mode="linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        _check_max_update(max_update)
        self.power = pwr
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            frac = float(num_update - self.warmup_steps) / float(self.max_steps)
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * pow(
                1 - frac, self.power
            )
        return self.base_lr


@register
class CosineScheduler(LRScheduler):
    """Cosine decay from ``base_lr`` to ``final_lr`` over ``max_update`` updates."""

    _state_attrs = LRScheduler._state_attrs + ("base_lr_orig",)

    def __init__(
        self,
        max_update,
        base_lr=0.01,
        final_lr=0,
        warmup_steps=0,
        warmup_begin_lr=0,
        warmup_mode="linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        _check_max_update(max_update)
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = (
                self.final_lr
                + (self.base_lr_orig - self.final_lr)
                * (1 + cos(pi * (num_update - self.warmup_steps) / self.max_steps))
                / 2
            )
        return self.base_lr


def _check_max_update(max_update):
    if not isinstance(max_update, int) or isinstance(max_update, bool):
        raise MXNetError(f"max_update must be an int, got {max_update!r}")
    if max_update < 1:
        raise ValueError("maximum number of updates must be strictly positive")


def _lookup(name):
    if not isinstance(name, str):
        raise MXNetError(f"learning-rate scheduler name must be a string, got {name!r}")
    key = _SHORT_NAMES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise MXNetError(
            f"unknown learning-rate scheduler {name!r}; registered: "
            f"{sorted(k.__name__ for k in _REGISTRY.values())}"
        )
    return _REGISTRY[key]


def create(name, **kwargs):
    """Make the scheduler registered as ``name`` (class name or ``factor``, ``multifactor``,
    ``poly``, ``cosine``) with constructor arguments ``kwargs``."""
    return _lookup(name)(**kwargs)


def from_description(desc):
    """Rebuild a scheduler from ``describe()``'s ``(name, params)`` (a 2-list after msgpack)."""
    if isinstance(desc, LRScheduler):
        return desc
    if not (isinstance(desc, (list, tuple)) and len(desc) == 2 and isinstance(desc[1], dict)):
        raise MXNetError(f"lr_scheduler description must be a (name, params) pair, got {desc!r}")
    klass = _lookup(desc[0])
    params = dict(desc[1])
    state = params.pop("state", None) or {}
    allowed = set(_ctor_args(klass))
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise MXNetError(
            f"{klass.__name__}: unknown parameters {unknown} in description; "
            f"expected some of {sorted(allowed)}"
        )
    if "warmup_final_lr" in state:
        # construct with the original base_lr so warmup validation sees it, then restore
        params["base_lr"] = state["warmup_final_lr"]
    for key in ("step",):
        if isinstance(params.get(key), tuple):
            params[key] = list(params[key])
    sched = klass(**params)
    for attr, value in state.items():
        if attr not in klass._state_attrs:
            raise MXNetError(
                f"{klass.__name__}: unknown state attribute {attr!r} in "
                f"description; expected some of {list(klass._state_attrs)}"
            )
        setattr(sched, attr, value)
    return sched
