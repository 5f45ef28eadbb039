"""Vision data sets: files in DISTNET_HOME, downloads from a local server, offline errors,
CIFAR, Digits and ImageFolderDataset."""

import hashlib
import http.server
import os
import tarfile
import threading

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon import data as gdata
from distnet.gluon.data import vision

from .files import write_cifar, write_idx, write_mnist, write_png


def test_mnist_reads_distnet_home_like_mxnet(distnet_home):
    train = vision.MNIST(train=True)
    test = vision.MNIST(train=False)
    assert (len(train), len(test)) == (200, 100)
    data, label = train[3]
    assert isinstance(data, mx.nd.NDArray) and data.shape == (28, 28, 1)
    assert data.dtype == np.uint8 and type(label) is np.int32  # as MXNet 1.9.1
    images, labels = distnet_home["mnist"]["train"]
    np.testing.assert_array_equal(data.asnumpy()[..., 0], images[3])
    assert label == labels[3]
    np.testing.assert_array_equal(
        test[99][0].asnumpy()[..., 0], distnet_home["mnist"]["test"][0][99]
    )


def test_fashion_mnist_uses_its_own_folder_and_transform(distnet_home):
    seen = []

    def transform(data, label):
        seen.append(label)
        return data.astype("float32") / 255, label.astype("float32")

    ds = vision.datasets.FashionMNIST(train=False, transform=transform)
    data, label = ds[7]
    images, labels = distnet_home["fashion"]["test"]
    assert data.dtype == np.float32 and type(label) is np.float32 and label == labels[7]
    np.testing.assert_allclose(data.asnumpy()[..., 0], images[7] / 255, rtol=1e-6)
    assert len(seen) == 1


def test_root_override_and_unzipped_files(tmp_path):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_idx(str(tmp_path / "t10k-images-idx3-ubyte"), images)  # not gzipped
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte.gz"), [4, 5, 6])
    ds = vision.MNIST(root=str(tmp_path), train=False)
    assert len(ds) == 3 and ds[2][1] == 6
    np.testing.assert_array_equal(ds[1][0].asnumpy()[..., 0], images[1])


def test_corrupt_idx_file_is_named(tmp_path):
    write_idx(str(tmp_path / "t10k-images-idx3-ubyte.gz"), np.zeros((2, 28, 28)))
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte.gz"), np.zeros((2, 3)))  # 2-d
    with pytest.raises(
        MXNetError,
        match=r"t10k-labels-idx1-ubyte.gz is not an IDX file "
        r"of 1 dimension\(s\): expected magic number "
        r"0x00000801 \(2049\), found 00000802",
    ):
        vision.MNIST(root=str(tmp_path), train=False)


def test_offline_error_names_url_and_folder(tmp_path, offline):
    root = str(tmp_path / "empty")
    with pytest.raises(MXNetError) as info:
        vision.MNIST(root=root, train=True)
    msg = str(info.value)
    assert f"{offline}gluon/dataset/mnist/train-labels-idx1-ubyte.gz" in msg
    assert "place train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in msg
    assert f"in {root}" in msg
    assert os.listdir(root) == []  # nothing half-written


class _Server:
    """A local HTTP server of ``files`` (name -> bytes) under /gluon/dataset/<ns>/."""

    def __init__(self, files):
        self.files, self.requests = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
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


@pytest.fixture
def mnist_server(tmp_path, monkeypatch):
    src = tmp_path / "src"
    arrays = write_mnist(str(src), n_train=20, n_test=10, seed=4)
    files = {name: (src / name).read_bytes() for name in os.listdir(src)}
    sha1 = {name: hashlib.sha1(body).hexdigest() for name, body in files.items()}
    table = {
        train: tuple((name, sha1[name]) for name, _ in pairs)
        for train, pairs in vision.MNIST._files.items()
    }
    monkeypatch.setattr(vision.MNIST, "_files", table)
    server = _Server(files)
    monkeypatch.setenv("MXNET_GLUON_REPO", server.url)
    monkeypatch.setattr(vision.datasets, "_DOWNLOAD_RETRIES", 1)
    yield server, arrays
    server.close()


def test_missing_files_are_downloaded_and_verified(tmp_path, mnist_server, capsys):
    server, arrays = mnist_server
    root = tmp_path / "home" / "mnist"
    ds = vision.MNIST(root=str(root), train=False)
    np.testing.assert_array_equal(ds[4][0].asnumpy()[..., 0], arrays["test"][0][4])
    assert sorted(os.listdir(root)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert "/gluon/dataset/mnist/t10k-images-idx3-ubyte.gz" in server.requests
    assert (
        f"Downloading {root}/t10k-labels-idx1-ubyte.gz from {server.url}" in capsys.readouterr().out
    )
    vision.MNIST(root=str(root), train=False)  # second time: the files are used as they are
    assert len(server.requests) == 2


def test_sha1_mismatch_is_an_error_and_leaves_no_file(tmp_path, mnist_server):
    server, _ = mnist_server
    server.files["t10k-labels-idx1-ubyte.gz"] = b"tampered"
    root = tmp_path / "bad"
    with pytest.raises(
        MXNetError,
        match=r"t10k-labels-idx1-ubyte.gz is downloaded but the "
        r"content hash does not match \(expected sha1 "
        r"[0-9a-f]{40}, got " + hashlib.sha1(b"tampered").hexdigest(),
    ):
        vision.MNIST(root=str(root), train=False)
    assert os.listdir(root) == []


@pytest.fixture
def cifar10_root(tmp_path):
    root = tmp_path / "cifar10"
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    return str(root), write_cifar(str(root), names, label_bytes=1, per_file=4)


def test_cifar10_reads_binary_batches(cifar10_root):
    root, written = cifar10_root
    train = vision.CIFAR10(root=root, train=True)
    test = vision.CIFAR10(root=root, train=False)
    assert (len(train), len(test)) == (20, 4)
    data, label = train[5]  # the second sample of data_batch_2
    images, labels = written["data_batch_2.bin"]
    assert data.shape == (32, 32, 3) and data.dtype == np.uint8 and type(label) is np.int32
    np.testing.assert_array_equal(data.asnumpy(), images[1])
    assert label == labels[1, 0]


def test_cifar10_extracts_the_archive_when_batches_are_missing(tmp_path, cifar10_root):
    src, written = cifar10_root
    root = tmp_path / "from_archive"
    root.mkdir()
    with tarfile.open(root / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for name in written:
            tar.add(os.path.join(src, name), arcname=f"cifar-10-batches-bin/{name}")
    ds = vision.CIFAR10(root=str(root), train=False)
    np.testing.assert_array_equal(ds[3][0].asnumpy(), written["test_batch.bin"][0][3])
    assert "test_batch.bin" in os.listdir(root)


def test_cifar100_fine_and_coarse_labels(tmp_path):
    root = str(tmp_path / "cifar100" / "cifar-100-binary")  # the original archive's layout
    written = write_cifar(root, ["train.bin", "test.bin"], label_bytes=2, per_file=5)
    labels = written["test.bin"][1]
    coarse = vision.CIFAR100(root=str(tmp_path / "cifar100"), train=False)
    fine = vision.CIFAR100(root=str(tmp_path / "cifar100"), fine_label=True, train=False)
    assert [coarse[i][1] for i in range(5)] == labels[:, 0].tolist()
    assert [fine[i][1] for i in range(5)] == labels[:, 1].tolist()
    np.testing.assert_array_equal(fine[2][0].asnumpy(), written["test.bin"][0][2])


def test_digits_needs_no_network():
    train, test = vision.Digits(train=True), vision.Digits(train=False)
    assert (len(train), len(test)) == (1500, 297)
    data, label = train[0]
    assert data.shape == (8, 8, 1) and data.dtype == np.uint8 and type(label) is np.int32
    assert label == 0  # scikit-learn's first digit is a 0
    # sklearn's digits[0] row 0 is 0 0 5 13 9 1 0 0, scaled by 16
    assert data.asnumpy()[0, :, 0].tolist() == [0, 0, 80, 208, 144, 16, 0, 0]
    all_pixels = np.concatenate([train._data.asnumpy().ravel(), test._data.asnumpy().ravel()])
    assert all_pixels.max() == 255 and set(np.unique(all_pixels) % 16) <= {0, 15}
    assert sorted(set(train._label.tolist())) == list(range(10))
    assert sorted(set(test._label.tolist())) == list(range(10))


def test_mnist_loader_with_workers_equals_without(distnet_home):
    ds = vision.MNIST(train=True).transform_first(vision.transforms.ToTensor())
    want = [(x.asnumpy(), y.asnumpy()) for x, y in gdata.DataLoader(ds, batch_size=32)]
    got = [
        (x.asnumpy(), y.asnumpy()) for x, y in gdata.DataLoader(ds, batch_size=32, num_workers=2)
    ]
    assert len(got) == len(want) == 7
    for (gx, gy), (wx, wy) in zip(got, want):
        assert gx.dtype == np.float32 and gy.dtype == np.int32
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


def test_image_folder_dataset_reads_png(tmp_path):
    rng = np.random.RandomState(3)
    rgb = rng.randint(0, 256, (5, 7, 3)).astype(np.uint8)
    grey = rng.randint(0, 256, (4, 6)).astype(np.uint8)
    rgba = rng.randint(0, 256, (3, 9, 4)).astype(np.uint8)
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    write_png(str(tmp_path / "cat" / "b.png"), rgb)
    write_png(str(tmp_path / "cat" / "a.PNG"), grey)
    write_png(str(tmp_path / "dog" / "c.png"), rgba)
    (tmp_path / "dog" / "notes.txt").write_text("x")
    (tmp_path / "README").write_text("x")
    with pytest.warns(UserWarning) as record:
        ds = vision.ImageFolderDataset(str(tmp_path))
    messages = " | ".join(str(w.message) for w in record)
    assert "README, which is not a directory" in messages and "notes.txt of type .txt" in messages
    os.remove(tmp_path / "README")
    os.remove(tmp_path / "dog" / "notes.txt")
    assert ds.synsets == ["cat", "dog"] and len(ds) == 3
    assert [os.path.basename(p) for p, _ in ds.items] == ["a.PNG", "b.png", "c.png"]
    img, label = ds[1]
    assert label == 0 and img.dtype == np.uint8
    np.testing.assert_array_equal(img.asnumpy(), rgb)
    np.testing.assert_array_equal(ds[0][0].asnumpy(), np.repeat(grey[..., None], 3, 2))
    np.testing.assert_array_equal(ds[2][0].asnumpy(), rgba[..., :3])  # alpha dropped
    grey_ds = vision.ImageFolderDataset(
        str(tmp_path / "."), flag=0, transform=lambda d, l: (d.shape, l)
    )
    want = (rgb.astype(np.uint32) @ np.array([4899, 9617, 1868]) + 8192) >> 14
    np.testing.assert_array_equal(
        vision.ImageFolderDataset(str(tmp_path), flag=0)[1][0].asnumpy()[..., 0], want
    )
    assert grey_ds[2] == ((3, 9, 1), 1)


def test_jpeg_without_pillow_says_what_to_install(tmp_path):
    try:
        import PIL  # noqa: F401

        pytest.skip("Pillow is installed: it decodes JPEG")
    except ImportError:
        pass
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0not really")
    ds = vision.ImageFolderDataset(str(tmp_path))
    with pytest.raises(MXNetError, match=r"reads PNG files only; install Pillow .* or OpenCV"):
        ds[0]


def test_dataset_images_are_writable_copies(distnet_home):
    ds = vision.MNIST(train=False)
    data, _ = ds[0]
    data[:] = 0  # samples are writable views of the data set's array, as in MXNet
    assert ds[0][0].asnumpy().sum() == 0 and ds[1][0].asnumpy().sum() > 0


def test_cifar_archive_without_the_batches_is_named(tmp_path):
    root = tmp_path / "c10"
    root.mkdir()
    (tmp_path / "other.bin").write_bytes(b"x" * 3073)
    with tarfile.open(root / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(str(tmp_path / "other.bin"), arcname="other.bin")
    with pytest.raises(
        MXNetError,
        match=r"cifar-10-binary.tar.gz does not contain "
        r"test_batch.bin",
    ):
        vision.CIFAR10(root=str(root), train=False)


def test_png_decoder_palette_low_depth_and_16_bit(tmp_path):
    from distnet.gluon.data.vision._imageio import imread
    from .files import write_png_raw

    palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]]
    # 4-bit palette indices: row 0 = 0 1 2, row 1 = 3 0 1 (high nibble first, padded)
    write_png_raw(str(tmp_path / "p.png"), [[0x01, 0x20], [0x30, 0x10]], 3, 2, 4, 3, palette)
    img = imread(str(tmp_path / "p.png"))
    assert img.shape == (2, 3, 3)
    np.testing.assert_array_equal(img, np.array(palette)[[[0, 1, 2], [3, 0, 1]]])
    # 2-bit grey levels 0..3 scale to 0, 85, 170, 255
    write_png_raw(str(tmp_path / "g.png"), [[0b00011011]], 4, 1, 2, 0)
    assert imread(str(tmp_path / "g.png"), 0)[0, :, 0].tolist() == [0, 85, 170, 255]
    # 16-bit grey keeps the high byte
    write_png_raw(str(tmp_path / "w.png"), [[0x12, 0x34, 0xFF, 0x00]], 2, 1, 16, 0)
    assert imread(str(tmp_path / "w.png"), 1)[0].tolist() == [[0x12] * 3, [0xFF] * 3]
    with pytest.raises(
        MXNetError, match="is not a PNG file|reads PNG files only|cannot decode .*bad.png"
    ):
        (tmp_path / "bad.png").write_bytes(b"GIF89a....")
        imread(str(tmp_path / "bad.png"))
