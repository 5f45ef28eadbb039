"""Convolution, transposed convolution, pooling and padding layers."""

import inspect

from ...base import numeric_types
from .._common import GluonAssertionError
from ..block import HybridBlock
from .activations import Activation

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "ReflectionPad2D",
]


def _tuple(value, n, what):
    if isinstance(value, numeric_types):
        return (int(value),) * n
    value = tuple(value)
    if len(value) != n:
        raise GluonAssertionError(f"{what} must be a number or a list of {n} ints, got {value}")
    return value


def _check_layout(layout, allowed, what):
    if layout not in allowed:
        raise GluonAssertionError(
            f"Only supports {' and '.join(map(repr, allowed))} layout "
            f"for {what} now, got {layout!r}"
        )


def _weight_shape(op_name, layout, channels, in_channels, groups, kernel):
    """Weight shape as MXNet infers it (0 where in_channels is still unknown)."""
    channel_last = layout.find("C") == len(layout) - 1
    if op_name == "Convolution":
        outer, inner = channels, in_channels // groups
    else:  # Deconvolution: (in_channels, channels / groups, *kernel)
        outer, inner = in_channels, channels // groups
    if channel_last:
        return (outer,) + tuple(kernel) + (inner,)
    return (outer, inner) + tuple(kernel)


class _Conv(HybridBlock):
    """Shared body of the convolution layers (weight ``(out, in/groups, *kernel)``)."""

    def __init__(
        self,
        channels,
        kernel_size,
        strides,
        padding,
        dilation,
        groups,
        layout,
        in_channels=0,
        activation=None,
        use_bias=True,
        weight_initializer=None,
        bias_initializer="zeros",
        op_name="Convolution",
        adj=None,
        prefix=None,
        params=None,
    ):
        super().__init__(prefix=prefix, params=params)
        ndim = len(kernel_size)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            self._op_name = op_name
            self._kwargs = {
                "kernel": kernel_size,
                "stride": _tuple(strides, ndim, "strides"),
                "dilate": _tuple(dilation, ndim, "dilation"),
                "pad": _tuple(padding, ndim, "padding"),
                "num_filter": channels,
                "num_group": groups,
                "no_bias": not use_bias,
                "layout": layout,
            }
            if adj is not None:
                self._kwargs["adj"] = adj
            wshape = _weight_shape(op_name, layout, channels, in_channels, groups, kernel_size)
            self.weight = self.params.get(
                "weight", shape=wshape, init=weight_initializer, allow_deferred_init=True
            )
            if use_bias:
                self.bias = self.params.get(
                    "bias", shape=(channels,), init=bias_initializer, allow_deferred_init=True
                )
            else:
                self.bias = None
            self.act = (
                Activation(activation, prefix=activation + "_") if activation is not None else None
            )

    def hybrid_forward(self, F, x, weight, bias=None):
        """The convolution (named ``fwd``) then the activation."""
        op = getattr(F, self._op_name)
        if bias is None:
            out = op(x, weight, name="fwd", **self._kwargs)
        else:
            out = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            out = self.act(out)
        return out

    def _alias(self):
        return "conv"

    def __repr__(self):
        kw = self._kwargs
        n = len(kw["kernel"])
        s = (
            f"{self.__class__.__name__}({{mapping}}, kernel_size={kw['kernel']}, "
            f"stride={kw['stride']}"
        )
        if kw["pad"] != (0,) * n:
            s += f", padding={kw['pad']}"
        if kw["dilate"] != (1,) * n:
            s += f", dilation={kw['dilate']}"
        if kw["num_group"] != 1:
            s += f", groups={kw['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        shape = self.weight.shape
        return s.format(mapping=f"{shape[1] if shape[1] else None} -> {shape[0]}") + ")"


_REQUIRED = inspect.Parameter.empty


def _make_init(params, body):
    """An ``__init__(self, <params in this order>, **kwargs)`` calling
    ``body(self, kwargs, **values)``, so positional calls follow MXNet's signature."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    sig = inspect.Signature(
        [inspect.Parameter("self", kind)]
        + [inspect.Parameter(n, kind, default=d) for n, d in params]
        + [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
    )

    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        del values["self"]
        extra = values.pop("kwargs")
        body(self, extra, **values)

    __init__.__signature__ = sig
    return __init__


def _conv_class(name, ndim, layouts, transpose):
    """Define Conv{n}D / Conv{n}DTranspose with MXNet's signature and defaults."""
    op_name = "Deconvolution" if transpose else "Convolution"
    params = [("channels", _REQUIRED), ("kernel_size", _REQUIRED), ("strides", 1), ("padding", 0)]
    params += [("output_padding", 0)] if transpose else []
    params += [
        ("dilation", 1),
        ("groups", 1),
        ("layout", layouts[0]),
        ("activation", None),
        ("use_bias", True),
        ("weight_initializer", None),
        ("bias_initializer", "zeros"),
        ("in_channels", 0),
    ]

    def body(
        self,
        extra,
        channels,
        kernel_size,
        strides,
        padding,
        dilation,
        groups,
        layout,
        activation,
        use_bias,
        weight_initializer,
        bias_initializer,
        in_channels,
        output_padding=None,
    ):
        _check_layout(layout, layouts, name)
        kernel_size = _tuple(kernel_size, ndim, "kernel_size")
        adj = _tuple(output_padding, ndim, "output_padding") if transpose else None
        _Conv.__init__(
            self,
            channels,
            kernel_size,
            strides,
            padding,
            dilation,
            groups,
            layout,
            in_channels,
            activation,
            use_bias,
            weight_initializer,
            bias_initializer,
            extra.pop("op_name", op_name),
            adj,
            **extra,
        )
        if transpose:
            self.outpad = adj

    doc = (
        f"{ndim}-D {'transposed ' if transpose else ''}convolution (``{op_name}``), "
        f"layout {layouts[0]}.\n\n    Parameters: "
        + ", ".join(n for n, _ in params)
        + " (in_channels 0 = deferred)."
    )
    return type(
        name,
        (_Conv,),
        {"__init__": _make_init(params, body), "__doc__": doc, "__module__": __name__},
    )


Conv1D = _conv_class("Conv1D", 1, ("NCW",), False)
Conv2D = _conv_class("Conv2D", 2, ("NCHW", "NHWC"), False)
Conv3D = _conv_class("Conv3D", 3, ("NCDHW", "NDHWC"), False)
Conv1DTranspose = _conv_class("Conv1DTranspose", 1, ("NCW",), True)
Conv2DTranspose = _conv_class("Conv2DTranspose", 2, ("NCHW", "NHWC"), True)
Conv3DTranspose = _conv_class("Conv3DTranspose", 3, ("NCDHW", "NDHWC"), True)


class _Pooling(HybridBlock):
    """Shared body of the pooling layers (``Pooling`` operator, named ``fwd``)."""

    def __init__(
        self,
        pool_size,
        strides,
        padding,
        ceil_mode,
        global_pool,
        pool_type,
        layout,
        count_include_pad=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n = len(pool_size)
        strides = pool_size if strides is None else _tuple(strides, n, "strides")
        self._kwargs = {
            "kernel": pool_size,
            "stride": strides,
            "pad": _tuple(padding, n, "padding"),
            "global_pool": global_pool,
            "pool_type": pool_type,
            "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid",
        }
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        """``Pooling``."""
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self):
        kw = self._kwargs
        return (
            f"{self.__class__.__name__}(size={kw['kernel']}, stride={kw['stride']}, "
            f"padding={kw['pad']}, ceil_mode={kw['pooling_convention'] == 'full'}, "
            f"global_pool={kw['global_pool']}, pool_type={kw['pool_type']}, "
            f"layout={kw['layout']})"
        )


_POOL_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


# MXNet's positional order differs between the pooling classes; keep it.
_POOL_ORDER = {
    ("max", 1): ("layout", "ceil_mode"),
    ("max", 2): ("layout", "ceil_mode"),
    ("max", 3): ("ceil_mode", "layout"),
    ("avg", 1): ("layout", "ceil_mode"),
    ("avg", 2): ("ceil_mode", "layout"),
    ("avg", 3): ("ceil_mode", "layout"),
}


def _pool_class(name, ndim, pool_type, is_global):
    layouts = _POOL_LAYOUTS[ndim]
    if is_global:
        params = [("layout", layouts[0])]

        def body(self, extra, layout):
            _check_layout(layout, layouts, f"{ndim}D Pooling")
            _Pooling.__init__(self, (1,) * ndim, None, 0, True, True, pool_type, layout, **extra)

        doc = f"Global {pool_type} pooling over all {ndim} spatial axes (output size 1)."
    else:
        defaults = {"layout": layouts[0], "ceil_mode": False}
        params = [("pool_size", 2), ("strides", None), ("padding", 0)]
        params += [(n, defaults[n]) for n in _POOL_ORDER[(pool_type, ndim)]]
        params += [("count_include_pad", True)] if pool_type == "avg" else []

        def body(
            self, extra, pool_size, strides, padding, layout, ceil_mode, count_include_pad=None
        ):
            _check_layout(layout, layouts, f"{ndim}D Pooling")
            _Pooling.__init__(
                self,
                _tuple(pool_size, ndim, "pool_size"),
                strides,
                padding,
                ceil_mode,
                False,
                pool_type,
                layout,
                count_include_pad,
                **extra,
            )

        doc = (
            f"{ndim}-D {pool_type} pooling. Parameters: "
            + ", ".join(n for n, _ in params)
            + " (strides default to pool_size)."
        )
    return type(
        name,
        (_Pooling,),
        {"__init__": _make_init(params, body), "__doc__": doc, "__module__": __name__},
    )


MaxPool1D = _pool_class("MaxPool1D", 1, "max", False)
MaxPool2D = _pool_class("MaxPool2D", 2, "max", False)
MaxPool3D = _pool_class("MaxPool3D", 3, "max", False)
AvgPool1D = _pool_class("AvgPool1D", 1, "avg", False)
AvgPool2D = _pool_class("AvgPool2D", 2, "avg", False)
AvgPool3D = _pool_class("AvgPool3D", 3, "avg", False)
GlobalMaxPool1D = _pool_class("GlobalMaxPool1D", 1, "max", True)
GlobalMaxPool2D = _pool_class("GlobalMaxPool2D", 2, "max", True)
GlobalMaxPool3D = _pool_class("GlobalMaxPool3D", 3, "max", True)
GlobalAvgPool1D = _pool_class("GlobalAvgPool1D", 1, "avg", True)
GlobalAvgPool2D = _pool_class("GlobalAvgPool2D", 2, "avg", True)
GlobalAvgPool3D = _pool_class("GlobalAvgPool3D", 3, "avg", True)


class ReflectionPad2D(HybridBlock):
    """Pad the two spatial axes of an NCHW input by reflection.

    Parameters
    ----------
    padding : int or tuple of 8 ints
        An int pads H and W by that amount on both sides.
    """

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, numeric_types):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        if len(padding) != 8:
            raise GluonAssertionError(
                f"ReflectionPad2D padding must be an int or 8 ints, got {padding}"
            )
        self._padding = tuple(padding)

    def hybrid_forward(self, F, x):
        """``pad`` with ``mode='reflect'``."""
        return F.pad(x, mode="reflect", pad_width=self._padding)
