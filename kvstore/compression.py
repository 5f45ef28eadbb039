"""Gradient compression for pushes: MXNet's 2-bit scheme and distnet's fp16.

``{'type': '2bit', 'threshold': t}`` (MXNet's): each element of residual + gradient at or
above +threshold is sent as +threshold, at or below -threshold as -threshold, otherwise 0;
what was not sent stays in the residual for the next push.  Codes are packed four to a
byte (0: zero, 1: +t, 2: -t).

``{'type': 'fp16'}`` (a distnet extension; MXNet 1.9.1 accepts only '2bit'): workers send
each pushed gradient as float16 (half the bytes of float32) and servers add it into
their stored dtype (float32), so only the rounding of each worker's own gradient is lost,
never that of the sum.  There is no residual: float16 keeps 11 significant bits, a
relative error of at most 2**-11 per element.  Values beyond float16's range
(|g| > 65504) arrive as +-inf, which is what a dynamic loss scaler looks for to skip a step.
Pulls are never compressed (as in MXNet).
"""

import numpy as np

from .base import KVStoreError, array_module


class TwoBitCompression:
    """Quantiser state: the threshold and one residual per (key, device slot)."""

    def __init__(self, threshold):
        if not threshold > 0:
            raise KVStoreError(f"2bit compression needs a positive threshold, got {threshold}")
        self.threshold = float(threshold)
        self._residuals = {}

    @classmethod
    def from_params(cls, params):
        """Build from MXNet's dict {'type': '2bit', 'threshold': 0.5}."""
        if not isinstance(params, dict) or params.get("type") != "2bit":
            raise KVStoreError(
                f"gradient compression must be {{'type': '2bit', 'threshold': t}}, got {params!r}"
            )
        return cls(params.get("threshold", 0.5))

    def params(self):
        """The msgpack-safe description sent to servers."""
        return {"type": "2bit", "threshold": self.threshold}

    def wire_meta(self):
        """What a push message carries so the server can decode the payload."""
        return {"type": "2bit", "threshold": self.threshold}

    def quantize(self, slot, grad):
        """Add grad to slot's residual and return the packed uint8 codes (residual updated)."""
        xp = array_module(grad)
        res = self._residuals.get(slot)
        if res is None or res.shape != grad.shape:
            res = self._residuals[slot] = xp.zeros(grad.shape, dtype=grad.dtype)
        res += grad
        t = self.threshold
        pos = res >= t
        neg = res <= -t
        res[pos] -= t
        res[neg] += t
        return pack_codes(xp, pos.ravel().astype(xp.uint8) | (neg.ravel().astype(xp.uint8) << 1))

    def roundtrip(self, slot, grad):
        """quantize then dequantize: what the receiver sees (used by the local stores)."""
        codes = self.quantize(slot, grad)
        return dequantize(codes, grad.size, self.threshold, grad.dtype).reshape(grad.shape)


class Fp16Compression:
    """distnet's ``{'type': 'fp16'}``: pushes travel as float16, servers sum in float32."""

    @classmethod
    def from_params(cls, params):
        """Build from ``{'type': 'fp16'}`` (no other keys)."""
        if not isinstance(params, dict) or params.get("type") != "fp16" or len(params) != 1:
            raise KVStoreError(f"fp16 compression takes {{'type': 'fp16'}} only, got {params!r}")
        return cls()

    def params(self):
        """The msgpack-safe description sent to servers."""
        return {"type": "fp16"}

    wire_meta = params

    def quantize(self, slot, grad):
        """grad as float16, contiguous (the bytes that travel)."""
        xp = array_module(grad)
        with np.errstate(over="ignore"):  # out-of-range values become inf, by design
            return xp.ascontiguousarray(grad, dtype=xp.float16)

    def roundtrip(self, slot, grad):
        """What the receiver adds: grad rounded to float16, back in grad's dtype."""
        with np.errstate(over="ignore"):
            return grad.astype(np.float16).astype(grad.dtype)


COMPRESSIONS = {"2bit": TwoBitCompression, "fp16": Fp16Compression}


def make_compression(params):
    """The compressor for ``set_gradient_compression(params)``; MXNet's message for an
    unknown type, naming the types distnet accepts."""
    kind = params.get("type") if isinstance(params, dict) else None
    if kind not in COMPRESSIONS:
        raise KVStoreError(
            f"Unknown type for gradient compression {kind!r} in {params!r}: expected "
            f"{{'type': '2bit', 'threshold': t}} (MXNet's) or {{'type': 'fp16'}} (distnet's)"
        )
    return COMPRESSIONS[kind].from_params(params)


def decode_push(meta, payload, size, dtype, what):
    """The flat array of `size` `dtype` values a compressed push carries.  `meta` is the
    message's "compressed" entry (a 2bit one from an older worker has no "type")."""
    kind = meta.get("type", "2bit") if isinstance(meta, dict) else None
    if kind == "fp16" and payload.dtype == np.float16 and payload.size == size:
        return payload.reshape(-1).astype(dtype)
    thr = meta.get("threshold") if kind == "2bit" else None
    if isinstance(thr, (int, float)) and payload.dtype == np.uint8:
        return dequantize(payload.reshape(-1), size, thr, dtype)
    raise KVStoreError(
        f"{what}: malformed {kind} payload ({payload.size} values of {payload.dtype} "
        f"for {size} values)"
    )


def pack_codes(xp, codes):
    """Pack 2-bit codes four to a byte (zero-padded at the end)."""
    pad = (-codes.size) % 4
    if pad:
        codes = xp.concatenate([codes, xp.zeros(pad, dtype=xp.uint8)])
    c = codes.reshape(-1, 4)
    return c[:, 0] | (c[:, 1] << 2) | (c[:, 2] << 4) | (c[:, 3] << 6)


def dequantize(packed, size, threshold, dtype):
    """The flat array of `size` values {0, +t, -t} encoded in `packed`."""
    xp = array_module(packed)
    if packed.size != (size + 3) // 4:
        raise KVStoreError(f"2bit payload of {packed.size} bytes cannot hold {size} values")
    codes = xp.empty((packed.size, 4), dtype=xp.uint8)
    for i in range(4):
        codes[:, i] = (packed >> (2 * i)) & 3
    codes = codes.ravel()[:size]
    out = xp.zeros(size, dtype=dtype)
    out[codes == 1] = threshold
    out[codes == 2] = -threshold
    return out
