"""``mx.contrib.amp``: MXNet's automatic mixed precision, which distnet does not implement.

The module exists so that code importing it (``from mxnet.contrib import amp``, MXNet's own
training tests) loads; every AMP function raises an MXNetError saying so. Train in float32,
or keep float16 weights with a float32 master copy through an optimizer's
``multi_precision=True``.
"""

from .amp import (
    convert_bucketing_module,
    convert_hybrid_block,
    convert_model,  # noqa: F401
    convert_symbol,
    init,
    init_trainer,
    list_fp16_ops,
    list_fp32_ops,
    scale_loss,
    unscale,
)
