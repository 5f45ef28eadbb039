"""``mx.init``: parameter initializers, dispatched by parameter name as MXNet does.

``init(InitDesc(name, attrs), arr)`` fills ``arr`` in place: a variable's ``__init__``
attribute (an initializer's ``dumps()`` JSON, a registered name, or an instance) wins;
otherwise names ending in ``weight`` get the initializer's own rule, ``bias``/``beta``/
``min`` get 0, ``gamma``/``max`` get 1. Randomness comes from ``distnet.random``'s
generator, so ``mx.random.seed`` makes it reproducible.
"""

import json
import logging
import re
import warnings
from math import sqrt

import numpy as np

from .base import MXNetError
from . import registry as _registry

_LOG = logging.getLogger(__name__)  # named: the root logger is the user's to configure

__all__ = [
    "InitDesc",
    "Initializer",
    "register",
    "alias",
    "create",
    "Load",
    "Mixed",
    "Zero",
    "One",
    "Constant",
    "Uniform",
    "Normal",
    "Orthogonal",
    "Xavier",
    "MSRAPrelu",
    "Bilinear",
    "LSTMBias",
]

_REGISTRY = {}


class InitDesc(str):
    """A parameter name (a ``str``) with its variable ``attrs`` and the ``global_init``
    that is initializing the whole model."""

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


def _assign(arr, value):
    """Write ``value`` (scalar or array) into ``arr`` (NDArray or numpy array) in place."""
    if hasattr(arr, "_data"):
        arr[:] = value
    else:
        arr[...] = value


def _xp_of(arr):
    ctx = getattr(arr, "context", None)
    return ctx.xp if ctx is not None else np


def _random(arr, kind, a, b):
    """Samples shaped like ``arr`` on its device: uniform in [a, b) or normal(a, b)."""
    from .random import generator

    xp = _xp_of(arr)
    gen = generator(xp)
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    if xp is np:
        if kind == "uniform":
            vals = gen.random(arr.shape, dtype=dtype)
            vals *= b - a
            vals += a
        else:
            vals = gen.standard_normal(arr.shape, dtype=dtype)
            vals *= b
            vals += a
        return vals
    draw = gen.uniform if kind == "uniform" else gen.normal
    return draw(a, b, arr.shape, dtype=dtype)


class Initializer:
    """Base class: subclasses implement ``_init_weight(name, arr)``; keyword arguments
    given to ``__init__`` are what ``dumps()`` records."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Log ``Initialized <name> as <init>: <stat>`` for every array when ``verbose``."""
        self._verbose = verbose
        if print_func is None:

            def print_func(x):
                data = np.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x, np.float64)
                return str(np.linalg.norm(data) / sqrt(max(data.size, 1)))

        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            _LOG.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self):
        """JSON ``[name, kwargs]``, the form a variable's ``__init__`` attribute holds."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        """Initialize ``arr`` for parameter ``desc`` (an InitDesc, or a name: legacy)."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        for suffix, method in _NAME_RULES:
            if desc.endswith(suffix):
                getattr(self, method)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _legacy_init(self, name, arr):
        """MXNet's deprecated ``init(name, arr)`` rules, name prefixes included."""
        warnings.warn(
            "Calling initializer with init(str, NDArray) has been deprecated."
            "please use init(mx.init.InitDesc(...), NDArray) instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        if not isinstance(name, str):
            raise TypeError("name must be string")
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        else:
            for suffix, method in _LEGACY_RULES:
                if name.endswith(suffix):
                    getattr(self, method)(name, arr)
                    return
            self._init_default(name, arr)

    def _init_bilinear(self, _, arr):
        _assign(arr, _bilinear(arr.shape))

    def _init_loc_bias(self, _, arr):
        if arr.shape[0] != 6:
            raise MXNetError(f"stn_loc bias must have 6 elements, got shape {arr.shape}")
        _assign(arr, np.array([1.0, 0, 0, 0, 1.0, 0]))

    def _init_zero(self, _, arr):
        _assign(arr, 0.0)

    def _init_one(self, _, arr):
        _assign(arr, 1.0)

    _init_bias = _init_zero
    _init_beta = _init_zero
    _init_gamma = _init_one

    def _init_quantized_bias(self, _, arr):
        _assign(arr, 0)

    def _init_quantized_weight(self, _, arr):
        from .random import generator

        _assign(arr, generator(np).integers(-127, 127, arr.shape).astype(np.int8))

    def _init_weight(self, name, arr):
        raise NotImplementedError("Must override it")

    def _init_default(self, name, _):
        raise ValueError(
            f"Unknown initialization pattern for {name}. Default initialization is now "
            'limited to "weight", "bias", "gamma" (1.0), and "beta" (0.0).Please use '
            "mx.sym.Variable(init=mx.init.*) to set initialization pattern"
        )

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    __hash__ = None


# (suffix, method) in MXNet's order. Beyond MXNet, BatchNorm's moving statistics get 0/1
# even without an __init__ attribute (MXNet raised "Unknown initialization pattern").
_NAME_RULES = (
    ("weight", "_init_weight"),
    ("bias", "_init_bias"),
    ("gamma", "_init_gamma"),
    ("beta", "_init_beta"),
    ("min", "_init_zero"),
    ("max", "_init_one"),
    ("weight_quantize", "_init_quantized_weight"),
    ("bias_quantize", "_init_quantized_bias"),
    ("moving_mean", "_init_zero"),
    ("moving_var", "_init_one"),
    ("moving_inv_var", "_init_zero"),
    ("moving_avg", "_init_zero"),
    ("running_mean", "_init_zero"),
    ("running_var", "_init_one"),
)
_LEGACY_RULES = (
    ("bias", "_init_bias"),
    ("gamma", "_init_gamma"),
    ("beta", "_init_beta"),
    ("weight", "_init_weight"),
    ("moving_mean", "_init_zero"),
    ("moving_var", "_init_one"),
    ("moving_inv_var", "_init_zero"),
    ("moving_avg", "_init_zero"),
    ("min", "_init_zero"),
    ("max", "_init_one"),
)


def _bilinear(shape):
    """The bilinear upsampling kernel of a 4-d ``shape`` (vectorised MXNet formula)."""
    if len(shape) != 4:
        raise MXNetError(f"Bilinear initializer needs a 4-d weight, got shape {shape}")
    f = np.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    x = np.arange(shape[3])
    y = np.arange(shape[2])
    kernel = np.outer(1 - np.abs(y / f - c), 1 - np.abs(x / f - c)).astype(np.float32)
    return np.broadcast_to(kernel, shape)


register = _registry.register_func(Initializer, "initializer", _REGISTRY)
alias = _registry.alias_func(register)


def create(*args, **kwargs):
    """An initializer from an instance, a registered name, a ``dumps()`` JSON string or
    a dict ``{'initializer': name, ...}`` (MXNet's registry ``create``)."""
    if args:
        name, args = args[0], args[1:]
    elif "initializer" in kwargs:
        name = kwargs.pop("initializer")
    else:
        raise MXNetError("create needs an initializer name, instance or JSON string")
    if isinstance(name, Initializer):
        if args or kwargs:
            raise MXNetError("initializer is already an instance. Additional arguments are invalid")
        return name
    if isinstance(name, dict):
        return create(**name)
    if not isinstance(name, str):
        raise MXNetError(f"initializer must be of string type, got {type(name).__name__}")
    if name.startswith("["):
        name, kwargs = json.loads(name)
        return create(name, **kwargs)
    if name.startswith("{"):
        return create(**json.loads(name))
    klass = _REGISTRY.get(name.lower())
    if klass is None:
        raise MXNetError(
            f"{name.lower()} is not registered. Please register with "
            f"initializer.register first (registered: {sorted(_REGISTRY)})"
        )
    return klass(*args, **kwargs)


class Load:
    """Initialize from saved arrays (a ``.params`` file name or a dict), stripping
    ``arg:``/``aux:`` prefixes; names not found go to ``default_init``."""

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            from .ndarray import load

            param = load(param)
        if not isinstance(param, dict):
            raise MXNetError("Load needs a dict of arrays or a .params file holding one")
        self.param = {}
        for name, arr in param.items():
            self.param[name[4:] if name.startswith(("arg:", "aux:")) else name] = arr
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(arr.shape) != tuple(src.shape):
                raise MXNetError(
                    f"Parameter {name} cannot be initialized from loading. Shape "
                    f"mismatch, target {arr.shape} vs loaded {src.shape}"
                )
            _assign(arr, src)
            if self.verbose:
                _LOG.info("Initialized %s by loading", name)
            return
        if self.default_init is None:
            raise MXNetError(
                f"Cannot Initialize {name}. Not found in loaded param and no "
                "default Initializer is provided."
            )
        self.default_init(name, arr)
        if self.verbose:
            _LOG.info("Initialized %s by default", name)


class Mixed:
    """Initialize each parameter with the first initializer whose regex pattern matches
    its name (``re.match``)."""

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise MXNetError(
                f"Mixed: {len(patterns)} patterns but {len(initializers)} initializers"
            )
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(
            f"Parameter name {name} did not match any pattern. Consider add a "
            '".*" pattern at the and with default Initializer.'
        )


@register
@alias("zeros")
class Zero(Initializer):
    """Fill with 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 0)


@register
@alias("ones")
class One(Initializer):
    """Fill with 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 1)


@register
class Constant(Initializer):
    """Fill with ``value`` (a scalar or an array broadcast to the parameter)."""

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        value = self.value
        _assign(arr, value.asnumpy() if hasattr(value, "asnumpy") else value)

    def dumps(self):
        val = self._kwargs["value"]
        if not np.isscalar(val):
            val = val.asnumpy() if hasattr(val, "asnumpy") else np.asarray(val)
            self._kwargs["value"] = val.tolist()
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])


@register
class Uniform(Initializer):
    """Uniform samples in ``[-scale, scale)``."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _assign(arr, _random(arr, "uniform", -self.scale, self.scale))


@register
class Normal(Initializer):
    """Normal samples with mean 0 and standard deviation ``sigma``."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _assign(arr, _random(arr, "normal", 0.0, self.sigma))


@register
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``scale``, from the SVD of uniform (``rand_type
    ='uniform'``) or normal samples (Saxe et al., https://arxiv.org/abs/1312.6120)."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        from .random import generator

        nout = arr.shape[0]
        nin = int(np.prod(arr.shape[1:]))
        gen = generator(np)
        if self.rand_type == "uniform":
            tmp = gen.uniform(-1.0, 1.0, (nout, nin))
        elif self.rand_type == "normal":
            tmp = gen.normal(0.0, 1.0, (nout, nin))
        else:
            raise MXNetError(
                f"Orthogonal: rand_type must be 'uniform' or 'normal', got {self.rand_type!r}"
            )
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        _assign(arr, (self.scale * res.reshape(arr.shape)).astype(np.float32))


@register
class Xavier(Initializer):
    """Xavier/Glorot: samples with variance ``magnitude / factor``, where ``factor`` is
    the average (``'avg'``), fan-in (``'in'``) or fan-out (``'out'``); uniform in
    ``[-sqrt(magnitude/factor), +...]`` or gaussian with that standard deviation."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError(
                f"Xavier initializer cannot be applied to vector {name}. It requires at least 2D."
            )
        hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        factors = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}
        if self.factor_type not in factors:
            raise ValueError("Incorrect factor type")
        scale = sqrt(self.magnitude / factors[self.factor_type])
        if self.rnd_type == "uniform":
            _assign(arr, _random(arr, "uniform", -scale, scale))
        elif self.rnd_type == "gaussian":
            _assign(arr, _random(arr, "normal", 0.0, scale))
        else:
            raise ValueError("Unknown random type")


@register
class MSRAPrelu(Xavier):
    """He/MSRA initialization for PReLU nets: gaussian Xavier with magnitude
    ``2 / (1 + slope**2)``."""

    def __init__(self, factor_type="avg", slope=0.25):
        magnitude = 2.0 / (1 + slope**2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear upsampling kernels (for Deconvolution weights)."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, _bilinear(arr.shape))


@register
class LSTMBias(Initializer):
    """Zero biases except the forget gate's quarter (``forget_bias``), in MXNet's
    i, f, c, o gate order."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        num_hidden = int(arr.shape[0] / 4)
        value = np.zeros(arr.shape, np.float32)
        value[num_hidden : 2 * num_hidden] = self.forget_bias
        _assign(arr, value)
