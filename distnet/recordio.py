"""``mx.recordio``: MXNet's RecordIO files (``.rec``) and their index (``.idx``).

The byte layout is dmlc's: every record is ``magic (0xced7230a, little-endian uint32)``,
``lrec (uint32: continuation flag << 29 | length)``, the payload, then zero padding to a
multiple of 4 bytes. A payload holding the magic number at a 4-byte-aligned offset is
split there into parts (flags 1 start, 2 middle, 3 end; 0 for a whole record) with the
magic bytes dropped, so a reader resynchronising on the magic never lands inside data.
Files written here are byte-identical to MXNet's and MXNet's files read here.

An image record's payload is ``IRHeader`` packed as ``<IfQQ`` (24 bytes: flag, label, id,
id2), then ``flag`` float32 labels when ``flag > 0``, then the encoded image.

Unlike MXNet (whose reader silently stops at a corrupt record), a truncated or corrupt
file raises an MXNetError naming the file and the byte offset.
"""

import os
import struct
from collections import namedtuple

import numpy as np

from .base import MXNetError

__all__ = [
    "MXRecordIO",
    "MXIndexedRecordIO",
    "IRHeader",
    "pack",
    "unpack",
    "pack_img",
    "unpack_img",
]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_LEN_MASK = (1 << 29) - 1


def _encode_parts(buf):
    """The framed bytes of one record (dmlc's split at aligned magic numbers)."""
    buf = bytes(buf)
    size = len(buf)
    if size >= 1 << 29:
        raise MXNetError(f"RecordIO: a record holds at most {(1 << 29) - 1} bytes, got {size}")
    out, start = [], 0
    pos = buf.find(_MAGIC_BYTES)
    while 0 <= pos <= size - 4:
        if pos % 4 == 0:
            out += [
                _MAGIC_BYTES,
                struct.pack("<I", ((1 if start == 0 else 2) << 29) | (pos - start)),
                buf[start:pos],
            ]
            start = pos + 4
        pos = buf.find(_MAGIC_BYTES, pos + 1)
    out += [
        _MAGIC_BYTES,
        struct.pack("<I", ((3 if start else 0) << 29) | (size - start)),
        buf[start:],
        b"\0" * (-size % 4),
    ]
    return b"".join(out)


class MXRecordIO:
    """Sequential reader/writer of a RecordIO file.

    Parameters
    ----------
    uri : str
        Path of the ``.rec`` file.
    flag : {'r', 'w'}
        Read or write (writing truncates the file).

    A reader reopens its file in a forked child process (as MXNet's does), so a
    DataLoader worker started by fork reads from its own file offset.
    """

    def __init__(self, uri, flag):
        self.uri = str(uri)
        self.flag = flag
        self.handle = None
        self.is_open = False
        self.open()

    def open(self):
        """Open the file (called by the constructor and by ``reset``)."""
        if self.flag == "w":
            mode, self.writable = "wb", True
        elif self.flag == "r":
            mode, self.writable = "rb", False
        else:
            raise MXNetError(f"Invalid flag {self.flag!r} for {self.uri}: expected 'r' or 'w'")
        try:
            self.handle = open(self.uri, mode)
        except OSError as err:
            raise MXNetError(f"cannot open RecordIO file {self.uri}: {err}") from None
        self.pid = os.getpid()
        self.is_open = True

    def __del__(self):
        self.close()

    def __getstate__(self):
        """Pickle as (uri, flag); the copy reopens the file (readers only)."""
        if self.writable:
            raise MXNetError(f"cannot pickle a RecordIO writer ({self.uri})")
        state = dict(self.__dict__)
        state.update(handle=None, is_open=False)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.open()

    def _check_pid(self, allow_reset=False):
        if self.pid == os.getpid():
            return
        if not allow_reset:
            raise MXNetError(f"RecordIO writer {self.uri} cannot be used in a forked process")
        self.reset()

    def close(self):
        """Close the file; safe to call twice."""
        if not getattr(self, "is_open", False):
            return
        self.handle.close()
        self.handle = None
        self.is_open = False
        self.pid = None

    def reset(self):
        """Go back to the first record (reopens the file; a writer starts it anew)."""
        self.close()
        self.open()

    def write(self, buf):
        """Append one record holding the bytes ``buf``."""
        if not self.writable:
            raise MXNetError(f"{self.uri} is open for reading, not writing")
        self._check_pid(allow_reset=False)
        self.handle.write(_encode_parts(buf))

    def read(self):
        """The next record's bytes, or None at the end of the file."""
        if self.writable:
            raise MXNetError(f"{self.uri} is open for writing, not reading")
        self._check_pid(allow_reset=True)
        parts = []
        while True:
            start = self.handle.tell()
            head = self.handle.read(8)
            if not head and not parts:
                return None
            if len(head) < 8:
                raise MXNetError(f"{self.uri}: truncated record header at byte {start}")
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise MXNetError(
                    f"{self.uri}: invalid RecordIO magic {magic:#010x} at byte "
                    f"{start} (expected {_MAGIC:#010x}); not a .rec file or a "
                    "wrong offset"
                )
            cflag, length = lrec >> 29, lrec & _LEN_MASK
            data = self.handle.read(length)
            if len(data) < length:
                raise MXNetError(
                    f"{self.uri}: record at byte {start} needs {length} bytes, "
                    f"the file ends after {len(data)}"
                )
            self.handle.seek(-length % 4, os.SEEK_CUR)
            parts.append(data)
            if cflag in (0, 3):
                return _MAGIC_BYTES.join(parts)


class MXIndexedRecordIO(MXRecordIO):
    """RecordIO with random access through an index file of ``key\\tbyte offset`` lines.

    Parameters
    ----------
    idx_path : str
        Path of the ``.idx`` file.
    uri : str
        Path of the ``.rec`` file.
    flag : {'r', 'w'}
        Read or write.
    key_type : type, default int
        How keys in the index file are parsed.
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = str(idx_path)
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        """Open the record file and the index (read into ``idx``/``keys`` when reading)."""
        super().open()
        self.idx, self.keys = {}, []
        if self.writable:
            self.fidx = open(self.idx_path, "w")
            return
        self.fidx = None
        try:
            with open(self.idx_path) as fin:
                lines = fin.read().splitlines()
        except OSError as err:
            raise MXNetError(f"cannot open RecordIO index {self.idx_path}: {err}") from None
        for num, line in enumerate(lines, 1):
            fields = line.strip().split("\t")
            if not fields[0]:
                continue
            if len(fields) < 2:
                raise MXNetError(
                    f"{self.idx_path}, line {num}: expected 'key<TAB>offset', got {line!r}"
                )
            key = self.key_type(fields[0])
            self.idx[key] = int(fields[1])
            self.keys.append(key)

    def close(self):
        """Close the record file and the index."""
        if not getattr(self, "is_open", False):
            return
        super().close()
        if self.fidx is not None:
            self.fidx.close()
            self.fidx = None

    def __getstate__(self):
        state = super().__getstate__()
        state["fidx"] = None
        return state

    def seek(self, idx):
        """Move the read position to the record with key ``idx``."""
        if self.writable:
            raise MXNetError(f"{self.uri} is open for writing; seek needs a reader")
        self._check_pid(allow_reset=True)
        try:
            pos = self.idx[idx]
        except KeyError:
            raise MXNetError(f"key {idx!r} is not in the index {self.idx_path}") from None
        self.handle.seek(pos)

    def tell(self):
        """The current byte offset in the record file."""
        return self.handle.tell()

    def read_idx(self, idx):
        """The bytes of the record with key ``idx``."""
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        """Append a record with key ``idx`` and index it."""
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self.fidx.write(f"{key}\t{pos}\n")
        self.idx[key] = pos
        self.keys.append(key)


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """An image record's header: ``flag`` (the number of float labels after
the header, 0 for one label held in ``label``), ``label`` (a float or an array), ``id`` and
``id2`` (uint64 ids)."""
_IR_FORMAT = "<IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


def pack(header, s):
    """Bytes of an image record: ``header`` (an IRHeader or 4-tuple) then the bytes ``s``.
    An array label is stored after the header and sets ``flag`` to its length."""
    header = IRHeader(*header)
    if isinstance(header.label, (int, float, np.number)):
        header = header._replace(flag=0)
        body = b""
    else:
        label = np.asarray(header.label, dtype=np.float32).ravel()
        header = header._replace(flag=label.size, label=0)
        body = label.tobytes()
    return struct.pack(_IR_FORMAT, *header) + body + bytes(s)


def unpack(s):
    """``(IRHeader, payload bytes)`` of a record made by ``pack``."""
    if len(s) < _IR_SIZE:
        raise MXNetError(f"unpack: a record needs a {_IR_SIZE}-byte header, got {len(s)} bytes")
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise MXNetError(
                f"unpack: header announces {header.flag} labels, the record "
                f"holds {len(s)} bytes after the header"
            )
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[4 * header.flag :]
    return header, s


def unpack_img(s, iscolor=-1):
    """``(IRHeader, image)``: the image decoded as a uint8 numpy array in OpenCV's layout
    (BGR channel order, as MXNet's ``unpack_img``); ``iscolor`` 0 gives grey (H, W),
    1 colour, -1 as stored."""
    from .image._codec import decode_bgr

    header, s = unpack(s)
    return header, decode_bgr(s, iscolor)


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """Pack ``img`` (uint8 numpy (H, W, 3) in BGR order, or (H, W) grey, as MXNet's
    ``pack_img`` with OpenCV) encoded as ``img_fmt`` ('.jpg' at JPEG ``quality``, or
    '.png' with ``quality`` as the zlib compression level 0-9)."""
    from .image._codec import encode_bgr

    return pack(header, encode_bgr(img, quality, img_fmt))
