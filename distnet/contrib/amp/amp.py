"""MXNet's ``amp`` functions; each raises an MXNetError: distnet has no mixed precision."""

from ...base import MXNetError

__all__ = [
    "init",
    "init_trainer",
    "scale_loss",
    "unscale",
    "convert_model",
    "convert_hybrid_block",
    "convert_symbol",
    "convert_bucketing_module",
    "list_fp16_ops",
    "list_fp32_ops",
]


def _missing(name):
    def refuse(*args, **kwargs):
        raise MXNetError(
            f"mx.contrib.amp.{name}: automatic mixed precision is not "
            "implemented in distnet; train in float32, or use an optimizer "
            "with multi_precision=True for float16 weights"
        )

    refuse.__name__ = name
    refuse.__doc__ = f"MXNet's amp.{name}; raises MXNetError (no AMP in distnet)."
    return refuse


init = _missing("init")
init_trainer = _missing("init_trainer")
scale_loss = _missing("scale_loss")
unscale = _missing("unscale")
convert_model = _missing("convert_model")
convert_hybrid_block = _missing("convert_hybrid_block")
convert_symbol = _missing("convert_symbol")
convert_bucketing_module = _missing("convert_bucketing_module")
list_fp16_ops = _missing("list_fp16_ops")
list_fp32_ops = _missing("list_fp32_ops")
