"""Basic Gluon layers: containers, Dense, Dropout, normalization, Embedding, Flatten,
Lambda/HybridLambda. Each ``hybrid_forward`` calls the registry's operators through ``F``
(``mx.nd`` imperatively, ``mx.sym`` when traced)."""

import warnings

import numpy as np

from .._common import GluonAssertionError, GluonValueError, indent
from ..block import Block, HybridBlock
from .activations import Activation

__all__ = [
    "Sequential",
    "HybridSequential",
    "Dense",
    "Dropout",
    "Embedding",
    "BatchNorm",
    "InstanceNorm",
    "LayerNorm",
    "GroupNorm",
    "Flatten",
    "Lambda",
    "HybridLambda",
]


class _SequentialMixin:
    """add / indexing / slicing / len / repr shared by Sequential and HybridSequential."""

    def add(self, *blocks):
        """Append blocks, in order."""
        for block in blocks:
            self.register_child(block)

    def __repr__(self):
        modstr = "\n".join(
            f"  ({key}): {indent(repr(block), 2)}" for key, block in self._children.items()
        )
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if not isinstance(layers, list):
            return layers
        net = type(self)(prefix=self._prefix)
        with net.name_scope():
            net.add(*layers)
        return net

    def __len__(self):
        return len(self._children)


class Sequential(_SequentialMixin, Block):
    """Stack of Blocks applied one after the other."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x):
        """Apply the children in order."""
        for block in self._children.values():
            x = block(x)
        return x

    def hybridize(self, active=True, **kwargs):
        """Hybridize the children (warns that HybridSequential would be faster when all
        children are HybridBlocks)."""
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(
                f"All children of this Sequential layer '{self.prefix}' are "
                "HybridBlocks. Consider using HybridSequential for the best "
                "performance.",
                stacklevel=2,
            )
        super().hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Stack of HybridBlocks applied one after the other; hybridizable as a whole."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        """Apply the children in order."""
        for block in self._children.values():
            x = block(x)
        return x


class Dense(HybridBlock):
    """Fully connected layer: ``activation(dot(x, weight.T) + bias)``.

    Parameters
    ----------
    units : int
        Output size.
    activation : str, optional
        Activation applied to the output (see ``Activation``).
    use_bias : bool, default True
    flatten : bool, default True
        Collapse all but the first axis of the input (else apply to the last axis).
    dtype : str, default 'float32'
    weight_initializer, bias_initializer : Initializer or str
    in_units : int, default 0
        Input size; 0 defers it to the first forward.
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        flatten=True,
        dtype="float32",
        weight_initializer=None,
        bias_initializer="zeros",
        in_units=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get(
                "weight",
                shape=(units, in_units),
                init=weight_initializer,
                dtype=dtype,
                allow_deferred_init=True,
            )
            if use_bias:
                self.bias = self.params.get(
                    "bias",
                    shape=(units,),
                    init=bias_initializer,
                    dtype=dtype,
                    allow_deferred_init=True,
                )
            else:
                self.bias = None
            self.act = (
                Activation(activation, prefix=activation + "_") if activation is not None else None
            )

    def hybrid_forward(self, F, x, weight, bias=None):
        """``FullyConnected`` (named ``fwd``) then the activation."""
        if bias is None:
            out = F.FullyConnected(
                x, weight, no_bias=True, num_hidden=self._units, flatten=self._flatten, name="fwd"
            )
        else:
            out = F.FullyConnected(
                x,
                weight,
                bias,
                no_bias=False,
                num_hidden=self._units,
                flatten=self._flatten,
                name="fwd",
            )
        if self.act is not None:
            out = self.act(out)
        return out

    def __repr__(self):
        shape = self.weight.shape
        act = self.act if self.act else "linear"
        return f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> {shape[0]}, {act})"


class Dropout(HybridBlock):
    """Randomly zero a fraction ``rate`` of the inputs in training (scaled by
    ``1/(1-rate)``); the identity in inference. ``axes`` share the mask."""

    def __init__(self, rate, axes=(), **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise GluonValueError(f"Dropout rate must be in [0, 1], got {rate}")
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        """``Dropout`` in training, a copy otherwise."""
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return f"{self.__class__.__name__}(p = {self._rate}, axes={self._axes})"


class _NormBase(HybridBlock):
    """gamma/beta parameters and MXNet's ``Name(key=value, ..., in_channels=N)`` repr."""

    _none_if_unknown = False

    def _gamma_beta(
        self, center, scale, in_channels, beta_init, gamma_init, tie_differentiable=False
    ):
        # BatchNorm makes an unused gamma/beta non-differentiable; the others do not.
        g_extra = {"differentiable": scale} if tie_differentiable else {}
        b_extra = {"differentiable": center} if tie_differentiable else {}
        self.gamma = self.params.get(
            "gamma",
            grad_req="write" if scale else "null",
            shape=(in_channels,),
            init=gamma_init,
            allow_deferred_init=True,
            **g_extra,
        )
        self.beta = self.params.get(
            "beta",
            grad_req="write" if center else "null",
            shape=(in_channels,),
            init=beta_init,
            allow_deferred_init=True,
            **b_extra,
        )

    def __repr__(self):
        content = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        channels = self.gamma.shape[0]
        if self._none_if_unknown and not channels:
            channels = None
        return f"{self.__class__.__name__}({content}, in_channels={channels})"


class BatchNorm(_NormBase):
    """Batch normalization over axis ``axis`` with running statistics
    (``running = momentum * running + (1 - momentum) * batch``).

    Parameters
    ----------
    axis : int, default 1
    momentum : float, default 0.9
    epsilon : float, default 1e-5
    center, scale : bool, default True
        Use beta / gamma (``scale=False`` fixes gamma at 1).
    use_global_stats : bool, default False
        Normalize with the running statistics also in training.
    in_channels : int, default 0
        Channels; 0 defers to the first forward.
    """

    _none_if_unknown = True

    def __init__(
        self,
        axis=1,
        momentum=0.9,
        epsilon=1e-5,
        center=True,
        scale=True,
        use_global_stats=False,
        beta_initializer="zeros",
        gamma_initializer="ones",
        running_mean_initializer="zeros",
        running_variance_initializer="ones",
        in_channels=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._kwargs = {
            "axis": axis,
            "eps": epsilon,
            "momentum": momentum,
            "fix_gamma": not scale,
            "use_global_stats": use_global_stats,
        }
        if in_channels != 0:
            self.in_channels = in_channels
        self._gamma_beta(
            center, scale, in_channels, beta_initializer, gamma_initializer, tie_differentiable=True
        )
        self.running_mean = self.params.get(
            "running_mean",
            grad_req="null",
            shape=(in_channels,),
            init=running_mean_initializer,
            allow_deferred_init=True,
            differentiable=False,
        )
        self.running_var = self.params.get(
            "running_var",
            grad_req="null",
            shape=(in_channels,),
            init=running_variance_initializer,
            allow_deferred_init=True,
            differentiable=False,
        )

    def cast(self, dtype):
        """Cast; float16 keeps float32 statistics (as MXNet)."""
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        """``BatchNorm`` (named ``fwd``); updates the running statistics in training."""
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)


class InstanceNorm(_NormBase):
    """Instance normalization: normalize each sample and channel over the remaining axes.

    Parameters
    ----------
    axis : int, default 1
        The channel axis.
    epsilon : float, default 1e-5
    center : bool, default True
    scale : bool, default False
    in_channels : int, default 0
    """

    def __init__(
        self,
        axis=1,
        epsilon=1e-5,
        center=True,
        scale=False,
        beta_initializer="zeros",
        gamma_initializer="ones",
        in_channels=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._gamma_beta(center, scale, in_channels, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, x, gamma, beta):
        """``InstanceNorm`` (channels moved to axis 1 when ``axis`` differs)."""
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = F.swapaxes(x, 1, self._axis)
        out = F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        return F.swapaxes(out, 1, self._axis)


class LayerNorm(_NormBase):
    """Layer normalization over axis ``axis`` (default the last).

    Parameters
    ----------
    axis : int, default -1
    epsilon : float, default 1e-5
    center, scale : bool, default True
    in_channels : int, default 0
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-5,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        in_channels=0,
        prefix=None,
        params=None,
    ):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._gamma_beta(center, scale, in_channels, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        """``LayerNorm`` over ``axis``."""
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)


class GroupNorm(_NormBase):
    """Group normalization (Wu & He, 2018): split the channels (axis 1) of each sample into
    ``num_groups`` groups and normalize each group over its channels and spatial axes.

    ``gamma`` and ``beta`` hold one value per group, shape ``(num_groups,)``, as in MXNet
    1.9.1; ``center=False``/``scale=False`` only freeze them (``grad_req='null'``).

    Parameters
    ----------
    num_groups : int, default 1
        Number of groups; the channel count must be a multiple of it.
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center, scale : bool, default True
        Whether ``beta`` / ``gamma`` are learned.
    beta_initializer, gamma_initializer : str or Initializer, default 'zeros' / 'ones'
    """

    def __init__(
        self,
        num_groups=1,
        epsilon=1e-5,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        prefix=None,
        params=None,
    ):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center, "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._gamma_beta(center, scale, num_groups, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        """``GroupNorm`` with this block's groups and epsilon."""
        return F.GroupNorm(
            data, gamma=gamma, beta=beta, num_groups=self._num_groups, eps=self._epsilon
        )

    def __repr__(self):
        content = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{self.__class__.__name__}({content})"


class Embedding(HybridBlock):
    """Map integer indices to dense vectors of size ``output_dim``.

    Parameters
    ----------
    input_dim : int
        Vocabulary size.
    output_dim : int
        Embedding size.
    dtype : str, default 'float32'
    weight_initializer : Initializer, optional
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        dtype="float32",
        weight_initializer=None,
        sparse_grad=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._kwargs = {
            "input_dim": input_dim,
            "output_dim": output_dim,
            "dtype": dtype,
            "sparse_grad": sparse_grad,
        }
        self.weight = self.params.get(
            "weight",
            shape=(input_dim, output_dim),
            init=weight_initializer,
            dtype=dtype,
            allow_deferred_init=True,
            grad_stype="row_sparse" if sparse_grad else "default",
        )

    def hybrid_forward(self, F, x, weight):
        """``Embedding`` lookup of ``x`` in ``weight``."""
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        kw = self._kwargs
        return f"{self.__class__.__name__}({kw['input_dim']} -> {kw['output_dim']}, {kw['dtype']})"


class Flatten(HybridBlock):
    """Collapse all axes but the first: ``(N, a, b, ...) -> (N, a*b*...)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def hybrid_forward(self, F, x):
        """``flatten``."""
        return F.flatten(x)

    def __repr__(self):
        return self.__class__.__name__


class Lambda(Block):
    """Wrap a function (or the name of an ``mx.nd`` operator) as a Block."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        from ... import ndarray as nd

        if isinstance(function, str):
            if not hasattr(nd, function):
                raise GluonAssertionError(f"Function name {function} is not found in ndarray.")
            self._func_impl = getattr(nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise GluonValueError(
                f"Unrecognized function in lambda: {function} of type {type(function)}"
            )

    def forward(self, *args):
        """Call the function."""
        return self._func_impl(*args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_impl.__name__})"


class HybridLambda(HybridBlock):
    """Wrap ``function(F, x, *args)`` (or the name of an operator in both ``mx.nd`` and
    ``mx.sym``) as a HybridBlock."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            name = function
            self._func = lambda F, *args: getattr(F, name)(*args)
            self._func_name = function
            from ... import ndarray as nd

            if not hasattr(nd, function):
                raise GluonAssertionError(
                    f"Function name {function} is not found in symbol/ndarray."
                )
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            raise GluonValueError(
                f"Unrecognized function in lambda: {function} of type {type(function)}"
            )

    def hybrid_forward(self, F, x, *args):
        """Call the function with ``F``."""
        return self._func(F, x, *args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_name})"
