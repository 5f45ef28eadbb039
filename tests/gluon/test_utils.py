"""gluon.utils: split_data, split_and_load, clip_global_norm, check_sha1, download."""

import hashlib
import http.server
import os
import threading
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon import utils


def test_split_data_even_and_uneven():
    x = mx.nd.array(np.arange(10 * 3).reshape(10, 3))
    parts = utils.split_data(x, 2)
    assert [p.shape for p in parts] == [(5, 3), (5, 3)]
    np.testing.assert_array_equal(parts[1].asnumpy(), x.asnumpy()[5:])
    uneven = utils.split_data(x, 3, even_split=False)
    assert [p.shape[0] for p in uneven] == [4, 3, 3]
    np.testing.assert_array_equal(uneven[2].asnumpy(), x.asnumpy()[7:])
    cols = utils.split_data(x, 3, batch_axis=1)
    assert [p.shape for p in cols] == [(10, 1)] * 3
    np.testing.assert_array_equal(cols[2].asnumpy()[:, 0], x.asnumpy()[:, 2])
    assert len(utils.split_data(x, 1)) == 1


def test_split_data_error_matches_mxnet():
    x = mx.nd.zeros((10, 3))
    with pytest.raises(
        ValueError,
        match=r"data with shape \(10, 3\) cannot be evenly split "
        r"into 3 slices along axis 0. Use a batch size "
        r"that's multiple of 3 or set even_split=False",
    ):
        utils.split_data(x, 3)
    with pytest.raises(MXNetError, match="fewer than the 11 slices"):
        utils.split_data(x, 11, even_split=False)


def test_split_and_load_over_two_cpus():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    x = mx.nd.array(np.arange(8).reshape(4, 2))
    parts = utils.split_and_load(x, ctxs)
    assert [p.context for p in parts] == ctxs
    np.testing.assert_array_equal(parts[1].asnumpy(), [[4, 5], [6, 7]])
    from_numpy = utils.split_and_load(np.ones((6, 2), dtype=np.float64), ctxs)
    assert from_numpy[0].dtype == np.float32 and from_numpy[1].shape == (3, 2)
    single = utils.split_and_load(x, [mx.cpu(1)])
    assert len(single) == 1 and single[0].context == mx.cpu(1) and single[0].shape == (4, 2)
    with pytest.raises(ValueError, match="cannot be evenly split into 2"):
        utils.split_and_load(mx.nd.zeros((3, 2)), ctxs)


def test_split_and_load_gradients_flow_back():
    x = mx.nd.array(np.arange(4.0).reshape(4, 1))
    x.attach_grad()
    with mx.autograd.record():
        parts = utils.split_and_load(x, [mx.cpu(0), mx.cpu(1)])
        loss = (parts[0] * 2).sum() + (parts[1] * 3).sum().as_in_context(mx.cpu(0))
    loss.backward()
    np.testing.assert_array_equal(x.grad.asnumpy().ravel(), [2, 2, 3, 3])


def test_clip_global_norm_scales_in_place():
    a = mx.nd.array([3.0, 0.0])
    b = mx.nd.array([[4.0]], ctx=mx.cpu(1))
    norm = utils.clip_global_norm([a, b], 1.0)
    assert isinstance(norm, float) and norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.asnumpy(), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), [[0.8]], rtol=1e-6)
    c = mx.nd.array([0.3, 0.4])
    total = utils.clip_global_norm([c], 10.0, check_isfinite=False)
    assert isinstance(total, mx.nd.NDArray) and total.shape == (1,)
    assert total.asscalar() == pytest.approx(0.5)
    np.testing.assert_allclose(c.asnumpy(), [0.3, 0.4], rtol=1e-6)  # under the limit


def test_clip_global_norm_warns_on_nan():
    with pytest.warns(UserWarning, match="nan or inf is detected"):
        utils.clip_global_norm([mx.nd.array([np.nan, 1.0])], 1.0)
    with pytest.raises(MXNetError, match="non-empty list"):
        utils.clip_global_norm([], 1.0)


def test_check_sha1(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"distnet")
    assert utils.check_sha1(str(path), hashlib.sha1(b"distnet").hexdigest())
    assert not utils.check_sha1(str(path), "0" * 40)


def test_data_dir_follows_distnet_home(monkeypatch, tmp_path):
    monkeypatch.setenv("DISTNET_HOME", str(tmp_path))
    assert utils.data_dir() == str(tmp_path)
    monkeypatch.delenv("DISTNET_HOME")
    assert utils.data_dir() == os.path.expanduser(os.path.join("~", ".distnet"))


class _FlakyServer:
    """Serves ``files``; the first ``failures`` requests get HTTP 503."""

    def __init__(self, files, failures=0):
        self.files, self.failures, self.requests = files, failures, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                body = outer.files.get(self.path.lstrip("/"))
                if outer.requests <= outer.failures or body is None:
                    self.send_error(503 if body is not None else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(params=["requests", "urllib"])
def fetcher(request, monkeypatch):
    """Each download test runs through requests (as MXNet) and through urllib (the
    fallback when requests is not installed)."""
    if request.param == "urllib":
        monkeypatch.setattr(utils, "_requests", lambda: None)
    else:
        pytest.importorskip("requests")  # in the test extra; absent only outside it
    return request.param


@pytest.fixture
def server(fetcher):
    servers = []

    def make(files, failures=0):
        servers.append(_FlakyServer(files, failures))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(utils, "_RETRY_BACKOFF", 0.0)


def test_download_writes_the_file_atomically(tmp_path, server, capsys):
    body = os.urandom(3 * 1024 * 1024 + 5)  # several chunks
    srv = server({"data/blob.bin": body})
    out = utils.download(
        srv.url + "data/blob.bin", path=str(tmp_path), sha1_hash=hashlib.sha1(body).hexdigest()
    )
    assert out == str(tmp_path / "blob.bin") and (tmp_path / "blob.bin").read_bytes() == body
    assert os.listdir(tmp_path) == ["blob.bin"]  # no temp file left
    assert f"Downloading {out} from {srv.url}data/blob.bin..." in capsys.readouterr().out
    # present and matching: not fetched again
    utils.download(
        srv.url + "data/blob.bin", path=str(tmp_path), sha1_hash=hashlib.sha1(body).hexdigest()
    )
    assert srv.requests == 1
    # a file path (not a folder) names the target
    target = tmp_path / "sub" / "renamed.bin"
    assert utils.download(srv.url + "data/blob.bin", path=str(target)) == str(target)
    assert target.read_bytes() == body


def test_download_replaces_a_stale_file_and_honours_overwrite(tmp_path, server):
    srv = server({"a.txt": b"new"})
    (tmp_path / "a.txt").write_bytes(b"old")
    utils.download(
        srv.url + "a.txt", path=str(tmp_path), sha1_hash=hashlib.sha1(b"new").hexdigest()
    )
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    (tmp_path / "a.txt").write_bytes(b"old")
    utils.download(srv.url + "a.txt", path=str(tmp_path))
    assert (tmp_path / "a.txt").read_bytes() == b"old"  # exists, no hash: kept
    utils.download(srv.url + "a.txt", path=str(tmp_path), overwrite=True)
    assert (tmp_path / "a.txt").read_bytes() == b"new"


def test_download_retries_then_succeeds(tmp_path, server, fetcher, capsys):
    srv = server({"x.bin": b"payload"}, failures=2)
    utils.download(srv.url + "x.bin", path=str(tmp_path), retries=3)
    assert (tmp_path / "x.bin").read_bytes() == b"payload" and srv.requests == 3
    out = capsys.readouterr().out
    cause = (
        "<HTTPError 503: 'Service Unavailable'>"
        if fetcher == "urllib"
        else f"MXNetError('Failed downloading url {srv.url}x.bin: HTTP status 503')"
    )
    assert f"download failed due to {cause}" in out and "retrying, 2 attempts left" in out
    assert "retrying, 1 attempt left" in out


def test_download_sha1_mismatch_fails_after_retries(tmp_path, server):
    srv = server({"x.bin": b"payload"})
    with pytest.raises(
        MXNetError,
        match=r"failed after 2 attempts \(File .*x.bin is "
        r"downloaded but the content hash does not match "
        r"\(expected sha1 0{40}, got ",
    ):
        utils.download(srv.url + "x.bin", path=str(tmp_path), sha1_hash="0" * 40, retries=2)
    assert srv.requests == 2 and os.listdir(tmp_path) == []


def test_download_offline_error_names_url_and_target(tmp_path, fetcher):
    url = "http://127.0.0.1:9/gluon/dataset/mnist/t10k-labels-idx1-ubyte.gz"
    with pytest.raises(MXNetError) as info:
        utils.download(url, path=str(tmp_path), retries=1, timeout=2)
    msg = str(info.value)
    cause = "URLError" if fetcher == "urllib" else "ConnectionError"
    assert msg.startswith(f"Downloading {url} failed after 1 attempt ({cause}")
    assert msg.endswith(
        "If this machine is offline, fetch the file elsewhere and place it "
        f"at {tmp_path / 't10k-labels-idx1-ubyte.gz'}"
    )
    assert os.listdir(tmp_path) == []


def test_download_argument_errors(tmp_path):
    with pytest.raises(MXNetError, match="Can't construct file-name from this URL"):
        utils.download("http://127.0.0.1:9/")
    with pytest.raises(MXNetError, match="retries should be at least 0"):
        utils.download("http://127.0.0.1:9/x", path=str(tmp_path), retries=-1)


def test_download_verify_ssl_false_warns(tmp_path, server):
    srv = server({"y": b"1"})
    with pytest.warns(UserWarning, match="Unverified HTTPS request"):
        utils.download(srv.url + "y", path=str(tmp_path), verify_ssl=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        utils.download(srv.url + "y", path=str(tmp_path / "z"))


def test_brief_print_list_and_indent():
    assert utils._brief_print_list(["a", "b"]) == "'a', 'b'"
    assert (
        utils._brief_print_list(list("abcdefghij")) == "'a', 'b', 'c', ..., 'g', 'h', 'i', 'j'"
    )  # as MXNet
    assert utils._indent("x(\n  y\n)", 2) == "x(\n    y\n  )"


def test_download_progress_display(tmp_path, server, capsys):
    body = b"z" * (2 * 1024 * 1024)
    srv = server({"p.bin": body})
    utils.download(srv.url + "p.bin", path=str(tmp_path), progress=True)
    err = capsys.readouterr().err
    assert "\r       1.0 / 2.0 MiB ( 50.0%)" in err and err.endswith("2.0 MiB (100.0%)\n")


def test_gluon_namespace_loads_submodules_on_first_use():
    import subprocess
    import sys

    code = (
        "import sys, distnet.gluon as g; "
        "print('distnet.gluon.data' in sys.modules, 'distnet.gluon.utils' in sys.modules); "
        "g.data.DataLoader; g.utils.split_data; "
        "print('distnet.gluon.data' in sys.modules, g.data.vision.MNIST.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\n")
    assert out[:2] == ["False False", "True MNIST"]


class _MockResponse:
    """What ``requests.get(..., stream=True)`` returns, for a body held in memory."""

    def __init__(self, body, status=200):
        self.status_code, self.body, self.headers, self.closed = status, body, {}, False

    def iter_content(self, chunk_size):
        return (self.body[i : i + chunk_size] for i in range(0, len(self.body), chunk_size))

    def close(self):
        self.closed = True


def test_download_goes_through_requests_as_mxnet(tmp_path, monkeypatch):
    requests = pytest.importorskip("requests")
    calls, made = [], []

    def get(url, **kwargs):
        calls.append((url, kwargs))
        made.append(_MockResponse(b"MOCK CONTENT" * 100))
        return made[-1]

    monkeypatch.setattr(requests, "get", get)
    with pytest.warns(UserWarning, match="^Unverified HTTPS request"):
        out = utils.download("https://example.org/README.md", path=str(tmp_path), verify_ssl=False)
    assert (tmp_path / "README.md").read_bytes() == b"MOCK CONTENT" * 100 == open(out, "rb").read()
    assert calls == [
        ("https://example.org/README.md", {"stream": True, "verify": False, "timeout": 60})
    ]
    assert made[0].closed and os.listdir(tmp_path) == ["README.md"]

    def refuse(url, **kwargs):
        raise requests.exceptions.ConnectionError("refused")

    monkeypatch.setattr(requests, "get", refuse)
    with pytest.raises(MXNetError, match=r"failed after 3 attempts \(ConnectionError: refused\)"):
        utils.download("https://example.org/other.md", path=str(tmp_path), retries=3)
