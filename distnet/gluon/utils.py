"""``gluon.utils``: splitting batches across devices, gradient clipping, downloads.

``download`` fetches with ``requests`` when it is installed (as MXNet; the ``download``
extra), else with the standard library: it writes to a temporary file next to the target,
checks the sha1 there, and renames it into place atomically, so an interrupted or corrupt
download never leaves a file that looks complete.
"""

__all__ = [
    "split_data",
    "split_and_load",
    "clip_global_norm",
    "check_sha1",
    "download",
    "replace_file",
    "data_dir",
]

import contextlib
import hashlib
import math
import os
import sys
import time
import uuid
import warnings

import numpy as np

from .. import config
from ..base import MXNetError

_DEFAULT_REPO = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
_CHUNK = 1 << 20
# Seconds to wait before download attempt k+1 is _RETRY_BACKOFF * 2**k (capped at 10 s).
_RETRY_BACKOFF = 0.5


class SplitError(MXNetError, ValueError):
    """A batch that cannot be split as asked (a ``ValueError`` too, as MXNet raised)."""


def data_dir():
    """The folder distnet keeps data sets and models in: ``$DISTNET_HOME`` or ``~/.distnet``."""
    return os.path.expanduser(config.get("DISTNET_HOME") or os.path.join("~", ".distnet"))


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split an NDArray into ``num_slice`` slices along ``batch_axis``.

    Parameters
    ----------
    data : NDArray
        A batch of data.
    num_slice : int
        Number of slices.
    batch_axis : int, default 0
        The axis to split.
    even_split : bool, default True
        Require equal slices; otherwise the first ``size % num_slice`` slices get one
        extra element.

    Returns
    -------
    list of NDArray
        Views of ``data`` (a list even when ``num_slice`` is 1).
    """
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise SplitError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices "
            f"along axis {batch_axis}. Use a batch size that's multiple of {num_slice} or "
            "set even_split=False to allow uneven partitioning of data."
        )
    if size < num_slice:
        raise SplitError(
            f"data with shape {data.shape} has {size} elements along axis "
            f"{batch_axis}, fewer than the {num_slice} slices asked for"
        )
    each, extras = divmod(size, num_slice)
    bounds = np.cumsum([0] + [each + 1] * extras + [each] * (num_slice - extras))
    lead = (slice(None),) * (batch_axis % data.ndim)
    return [data[lead + (slice(int(bounds[i]), int(bounds[i + 1])),)] for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` along ``batch_axis`` and copy slice ``i`` to ``ctx_list[i]``.

    Parameters
    ----------
    data : NDArray or array-like
        A batch of data (array-likes become float32 NDArrays on ``ctx_list[0]``).
    ctx_list : list of Context
        One context per slice.
    batch_axis : int, default 0
        The axis to split.
    even_split : bool, default True
        Require equal slices.

    Returns
    -------
    list of NDArray
        The slices, each on its context.
    """
    from ..ndarray import NDArray, array

    if not isinstance(data, NDArray):
        data = array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [part.as_in_context(ctx) for part, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scale ``arrays`` in place so that their joint 2-norm is at most ``max_norm``.

    Parameters
    ----------
    arrays : list of NDArray
        Usually gradients; they may live on different contexts.
    max_norm : float
        The largest joint norm allowed.
    check_isfinite : bool, default True
        Warn when the norm is NaN or infinite (this waits for the value).

    Returns
    -------
    float or NDArray
        The joint norm before scaling: a float when ``check_isfinite``, else an NDArray of
        shape (1,) on the context of ``arrays[0]``.
    """
    from ..ndarray.ndarray import wrap

    if not arrays:
        raise MXNetError("clip_global_norm: arrays must be a non-empty list of NDArrays")
    ctx = arrays[0].context
    xp = ctx.xp
    total = xp.zeros((), dtype=np.float64)
    for arr in arrays:
        flat = _stored_values(arr).reshape(-1)
        sq = xp.vdot(flat, flat)  # in the array's dtype, as MXNet's dot
        total = total + (xp.asarray(sq) if arr.context == ctx else xp.asarray(float(sq)))
    norm = xp.sqrt(total).astype(arrays[0].dtype)
    if check_isfinite and not math.isfinite(float(norm)):
        warnings.warn(
            UserWarning("nan or inf is detected. Clipping results will be undefined."), stacklevel=2
        )
    scale = xp.minimum(max_norm / (norm + 1e-8), 1.0)
    for arr in arrays:
        data = _stored_values(arr)
        factor = scale if arr.context == ctx else arr.context.xp.asarray(float(scale))
        data *= factor.astype(data.dtype)
    if check_isfinite:
        return float(norm)
    return wrap(norm.reshape(1), ctx)


def _stored_values(arr):
    """The buffer holding ``arr``'s values, to scale in place: a dense array's memory (after
    any pending kvstore pull), or a sparse array's stored values (rows/non-zeros only, whose
    squares are the whole norm's)."""
    if arr._sparse:
        arr._read_parts()
        return arr._values
    return arr._read()


def check_sha1(filename, sha1_hash):
    """Whether the sha1 of the file's content is ``sha1_hash`` (hex digits)."""
    return _sha1_of(filename) == sha1_hash


def _sha1_of(filename):
    sha1 = hashlib.sha1()
    with open(filename, "rb") as fin:
        for chunk in iter(lambda: fin.read(_CHUNK), b""):
            sha1.update(chunk)
    return sha1.hexdigest()


def replace_file(src, dst):
    """Move ``src`` to ``dst`` atomically, replacing ``dst`` (same file system)."""
    try:
        os.replace(src, dst)
    except OSError as err:
        _remove_quietly(src)
        raise MXNetError(
            f"Moving downloaded temp file - {src}, to {dst} failed ({err}). "
            "Please retry the download."
        ) from err


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def download(
    url,
    path=None,
    overwrite=False,
    sha1_hash=None,
    retries=5,
    verify_ssl=True,
    timeout=60,
    progress=None,
):
    """Download ``url`` to a file and return its path.

    Parameters
    ----------
    url : str
        The URL.
    path : str, optional
        A folder (the file keeps the URL's name) or a file path; the current folder
        by default.
    overwrite : bool, default False
        Download even if the file exists.
    sha1_hash : str, optional
        Expected sha1 (hex). An existing file that does not match is downloaded again; a
        download that does not match is discarded and retried.
    retries : int, default 5
        Number of attempts (as MXNet, at least one).
    verify_ssl : bool, default True
        Verify TLS certificates.
    timeout : float, default 60
        Seconds to wait for the server on connect and on each read.
    progress : bool, optional
        Show a progress line on stderr (default: when stderr is a terminal).

    Returns
    -------
    str
        The path of the file.
    """
    fname = _target_path(url, path)
    if retries < 0:
        raise MXNetError(f"Number of retries should be at least 0, currently it's {retries}")
    if not verify_ssl:
        warnings.warn(
            "Unverified HTTPS request is being made (verify_ssl=False). "
            "Adding certificate verification is strongly advised."
        )
    if not overwrite and os.path.exists(fname) and (not sha1_hash or check_sha1(fname, sha1_hash)):
        return fname
    os.makedirs(os.path.dirname(os.path.abspath(fname)), exist_ok=True)
    attempts = max(1, int(retries))
    for attempt in range(attempts):
        try:
            print(f"Downloading {fname} from {url}...")
            _fetch_once(url, fname, sha1_hash, verify_ssl, timeout, progress)
            return fname
        except Exception as err:  # network, HTTP and hash errors are all retried
            left = attempts - attempt - 1
            if left == 0:
                raise _download_error(url, fname, attempts, err) from err
            print(
                f"download failed due to {err!r}, retrying, {left} attempt"
                f"{'s' if left > 1 else ''} left"
            )
            time.sleep(min(_RETRY_BACKOFF * 2**attempt, 10.0))
    return fname


def _target_path(url, path):
    name = url.split("/")[-1]
    if path is None:
        if not name:
            raise MXNetError(
                f"Can't construct file-name from this URL ({url}). "
                "Please set the `path` option manually."
            )
        return name
    path = os.path.expanduser(path)
    return os.path.join(path, name) if os.path.isdir(path) else path


def _download_error(url, fname, attempts, err):
    if isinstance(err, MXNetError):
        cause = str(err)
    else:
        cause = f"{type(err).__name__}: {err}"
    return MXNetError(
        f"Downloading {url} failed after {attempts} attempt{'s' if attempts > 1 else ''} "
        f"({cause}). If this machine is offline, fetch the file elsewhere and place it "
        f"at {os.path.abspath(fname)}"
    )


def _requests():
    """The ``requests`` module, or None when it is not installed (then urllib is used)."""
    try:
        import requests
    except ImportError:
        return None
    return requests


def _fetch_once(url, fname, sha1_hash, verify_ssl, timeout, progress):
    """One attempt: stream into a temp file beside ``fname``, verify, rename."""
    tmp = f"{fname}.{uuid.uuid4().hex}.part"
    try:
        requests = _requests()
        opener = _open_urllib if requests is None else _open_requests
        with opener(url, verify_ssl, timeout) as (chunks, total):
            digest = _stream_to(chunks, tmp, total, _show_progress(progress))
        if sha1_hash and digest != sha1_hash:
            raise MXNetError(
                f"File {fname} is downloaded but the content hash does not match "
                f"(expected sha1 {sha1_hash}, got {digest}). The repo may be outdated or "
                'download may be incomplete. If the "repo_url" is overridden, consider '
                "switching to the default repo."
            )
        replace_file(tmp, fname)
    finally:
        _remove_quietly(tmp)


@contextlib.contextmanager
def _open_requests(url, verify_ssl, timeout):
    """(chunks of the body, Content-Length or 0) of a GET through ``requests``."""
    import requests

    resp = requests.get(url, stream=True, verify=verify_ssl, timeout=timeout)
    try:
        if resp.status_code != 200:
            raise MXNetError(f"Failed downloading url {url}: HTTP status {resp.status_code}")
        total = int(resp.headers.get("Content-Length") or 0)
        yield resp.iter_content(chunk_size=_CHUNK), total
    finally:
        resp.close()


@contextlib.contextmanager
def _open_urllib(url, verify_ssl, timeout):
    """(chunks of the body, Content-Length or 0) of a GET through urllib."""
    import urllib.request

    context = None
    if not verify_ssl and url.lower().startswith("https"):
        import ssl

        context = ssl._create_unverified_context()  # the caller asked for no verification
    with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
        status = getattr(resp, "status", 200)
        if status != 200:
            raise MXNetError(f"Failed downloading url {url}: HTTP status {status}")
        total = int(resp.headers.get("Content-Length") or 0)
        yield iter(lambda: resp.read(_CHUNK), b""), total


def _show_progress(progress):
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def _stream_to(chunks, tmp, total, show):
    """Copy the body's ``chunks`` to ``tmp`` (created, never truncating another file)."""
    sha1 = hashlib.sha1()
    done = 0
    with open(tmp, "xb") as fout:
        for chunk in chunks:
            fout.write(chunk)
            sha1.update(chunk)
            done += len(chunk)
            if show:
                _print_progress(done, total)
    if show:
        sys.stderr.write("\n")
    if total and done != total:
        raise MXNetError(f"incomplete download: got {done} of {total} bytes")
    return sha1.hexdigest()


def _print_progress(done, total):
    mib = done / 2**20
    if total:
        sys.stderr.write(f"\r  {mib:8.1f} / {total / 2**20:.1f} MiB ({100.0 * done / total:5.1f}%)")
    else:
        sys.stderr.write(f"\r  {mib:8.1f} MiB")
    sys.stderr.flush()


def _get_repo_url():
    """Base URL of the Gluon data set and model repository (``MXNET_GLUON_REPO``)."""
    repo = config.get("DISTNET_GLUON_REPO") or config.get("MXNET_GLUON_REPO") or _DEFAULT_REPO
    return repo if repo.endswith("/") else repo + "/"


def _get_repo_file_url(namespace, filename):
    """URL of ``filename`` under ``namespace`` in the Gluon repository."""
    return f"{_get_repo_url()}{namespace}/{filename}"


def _indent(text, num_spaces):
    """Indent every line of ``text`` but the first by ``num_spaces`` (for reprs)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * num_spaces + line for line in lines[1:]])


def _brief_print_list(lst, limit=7):
    """``'a', 'b', ..., 'z'``: at most ``limit`` quoted items (for error messages)."""
    lst = list(lst)
    if len(lst) > limit:
        return (
            _brief_print_list(lst[: limit // 2], limit)
            + ", ..., "
            + _brief_print_list(lst[-limit // 2 :], limit)
        )
    return ", ".join(f"'{item}'" for item in lst)


def shape_is_known(shape):
    """Whether every dimension of ``shape`` is known (MXNet's legacy 0 = unknown)."""
    if shape is None:
        return False
    return all(int(dim) > 0 for dim in shape) if len(shape) else False


def __getattr__(name):
    # MXNet exposes the hook handle here too; imported lazily (block.py imports this module)
    if name == "HookHandle":
        from ._scope import HookHandle

        return HookHandle
    raise AttributeError(f"module 'distnet.gluon.utils' has no attribute {name!r}")
