"""Image transforms with MXNet's names and behaviour: ToTensor, Normalize, Compose, Cast,
Resize, CenterCrop, RandomFlipLeftRight, RandomFlipTopBottom, and (from
``_transforms_more``) RandomResizedCrop, CropResize, the colour jitters, RandomLighting,
RandomGray, Rotate and RandomRotation.

In MXNet these are Gluon Blocks. Here they are small callables (``t(x)`` returns a new
NDArray) with a Block-like repr and a no-op ``hybridize``; they work on NDArrays of numpy
or cupy arrays and accept numpy arrays too. Images are (H, W, C) before ``ToTensor`` and
(C, H, W) after; most also take a batch with a leading N axis.
"""

__all__ = [
    "Compose",
    "Cast",
    "ToTensor",
    "Normalize",
    "Resize",
    "CenterCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
]

import numbers

import numpy as np

from ....base import MXNetError
from . import _imgops


def _unwrap(x):
    """(array, context) of an NDArray or array-like input."""
    from ....ndarray import NDArray
    from .... import context

    if isinstance(x, NDArray):
        return x._read(), x.context
    return np.asarray(x), context.cpu(0)


def _wrap(data, ctx):
    from ....ndarray.ndarray import wrap

    return wrap(data, ctx)


def _indent_repr(obj):
    text = repr(obj)
    lines = text.split("\n")
    return "\n".join([lines[0]] + ["  " + line for line in lines[1:]])


class Transform:
    """Base of the transforms: ``__call__`` runs ``forward``; reprs look like Blocks."""

    _hybrid = True  # a HybridBlock in MXNet (Compose groups these, as MXNet does)

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """Transform one input."""
        raise NotImplementedError

    def hybridize(self, active=True, **kwargs):
        """No-op: transforms run eagerly (kept so MXNet code calling it works)."""

    def __repr__(self):
        return f"{type(self).__name__}(\n\n)"


class _HybridGroup(Transform):
    """Consecutive hybrid transforms inside a Compose (MXNet's HybridSequential)."""

    def __init__(self, children):
        self._children = list(children)

    def forward(self, x):
        for child in self._children:
            x = child(x)
        return x

    def __repr__(self):
        body = "\n".join(f"  ({i}): {_indent_repr(c)}" for i, c in enumerate(self._children))
        return f"HybridSequential(\n{body}\n)"


class Compose(Transform):
    """Apply ``transforms`` one after another.

    Parameters
    ----------
    transforms : list of callables
        The transforms, first applied first.
    """

    _hybrid = False

    def __init__(self, transforms):
        self._children = []
        run = []
        for t in list(transforms) + [None]:
            if t is not None and getattr(t, "_hybrid", False):
                run.append(t)
                continue
            if len(run) == 1:
                self._children.append(run[0])
            elif run:
                self._children.append(_HybridGroup(run))
            run = []
            if t is not None:
                self._children.append(t)

    def forward(self, x):
        for child in self._children:
            x = child(x)
        return x

    def __getitem__(self, idx):
        return self._children[idx]

    def __len__(self):
        return len(self._children)

    def __repr__(self):
        body = "\n".join(f"  ({i}): {_indent_repr(c)}" for i, c in enumerate(self._children))
        return f"Compose(\n{body}\n)"


class Cast(Transform):
    """Cast to ``dtype`` (default 'float32')."""

    def __init__(self, dtype="float32"):
        self._dtype = np.dtype(dtype)

    def forward(self, x):
        data, ctx = _unwrap(x)
        return _wrap(data.astype(self._dtype), ctx)


class ToTensor(Transform):
    """(H, W, C) or (N, H, W, C) images with values in [0, 255] -> float32 (C, H, W) or
    (N, C, H, W) tensors with values in [0, 1]."""

    def forward(self, x):
        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"ToTensor: input image must have shape (height, width, "
                f"channels) or (N, height, width, channels), but got "
                f"{data.shape}"
            )
        axes = (2, 0, 1) if data.ndim == 3 else (0, 3, 1, 2)
        out = data.transpose(axes).astype(np.float32) / np.float32(255.0)
        return _wrap(out, ctx)


class Normalize(Transform):
    """``(x - mean) / std`` per channel of (C, H, W) or (N, C, H, W) tensors.

    Parameters
    ----------
    mean : float or sequence of float, default 0.0
        One value for all channels or one per channel.
    std : float or sequence of float, default 1.0
        One value for all channels or one per channel.
    """

    def __init__(self, mean=0.0, std=1.0):
        self._mean = mean
        self._std = std

    def forward(self, x):
        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"Normalize: input must have shape (C, H, W) or (N, C, H, W), but got {data.shape}"
            )
        xp = ctx.xp
        dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float32)
        channels = data.shape[-3]
        mean = self._per_channel(self._mean, channels, "mean", dtype)
        std = self._per_channel(self._std, channels, "std", dtype)
        out = (data.astype(dtype, copy=False) - xp.asarray(mean)) / xp.asarray(std)
        return _wrap(out, ctx)

    @staticmethod
    def _per_channel(value, channels, name, dtype):
        vals = np.atleast_1d(np.asarray(value, dtype=dtype))
        if vals.ndim != 1 or vals.size not in (1, channels):
            raise MXNetError(
                f"Normalize: {name} has {vals.size} values but the input "
                f"has {channels} channels (axis -3); give one value or "
                f"{channels}"
            )
        return vals.reshape(-1, 1, 1)


class Resize(Transform):
    """Resize (H, W, C) or (N, H, W, C) images (apply before ToTensor).

    Parameters
    ----------
    size : int or (width, height)
        The output size; an int gives a square unless ``keep_ratio``.
    keep_ratio : bool, default False
        With an int ``size``: scale the shorter side to ``size``, keeping the aspect.
    interpolation : int, default 1
        0 nearest, 1 bilinear (OpenCV's codes; others are not supported).
    """

    def __init__(self, size, keep_ratio=False, interpolation=1):
        self._size = size
        self._keep = keep_ratio
        self._interpolation = interpolation

    def forward(self, x):
        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"Resize: input image dimension should be 3 or 4 but got "
                f"{data.ndim} (shape {data.shape})"
            )
        in_h, in_w = data.shape[-3], data.shape[-2]
        height, width = _imgops.output_size(in_h, in_w, self._size, self._keep)
        return _wrap(_imgops.resize(data, width, height, self._interpolation), ctx)


class CenterCrop(Transform):
    """Crop the centre of (H, W, C) images to ``size``; smaller images are upsampled.

    Parameters
    ----------
    size : int or (width, height)
        The output size.
    interpolation : int, default 1
        How to resize when the image is smaller than ``size`` (0 nearest, 1 bilinear).
    """

    _hybrid = False  # a plain Block in MXNet

    def __init__(self, size, interpolation=1):
        if isinstance(size, numbers.Number):
            size = (size, size)
        self._size = (int(size[0]), int(size[1]))
        self._interpolation = interpolation

    def forward(self, x):
        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"CenterCrop: input must have shape (H, W, C) or (N, H, W, C), but got {data.shape}"
            )
        width, height = self._size
        return _wrap(_imgops.center_crop(data, width, height, self._interpolation), ctx)


class _RandomFlip(Transform):
    """Flip each (H, W, C) image along ``_axis`` with probability 0.5 (drawn from
    distnet's generator, so ``mx.random.seed`` makes it reproducible)."""

    _axis = None

    def forward(self, x):
        from .... import random as _random

        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"{type(self).__name__}: input image must have shape "
                f"(height, width, channels) or (N, height, width, channels), "
                f"but got {data.shape}"
            )
        xp = ctx.xp
        axis = self._axis + data.ndim - 3
        flips = _random.generator().random(1 if data.ndim == 3 else data.shape[0]) < 0.5
        if data.ndim == 3:
            out = xp.ascontiguousarray(xp.flip(data, axis)) if flips[0] else data.copy()
            return _wrap(out, ctx)
        out = data.copy()
        chosen = xp.asarray(np.flatnonzero(flips))
        out[chosen] = xp.flip(data[chosen], axis)
        return _wrap(out, ctx)


class RandomFlipLeftRight(_RandomFlip):
    """Flip (H, W, C) images left to right with probability 0.5 (each image of an
    (N, H, W, C) batch decides on its own). MXNet 1.9.1 scrambles uint8 images here;
    distnet flips them."""

    _axis = 1


class RandomFlipTopBottom(_RandomFlip):
    """Flip (H, W, C) images top to bottom with probability 0.5."""

    _axis = 0


from ._transforms_more import *  # noqa: E402,F401,F403  (they build on the classes above)
from ._transforms_more import __all__ as _more  # noqa: E402

__all__ += _more
