"""MXNet's 2-bit gradient compression with error feedback (residuals kept per key).

Each element of residual + gradient at or above +threshold is sent as +threshold, at or
below -threshold as -threshold, otherwise 0; what was not sent stays in the residual for
the next push.  Codes are packed four to a byte (0: zero, 1: +t, 2: -t).
"""

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
