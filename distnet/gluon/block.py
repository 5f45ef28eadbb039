"""Gluon's ``Block`` (imperative layers and containers) and ``HybridBlock`` (layers that
also trace to a Symbol and then run as one cached graph). ``SymbolBlock`` lives in
``symbol_block.py``; tracing and the cached op in ``_hybrid.py``."""

import re
import warnings
from collections import OrderedDict, defaultdict

from ..base import MXNetError
from ..context import current_context
from ..ndarray.ndarray import NDArray
from ._common import (
    GluonAssertionError,
    GluonRuntimeError,
    GluonTypeError,
    GluonValueError,
    indent,
    brief_print_list,
)
from .parameter import Parameter, ParameterDict, DeferredInitializationError
from ._scope import _BlockScope, HookHandle
from . import _hybrid

__all__ = ["Block", "HybridBlock", "SymbolBlock"]


class Block:
    """Base class of all layers and models: holds Parameters and child Blocks.

    Child Blocks and Parameters assigned as attributes are registered automatically.
    Create children inside ``with self.name_scope():`` so that their names carry this
    block's prefix (``sequential0_dense0_``).

    Parameters
    ----------
    prefix : str, optional
        Prefix of this block's name and of its Parameters' names (default: the lower-cased
        class name and a counter, ``dense0_``).
    params : ParameterDict, optional
        Share these Parameters instead of creating new ones.
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(
            f"  ({key}): {indent(repr(block), 2)}"
            for key, block in self.__dict__.items()
            if isinstance(block, Block)
        )
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __setattr__(self, name, value):
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise GluonTypeError(
                    f"Changing attribute type for {name} from "
                    f"{type(existing)} to {type(value)} is not allowed."
                )
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise GluonAssertionError(
                    f"Overriding Parameter attribute {name} is not allowed. If you want to "
                    "share parameters between blocks, please set 'params' at Block "
                    "construction instead."
                )
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(id(c) for c in self._children.values())

        def unregistered(data):
            if isinstance(data, (list, tuple)):
                return any(unregistered(x) for x in data)
            if isinstance(data, dict):
                return any(unregistered(x) for x in data.values())
            return isinstance(data, Block) and id(data) not in children

        for key, value in self.__dict__.items():
            if (
                isinstance(value, (list, tuple, dict))
                and not (key.startswith("__") or key == "_children")
                and unregistered(value)
            ):
                warnings.warn(
                    f'"{self.__class__.__name__}.{key}" is an unregistered container with '
                    "Blocks. Note that Blocks inside the list, tuple or dict will not be "
                    "registered automatically. Make sure to register them using "
                    "register_child() or switching to nn.Sequential/nn.HybridSequential "
                    "instead. ",
                    stacklevel=3,
                )

    def _alias(self):
        return self.__class__.__name__.lower()

    @property
    def prefix(self):
        """Prefix of this block's name and of its Parameters' names."""
        return self._prefix

    @property
    def name(self):
        """Name of this block: the prefix without its trailing '_'."""
        return self._name

    def name_scope(self):
        """Scope in which child blocks get this block's prefix."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (children's Parameters are not included)."""
        return self._params

    def collect_params(self, select=None):
        """A ParameterDict of this block's and all descendants' Parameters.

        ``select`` is a regular expression the names must match from their start
        (``'.*weight|.*bias'``).
        """
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({n: p for n, p in self.params.items() if pattern.match(n)})
        for child in self._children.values():
            ret.update(child.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def save_parameters(self, filename, deduplicate=False):
        """Save Parameters under structural names (``1.weight``: attribute/child path).

        With ``deduplicate`` a shared Parameter is saved once.
        """
        from .. import ndarray

        params = self._collect_params_with_prefix()
        if deduplicate:
            first = {}
            for key, param in params.items():
                first.setdefault(id(param), (key, param))
            params = dict(first.values())
        ndarray.save(filename, {key: param._reduce() for key, param in params.items()})

    def load_parameters(
        self,
        filename,
        ctx=None,
        allow_missing=False,
        ignore_extra=False,
        cast_dtype=False,
        dtype_source="current",
    ):
        """Load Parameters saved by ``save_parameters`` (or, for files without structural
        names, by ``collect_params().save`` / ``save_params``)."""
        from .. import ndarray

        loaded = ndarray.load(filename)
        if not isinstance(loaded, dict):
            raise GluonValueError(
                f"file '{filename}' holds a list of arrays without names; "
                "load_parameters needs a file written by save_parameters"
            )
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in key for key in loaded):
            # A file of full Parameter names (save_params, collect_params().save).
            self.collect_params().load(
                filename,
                ctx,
                allow_missing,
                ignore_extra,
                self.prefix,
                cast_dtype=cast_dtype,
                dtype_source=dtype_source,
            )
            return
        if not allow_missing:
            names_of = defaultdict(list)
            for key, param in params.items():
                names_of[id(param)].append(key)
            for key, param in params.items():
                if not any(k in loaded for k in names_of[id(param)]):
                    raise GluonAssertionError(
                        f"Parameter '{key}' is missing in file '{filename}', which contains "
                        f"parameters: {brief_print_list(loaded.keys())}. Set "
                        "allow_missing=True to ignore missing parameters."
                    )
        for key, value in loaded.items():
            if key not in params:
                if not ignore_extra:
                    raise GluonValueError(
                        f"Parameter '{key}' loaded from file '{filename}' is not present in "
                        f"ParameterDict, which contains parameters "
                        f"{brief_print_list(params.keys())}. Set ignore_extra=True to ignore. "
                    )
                continue
            params[key]._load_init(value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def save_params(self, filename):
        """Deprecated: save with full names (use ``save_parameters``)."""
        warnings.warn(
            "save_params is deprecated. Please use save_parameters. Note that if you "
            "want load from SymbolBlock later, please use export instead. For "
            "details, see https://mxnet.incubator.apache.org/tutorials/gluon/"
            "save_load_params.html"
        )
        try:
            self.collect_params().save(filename, strip_prefix=self.prefix)
        except ValueError as err:
            raise GluonValueError(
                f"{err}\nsave_params is deprecated. Using save_parameters may resolve this error."
            ) from err

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """Deprecated: load a file (use ``load_parameters``)."""
        warnings.warn("load_params is deprecated. Please use load_parameters.")
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def register_child(self, block, name=None):
        """Register ``block`` as a child (attribute assignment does this automatically)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """Call ``hook(block, inputs)`` before each forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(block, inputs, outputs)`` after each forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def register_op_hook(self, callback, monitor_all=False):
        """Install ``callback(node_name, op_name, array)`` on every hybridized descendant:
        it sees each operator output (with ``monitor_all`` also each input) of their
        cached graphs. See ``HybridBlock.register_op_hook``."""
        for child in self._children.values():
            child.register_op_hook(callback, monitor_all)

    def apply(self, fn):
        """Apply ``fn(block)`` to every descendant and then to this block; return self."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialize the Parameters of this block and its descendants
        (``collect_params().initialize(...)``; ``init`` defaults to ``Uniform()``)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the HybridBlock descendants (a plain Block itself stays imperative)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Cast this block's and its descendants' Parameters to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for param in self.params.values():
            param.cast(dtype)

    def __call__(self, *args):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        out = self.forward(*args)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def forward(self, *args):
        """Compute the outputs from NDArray inputs; override in subclasses."""
        raise NotImplementedError

    def summary(self, *inputs):
        """Print each layer's output shape and parameter count for a forward of ``inputs``
        (the block must be initialized and not hybridized)."""
        from ._summary import print_summary

        print_summary(self, inputs)


class HybridBlock(Block):
    """A Block whose ``hybrid_forward(F, x, *args, **params)`` works with ``F`` =
    ``mx.nd`` (NDArrays) and ``F`` = ``mx.sym`` (Symbols).

    After ``hybridize()``, the first call traces the block to a Symbol and later calls run
    that graph on the shared executor, recorded on the autograd tape as one operation.
    Called with Symbols, the block returns a Symbol.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._hybrid_cache = _hybrid.HybridCache()  # traced graph, CachedOp, formats, flags
        self._active = False

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def register_child(self, block, name=None):
        """Register a child; it must be a HybridBlock. Drops the cached graph."""
        if not isinstance(block, HybridBlock):
            raise GluonValueError(
                f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                f"{type(block)}. If you are using Sequential, please try HybridSequential "
                "instead."
            )
        super().register_child(block, name)
        self._clear_cached_op()

    def _clear_cached_op(self):
        self._hybrid_cache.clear()

    def hybridize(
        self,
        active=True,
        backend=None,
        clear=True,
        static_alloc=False,
        static_shape=False,
        inline_limit=2,
        forward_bulk_size=None,
        backward_bulk_size=None,
        **kwargs,
    ):
        """Turn hybrid execution on (or off) for this block and its descendants.

        ``static_alloc``/``static_shape`` are passed to the cached op as flags.
        """
        self._active = active
        self._hybrid_cache.flags = [
            ("static_alloc", static_alloc),
            ("static_shape", static_shape),
            ("inline_limit", inline_limit),
        ]
        if clear:
            self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn(
                f'"{self}" is being hybridized while still having forward '
                f'hook/pre-hook. If "{self}" is a child of HybridBlock, the hooks '
                "will not take effect."
            )
        for child in self._children.values():
            child.hybridize(
                active,
                static_alloc=static_alloc,
                static_shape=static_shape,
                inline_limit=inline_limit,
            )

    def register_op_hook(self, callback, monitor_all=False):
        """Call ``callback(node_name, op_name, array)`` for every operator output of the
        hybridized graph (with ``monitor_all`` first for each operator input too), as
        MXNet's: names are UTF-8 bytes (``b'dense0_fwd_output'``, ``b'FullyConnected'``);
        ``array`` is the NDArray itself (MXNet passed a raw handle). A block that is not
        hybridized runs no graph, so the hook sees nothing until ``hybridize()``."""
        self._hybrid_cache.op_hook = (callback, monitor_all)
        if self._hybrid_cache.op is not None:
            self._hybrid_cache.op.register_op_hook(callback, monitor_all)
        super().register_op_hook(callback, monitor_all)

    def cast(self, dtype):
        """Cast the Parameters to ``dtype`` and drop the cached graph."""
        self._clear_cached_op()
        super().cast(dtype)

    def infer_shape(self, *args):
        """Infer the shapes of the Parameters from the inputs (deferred initialization)."""
        self._hybrid_cache.infer_attrs(self, "infer_shape", "shape", args)

    def infer_type(self, *args):
        """Infer the dtypes of the Parameters from the inputs."""
        self._hybrid_cache.infer_attrs(self, "infer_type", "dtype", args)

    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except Exception as err:
            raise GluonValueError(
                f"Deferred initialization failed because shape cannot be inferred. {err}"
            ) from err

    def _imperative_params(self, ctx, args):
        reg = self._reg_params
        if not reg:
            return {}
        try:
            return {key: param.data(ctx) for key, param in reg.items()}
        except DeferredInitializationError:
            self._deferred_infer_shape(*args)
            for param in self.params.values():
                param._finish_deferred_init()
            return {key: param.data(ctx) for key, param in reg.items()}

    def forward(self, x, *args):
        """Run ``hybrid_forward`` on NDArrays (or the cached graph when hybridized), or
        build a Symbol when called with Symbols."""
        if type(x) is NDArray and not args:  # the common case, checked cheaply
            ctx = x._ctx
        else:
            ctx = _hybrid.input_context(x, args)
        if ctx is not None:
            if self._active:
                return self._hybrid_cache.call(self, (x,) + args)
            params = self._imperative_params(ctx, (x,) + args)
            try:
                current = current_context()
                if current is ctx or current == ctx:  # nested blocks: already entered
                    return self.hybrid_forward(_nd_module(), x, *args, **params)
                with ctx:
                    return self.hybrid_forward(_nd_module(), x, *args, **params)
            except MXNetError as err:
                _name_block(err, self)
                raise
        from .. import symbol

        params = {key: param.var() for key, param in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(symbol, x, *args, **params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """The computation, written once for ``F`` = ``mx.nd`` and ``F`` = ``mx.sym``;
        the block's Parameters come as keyword arguments. Override in subclasses."""
        raise NotImplementedError

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write ``path-symbol.json`` and ``path-%04d.params`` (``arg:``/``aux:`` keys),
        loadable by ``SymbolBlock.imports``, ``mx.mod.Module`` and MXNet itself."""
        if not self._hybrid_cache.graph:
            raise GluonRuntimeError(
                "Please first call block.hybridize() and then run forward with this block at "
                "least once before calling export."
            )
        self._hybrid_cache.export(self, path, epoch)


def _name_block(err, block):
    """Add the innermost block's name to an operator error (once, as it propagates)."""
    if not getattr(err, "_gluon_block", None) and err.args and isinstance(err.args[0], str):
        err.args = (f"{err.args[0]} (in block {block.name})",) + err.args[1:]
        err._gluon_block = block.name


_ND = []


def _nd_module():
    """``distnet.ndarray``, imported once (it is the ``F`` of every imperative call)."""
    if not _ND:
        from .. import ndarray

        _ND.append(ndarray)
    return _ND[0]


def __getattr__(name):
    if name == "SymbolBlock":
        from .symbol_block import SymbolBlock

        return SymbolBlock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
