"""``SymbolBlock``: a HybridBlock built from a Symbol graph, e.g. one exported by
``HybridBlock.export`` or ``Module.save_checkpoint`` (by distnet or by MXNet 1.x)."""

import os

import numpy as np

from ..ndarray.ndarray import NDArray
from ._common import GluonAssertionError
from .block import HybridBlock
from .parameter import ParameterDict
from . import _hybrid

__all__ = ["SymbolBlock"]


def _common_prefix(names):
    if not names:
        return ""
    prefix = names[0]
    for name in names[1:]:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def _param_types(inputs, out, n_args, n_aux):
    """dtypes of the graph's arguments and auxiliary states, float32 where unknown."""
    known = {}
    for var in inputs:
        dtype = var.attr("__dtype__") if hasattr(var, "attr") else None
        if dtype is None:
            known = None
            break
        known[var.name] = _dtype_of_flag(dtype)
    arg_types = aux_types = None
    if known is not None:
        try:
            arg_types, _, aux_types = out.infer_type(**known)
        except Exception:  # a graph whose types cannot be inferred: default below
            arg_types = aux_types = None
    if arg_types is None or len(arg_types) != n_args or any(t is None for t in arg_types):
        arg_types = [np.float32] * n_args
    if aux_types is None or len(aux_types) != n_aux or any(t is None for t in aux_types):
        aux_types = [np.float32] * n_aux
    return arg_types, aux_types


_FLAG_DTYPES = {
    "0": np.float32,
    "1": np.float64,
    "2": np.float16,
    "3": np.uint8,
    "4": np.int32,
    "5": np.int8,
    "6": np.int64,
    "7": np.bool_,
}


def _dtype_of_flag(value):
    return _FLAG_DTYPES.get(str(value), None) or np.dtype(value).type


class SymbolBlock(HybridBlock):
    """A block running a Symbol graph; its arguments other than ``inputs`` become
    Parameters (auxiliary states with ``grad_req='null'``).

    Parameters
    ----------
    outputs : Symbol or list of Symbol
        The graph's outputs.
    inputs : Symbol or list of Symbol
        The variables fed with data.
    params : ParameterDict, optional
        Parameters to share (looked up by name before creating new ones).
    """

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        from ..symbol import Symbol

        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        cache = self._hybrid_cache
        syms, cache.in_format = _hybrid.flatten(inputs, "input")
        outs, cache.out_format = _hybrid.flatten(outputs, "output")
        input_names = set()
        for var in syms:
            if len(var.get_internals().list_outputs()) != 1:
                raise GluonAssertionError(
                    f"Input symbols must be variable, but {var} is an output of operators"
                )
            input_names.add(var.name)
        if len(outs) > 1:
            from ..symbol import Group

            out = Group(outs)
        else:
            out = outs[0]
        arg_names = out.list_arguments()
        aux_names = out.list_auxiliary_states()
        for name, attrs in out.attr_dict().items():  # MXNet: no row_sparse weights here
            if attrs.get("__storage_type__") == "1":  # row_sparse's storage type id
                raise GluonAssertionError(
                    f"SymbolBlock doesn't support Parameter '{name}' because its storage "
                    "type is 'row_sparse'."
                )
        arg_types, aux_types = _param_types(syms, out, len(arg_names), len(aux_names))
        for name, dtype in zip(arg_names, arg_types):
            if name not in input_names:
                self.params.get(name, allow_deferred_init=True, dtype=dtype)
        for name, dtype in zip(aux_names, aux_types):
            if name not in input_names:
                self.params.get(name, grad_req="null", allow_deferred_init=True, dtype=dtype)
        cache.graph = (syms, out)
        strip = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {key[strip:]: val for key, val in self._params.items()}

    @staticmethod
    def imports(
        symbol_file, input_names, param_file=None, ctx=None, allow_missing=False, ignore_extra=False
    ):
        """Load a model saved by ``HybridBlock.export`` or ``Module.save_checkpoint``.

        Parameters
        ----------
        symbol_file : str
            ``prefix-symbol.json``.
        input_names : str or list of str
            Names of the data inputs (``'data'``).
        param_file : str, optional
            ``prefix-0000.params``; parameters keep the dtype they were saved with.
        ctx : Context or list of Context, optional
        """
        from .. import symbol

        sym = symbol.load(os.fspath(symbol_file))
        if isinstance(input_names, str):
            input_names = [input_names]
        if param_file is None:
            inputs = [symbol.var(name, dtype=np.float32) for name in input_names]
        else:
            inputs = [symbol.var(name) for name in input_names]
        block = SymbolBlock(sym, inputs)
        if param_file is not None:
            block.collect_params().load(
                param_file, ctx, allow_missing, ignore_extra, cast_dtype=True, dtype_source="saved"
            )
        return block

    def __repr__(self):
        graph = self._hybrid_cache.graph
        return (
            f"{self.__class__.__name__}(\n{graph[1]} : {len(graph[0])} -> "
            f"{len(graph[1].list_outputs())}\n)"
        )

    def forward(self, x, *args):
        """Run the graph on NDArrays, or compose it with Symbol inputs."""
        if isinstance(x, NDArray):
            with x.context:
                return self._hybrid_cache.call(self, (x,) + args)
        cache = self._hybrid_cache
        flat, fmt = _hybrid.flatten([x] + list(args), "input")
        if fmt != cache.in_format:
            raise GluonAssertionError("Invalid input format")
        inputs, graph = cache.graph
        composed = graph(**{var.name: arg for var, arg in zip(inputs, flat)})
        return _hybrid.regroup(list(composed), cache.out_format)

    def _clear_cached_op(self):
        graph = self._hybrid_cache.graph  # the graph is the block itself: keep it
        super()._clear_cached_op()
        self._hybrid_cache.graph = graph

    def cast(self, dtype):
        """Cast the Parameters; BatchNorm statistics and scales stay float32 under float16."""
        self._clear_cached_op()
        super().cast(dtype)
        if np.dtype(dtype).name != "float16":
            return
        names = self._hybrid_cache.graph[1].get_internals().list_inputs()
        for node in names:
            for stat, mean in (("running_var", "running_mean"), ("moving_var", "moving_mean")):
                if node.endswith(stat):
                    base = node[: -len(stat)]
                    siblings = [base + t for t in (mean, "gamma", "beta")]
                    if all(s in names for s in siblings):
                        for name in [node] + siblings:
                            self.params.get(name).cast("float32")

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Not used: a SymbolBlock runs its graph."""
        raise NotImplementedError

    def reset_ctx(self, ctx):
        """Move all Parameters to ``ctx``."""
        for param in self.collect_params().values():
            param.reset_ctx(ctx)
