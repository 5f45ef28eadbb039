"""``Block.summary``: a table of every layer's output shape and parameter count, printed
in MXNet's layout."""

from collections import OrderedDict

from ..ndarray.ndarray import NDArray
from ._common import GluonAssertionError

__all__ = ["print_summary"]

_LINE = "{:>20}  {:>42} {:>15}"


def _shape_str(args):
    """Shapes of (nested) outputs as MXNet prints them: ``(1, 4)`` or ``(1, 4), (1, 2)``."""

    def shapes(x):
        if isinstance(x, (list, tuple)):
            return [shapes(i) for i in x]
        return x.shape if isinstance(x, NDArray) else x

    result = shapes(args)
    return str(result)[1:-1] if isinstance(result, list) else str(result)


def _register(block, summary, seen, hooks):
    from .block import HybridBlock
    from .nn.basic_layers import Sequential, HybridSequential

    if isinstance(block, HybridBlock) and block._active:
        raise GluonAssertionError(f'"{block.name}" must not be hybridized to print summary.')

    def hook(blk, _, outputs):
        key = f"{blk.__class__.__name__}-{len(summary)}"
        entry = summary[key] = OrderedDict(
            output_shape=_shape_str(outputs), n_params=0, trainable=0, shared=0
        )
        for param in blk.params.values():
            size = param.data().size
            entry["n_params"] += size
            entry["trainable"] += 0 if param.grad_req == "null" else size
            if id(param) in seen:
                entry["shared"] += size
            else:
                seen.add(id(param))

    if not isinstance(block, (Sequential, HybridSequential)):
        hooks.append(block.register_forward_hook(hook))


def print_summary(block, inputs):
    """Run ``block(*inputs)`` with hooks on every layer and print the table."""
    summary = OrderedDict()
    summary["Input"] = OrderedDict(
        output_shape=_shape_str(inputs), n_params=0, trainable=0, shared=0
    )
    seen, hooks = set(), []
    try:
        block.apply(lambda blk: _register(blk, summary, seen, hooks))
        block(*inputs)
        print("-" * 80)
        print(_LINE.format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 80)
        total = trainable = shared = 0
        for layer, entry in summary.items():
            print(_LINE.format(layer, str(entry["output_shape"]), entry["n_params"]))
            total += entry["n_params"]
            trainable += entry["trainable"]
            shared += entry["shared"]
        print("=" * 80)
        print("Parameters in forward computation graph, duplicate included")
        print("   Total params: " + str(total))
        print("   Trainable params: " + str(trainable))
        print("   Non-trainable params: " + str(total - trainable))
        print("Shared params in forward computation graph: " + str(shared))
        print("Unique parameters in model: " + str(total - shared))
        print("-" * 80)
    finally:
        for handle in hooks:
            handle.detach()
