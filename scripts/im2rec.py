#!/usr/bin/env python
"""Make image lists and RecordIO files, with MXNet's ``tools/im2rec.py`` command line.

    python scripts/im2rec.py --list --recursive data/train images/   # -> data/train.lst
    python scripts/im2rec.py --resize 36 --quality 95 data/train images/
                                                  # -> data/train.rec + data/train.idx

A list line is ``index<TAB>label(s)<TAB>relative path``; with ``--recursive`` every
sub-folder of the root is a class, numbered in sorted order. The .rec/.idx files are
MXNet's format (``mx.recordio``), read by ``mx.io.ImageRecordIter``,
``mx.image.ImageIter`` and ``gluon.data.vision.ImageRecordDataset``. Images are decoded
and re-encoded with Pillow (``pip install 'distnet[image]'``) unless ``--pass-through``.
"""

import argparse
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from distnet import recordio  # noqa: E402
from distnet.base import MXNetError  # noqa: E402


def list_image(root, recursive, exts):
    """Yield ``(index, relative path, label)`` for the images under ``root``."""
    index = 0
    if recursive:
        classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        for label, folder in enumerate(classes):
            for path, _, files in sorted(os.walk(os.path.join(root, folder), followlinks=True)):
                for fname in sorted(files):
                    if os.path.splitext(fname)[1].lower() in exts:
                        yield index, os.path.relpath(os.path.join(path, fname), root), label
                        index += 1
        return
    for fname in sorted(os.listdir(root)):
        if os.path.splitext(fname)[1].lower() in exts and os.path.isfile(os.path.join(root, fname)):
            yield index, fname, 0
            index += 1


def write_list(path_out, image_list):
    """Write ``image_list`` as a .lst file."""
    with open(path_out, "w") as fout:
        for index, path, *labels in image_list:
            fout.write(f"{index}\t" + "".join(f"{float(x):f}\t" for x in labels) + f"{path}\n")


def make_list(args):
    """The --list mode: write prefix.lst (or train/val/test parts) for args.root."""
    image_list = list(list_image(args.root, args.recursive, args.exts))
    if args.shuffle:
        random.seed(100)
        random.shuffle(image_list)
    n = len(image_list)
    chunk = (n + args.chunks - 1) // args.chunks
    for i in range(args.chunks):
        part = image_list[i * chunk : (i + 1) * chunk]
        suffix = f"_{i}" if args.chunks > 1 else ""
        n_test = int(len(part) * args.test_ratio)
        n_train = int(len(part) * args.train_ratio)
        if args.test_ratio:
            write_list(f"{args.prefix}{suffix}_test.lst", part[:n_test])
        if args.train_ratio + args.test_ratio < 1.0:
            write_list(f"{args.prefix}{suffix}_val.lst", part[n_test + n_train :])
        name = (
            f"{args.prefix}{suffix}_train.lst"
            if args.test_ratio or args.train_ratio < 1.0
            else f"{args.prefix}{suffix}.lst"
        )
        write_list(name, part[n_test : n_test + n_train])


def read_list(path_in):
    """Yield ``[index, path, label, ...]`` from a .lst file."""
    with open(path_in) as fin:
        for num, line in enumerate(fin, 1):
            fields = [f.strip() for f in line.strip().split("\t")]
            if not line.strip():
                continue
            if len(fields) < 3:
                raise MXNetError(
                    f"{path_in}, line {num}: expected 'index<TAB>label(s)<TAB>"
                    f"path', got {line.strip()!r}"
                )
            yield [int(fields[0]), fields[-1]] + [float(x) for x in fields[1:-1]]


def encode_item(args, item):
    """The packed record of one list item."""
    from distnet.image import _codec

    index, path, *labels = item
    label = labels if args.pack_label and len(labels) > 1 else labels[0]
    header = recordio.IRHeader(0, label, index, 0)
    with open(os.path.join(args.root, path), "rb") as fin:
        raw = fin.read()
    if args.pass_through:
        return recordio.pack(header, raw)
    img = _codec.decode(raw, args.color if args.color >= 0 else -1)
    if args.center_crop:
        h, w = img.shape[:2]
        side = min(h, w)
        img = img[
            (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side
        ]
    if args.resize:
        from distnet.gluon.data.vision import _imgops

        h, w = img.shape[:2]
        new_h, new_w = (
            (h * args.resize // w, args.resize) if h > w else (args.resize, w * args.resize // h)
        )
        img = _imgops.resize(img if img.ndim == 3 else img[..., None], new_w, new_h)
    return recordio.pack(
        header, _codec.encode(np.ascontiguousarray(img), args.quality, args.encoding)
    )


def make_record(args, path_lst):
    """Pack the images of ``path_lst`` into .rec/.idx beside it (in list order)."""
    stem = os.path.splitext(path_lst)[0]
    items = list(read_list(path_lst))
    writer = recordio.MXIndexedRecordIO(stem + ".idx.tmp", stem + ".rec.tmp", "w")
    with ThreadPoolExecutor(max(1, args.num_thread)) as pool:
        for count, (item, record) in enumerate(
            zip(items, pool.map(lambda it: encode_item(args, it), items))
        ):
            writer.write_idx(item[0], record)
            if count % 1000 == 0:
                print(f"time: {count} images packed", flush=True)
    writer.close()
    os.replace(stem + ".rec.tmp", stem + ".rec")  # both files appear complete or not at all
    os.replace(stem + ".idx.tmp", stem + ".idx")
    print(f"wrote {len(items)} records to {stem}.rec", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Create an image list and/or a RecordIO file (MXNet's im2rec).",
    )
    parser.add_argument("prefix", help="prefix of the .lst/.rec files, or a folder of .lst")
    parser.add_argument("root", help="folder of the images")
    cgroup = parser.add_argument_group("Options for creating image lists")
    cgroup.add_argument("--list", action="store_true", help="make the image list only")
    cgroup.add_argument("--exts", nargs="+", default=[".jpeg", ".jpg", ".png"])
    cgroup.add_argument("--chunks", type=int, default=1)
    cgroup.add_argument("--train-ratio", type=float, default=1.0)
    cgroup.add_argument("--test-ratio", type=float, default=0)
    cgroup.add_argument("--recursive", action="store_true", help="one class per sub-folder of root")
    cgroup.add_argument("--no-shuffle", dest="shuffle", action="store_false")
    rgroup = parser.add_argument_group("Options for creating the database")
    rgroup.add_argument(
        "--pass-through", action="store_true", help="store the files' bytes unchanged"
    )
    rgroup.add_argument("--resize", type=int, default=0, help="shorter edge, 0 keeps it")
    rgroup.add_argument("--center-crop", action="store_true")
    rgroup.add_argument(
        "--quality", type=int, default=95, help="JPEG quality, or PNG compression level 0-9"
    )
    rgroup.add_argument("--num-thread", type=int, default=1)
    rgroup.add_argument("--color", type=int, default=1, choices=[-1, 0, 1])
    rgroup.add_argument("--encoding", type=str, default=".jpg", choices=[".jpg", ".png"])
    rgroup.add_argument(
        "--pack-label", action="store_true", help="store every label of a list line"
    )
    args = parser.parse_args(argv)
    args.prefix = os.path.abspath(args.prefix)
    args.root = os.path.abspath(args.root)
    args.exts = [e.lower() for e in args.exts]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        make_list(args)
        return 0
    if os.path.isdir(args.prefix):
        lists = sorted(
            os.path.join(args.prefix, f) for f in os.listdir(args.prefix) if f.endswith(".lst")
        )
    else:
        folder, base = os.path.split(args.prefix)
        lists = sorted(
            os.path.join(folder, f)
            for f in os.listdir(folder or ".")
            if f.startswith(base) and f.endswith(".lst")
        )
    if not lists:
        raise SystemExit(f"im2rec: no .lst file matches {args.prefix}; make one with --list")
    for path_lst in lists:
        make_record(args, path_lst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
