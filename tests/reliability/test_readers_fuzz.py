"""Readers never hang, never over-allocate and fail only with MXNetError.

Hundreds of mutated ``.params`` and symbol JSON files (byte flips, truncations,
insertions, field swaps; fixed seeds) must each either load or raise MXNetError naming
the file, within a time bound and with a memory peak bounded by the file's size.
"""

import json
import os
import random
import struct
import time
import tracemalloc

import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mxnet")
PARAMS = [
    "params_dict.params",
    "params_list.params",
    "params_v3.params",
    "mlp-0003.params",
    "gluon_bn-0001.params",
]
SYMBOLS = [
    "sym_mlp-symbol.json",
    "sym_lenet-symbol.json",
    "sym_bn-symbol.json",
    "sym_legacy_v09-symbol.json",
    "sym_split-symbol.json",
]
TIME_BOUND = 2.0  # seconds per file, generous for a loaded 2-core machine


def _read(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def _mutants(data, rng, n):
    """``n`` byte-level mutants of ``data``: flips, truncations, insertions, and int64
    fields overwritten with extreme values (counts, dims, lengths)."""
    out = []
    extremes = [-1, -8, 2**31, 2**62, 2**63 - 1, 0, 1 << 40]
    for i in range(n):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del buf[rng.randrange(len(buf)) :]
        elif kind == 2:
            at = rng.randrange(len(buf))
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            at = rng.randrange(0, max(1, min(len(buf) - 8, 400)))
            buf[at : at + 8] = struct.pack("<q", rng.choice(extremes))
        out.append(bytes(buf))
    return out


def _bounded(load, path, size):
    """Run ``load(path)``; assert it ends in time, within memory, with MXNetError or a
    result. Returns 'ok' or 'error'."""
    tracemalloc.start()
    tic = time.perf_counter()
    try:
        load(path)
        outcome = "ok"
    except MXNetError as err:
        assert os.path.basename(path) in str(err), f"error does not name the file: {err}"
        outcome = "error"
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.perf_counter() - tic
    assert elapsed < TIME_BOUND, f"{path}: took {elapsed:.1f}s"
    assert peak < 8 * size + (2 << 20), f"{path}: peak {peak} bytes for a {size}-byte file"
    return outcome


def test_crafted_negative_dimension_is_rejected_at_once(tmp_path):
    """The 64-byte file of issue #13: a negative dim used to walk the reader backwards."""
    data = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii", 0xF993FAC9, 0, 1)
    data += struct.pack("<q", -8) + struct.pack("<iii", 1, 0, 0)
    data += b"\0" * (64 - len(data))
    path = tmp_path / "crafted.params"
    path.write_bytes(data)
    with pytest.raises(MXNetError, match=r"crafted.params.*offset 36.*negative dimension"):
        mx.nd.load(str(path))


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("count", 2**62, "array count .* needs at least"),
        ("ndim", 1000, "ndim 1000"),
        ("dim", 2**40, r"needs \d+ bytes, \d+ left"),
        ("flag", 99, "unknown type flag 99"),
    ],
)
def test_header_fields_are_checked_against_the_file(tmp_path, field, value, match):
    data = bytearray(mx.nd.save.__globals__["dumps"]([mx.nd.ones((2, 3))]))
    offsets = {"count": (16, "<Q"), "ndim": (32, "<i"), "dim": (36, "<q"), "flag": (60, "<i")}
    at, fmt = offsets[field]
    data[at : at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path = tmp_path / "field.params"
    path.write_bytes(bytes(data))
    with pytest.raises(MXNetError, match=match):
        mx.nd.load(str(path))


@pytest.mark.parametrize("name", PARAMS)
def test_mutated_params_files(tmp_path, name):
    data = _read(name)
    rng = random.Random(f"params:{name}")
    outcomes = {"ok": 0, "error": 0}
    for i, mutant in enumerate(_mutants(data, rng, 80)):
        path = tmp_path / f"m{i}.params"
        path.write_bytes(mutant)
        outcomes[_bounded(mx.nd.load, str(path), len(mutant))] += 1
    assert outcomes["error"] > 40, outcomes  # most mutants are broken files


def _json_mutants(text, rng, n):
    """Structural mutants (fields removed or replaced by values of other types, extreme
    ints, deep nesting) and textual ones (flips, truncations)."""
    graph = json.loads(text)
    weird = [
        None,
        -4,
        100000000000,
        2**70,
        "x",
        [],
        {},
        [[0]],
        [0, 0, 0, 0],
        True,
        1.5,
        "-1",
        "100000000000",
        "(0, 1)",
        "(-3, 3)",
        "[" * 50 + "]" * 50,
    ]
    out = []
    for i in range(n):
        if i % 3 == 2:
            raw = bytearray(text.encode())
            if rng.random() < 0.5:
                del raw[rng.randrange(len(raw)) :]
            else:
                raw[rng.randrange(len(raw))] = rng.choice(b'[]{}",:0-9ax')
            out.append(raw.decode("utf-8", errors="replace"))
            continue
        g = json.loads(json.dumps(graph))
        node = rng.choice(g["nodes"])
        target = rng.choice(["node", "attr", "input", "head", "top"])
        if target == "node":
            node[rng.choice(["op", "name", "inputs", "attrs", "param"])] = rng.choice(weird)
        elif target == "attr":
            attrs = node.setdefault("attrs", {})
            key = rng.choice(list(attrs) or ["num_hidden"])
            attrs[key] = rng.choice([str(w) for w in weird] + [rng.choice(weird)])
        elif target == "input" and node.get("inputs"):
            entry = rng.choice(node["inputs"])
            entry[rng.randrange(len(entry))] = rng.choice(weird)
        elif target == "head":
            g["heads"] = rng.choice(weird + [[[len(g["nodes"]), 0, 0]], [[0, 5, 0]]])
        else:
            g[rng.choice(["nodes", "heads", "node_row_ptr", "arg_nodes"])] = rng.choice(weird)
        out.append(json.dumps(g))
    out.append("[" * 100000 + "]" * 100000)  # nesting beyond Python's recursion limit
    return out


@pytest.mark.parametrize("name", SYMBOLS)
def test_mutated_symbol_files(tmp_path, name):
    text = _read(name).decode()
    rng = random.Random(f"json:{name}")
    outcomes = {"ok": 0, "error": 0}

    def load(path):
        sym = mx.sym.load(path)
        sym.list_arguments()
        sym.tojson()

    for i, mutant in enumerate(_json_mutants(text, rng, 60)):
        path = tmp_path / f"m{i}-symbol.json"
        path.write_text(mutant)
        outcomes[_bounded(load, str(path), len(mutant))] += 1
    assert outcomes["error"] > 25, outcomes


@pytest.mark.parametrize(
    "value,match",
    [
        ("-4", r"num_hidden=-4 is out of range: expected an int in \[1, 2147483647\]"),
        ("0", r"num_hidden=0 is out of range"),
        ("100000000000", r"num_hidden=100000000000 is out of range"),
        ("2.5", "invalid value '2.5' for argument 'num_hidden'"),
    ],
)
def test_num_hidden_is_checked_as_mxnet_does(tmp_path, value, match):
    """MXNet 1.9.1 rejects all four at load time; distnet used to load -4 and 1e11 and
    then try to allocate 1.09 TiB at bind."""
    graph = json.loads(_read("sym_mlp-symbol.json"))
    fc = next(n for n in graph["nodes"] if n["name"] == "fc1")
    fc["attrs"]["num_hidden"] = value
    path = tmp_path / "bad-symbol.json"
    path.write_text(json.dumps(graph))
    with pytest.raises(MXNetError, match=r"bad-symbol.json.*node \d+ \('fc1'.*" + match):
        mx.sym.load(str(path))


@pytest.mark.parametrize(
    "key,value",
    [("kernel", "(-3, 3)"), ("stride", "(0, 1)"), ("pad", "(-1, 0)"), ("num_filter", "-1")],
)
def test_convolution_geometry_is_checked(tmp_path, key, value):
    graph = json.loads(_read("sym_lenet-symbol.json"))
    conv = next(n for n in graph["nodes"] if n["op"] == "Convolution")
    conv["attrs"][key] = value
    with pytest.raises(MXNetError, match=f"{key}=.* is out of range"):
        mx.sym.load_json(json.dumps(graph))


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda g: g["nodes"][1].__setitem__("inputs", [[0, 0, 0]]), "variable .* no inputs"),
        (lambda g: g.__setitem__("heads", [[0, 3, 0]]), r"head output index is 3, expected 0..0"),
        (
            lambda g: g["nodes"][3]["inputs"][0].__setitem__(0, 5),
            r"node 3 .*input node is 5, expected 0..2",
        ),
        (lambda g: g["nodes"][3].__setitem__("attrs", [1]), "'attrs' must be an object"),
        (lambda g: g["nodes"][3]["inputs"].__setitem__(0, "a"), "must be \\[node, output\\]"),
        (lambda g: g.__setitem__("nodes", {}), "'nodes' must be a non-empty list"),
    ],
)
def test_malformed_graph_fields_name_node_and_field(mutate, match):
    graph = json.loads(_read("sym_mlp-symbol.json"))
    mutate(graph)
    with pytest.raises(MXNetError, match=match):
        mx.sym.load_json(json.dumps(graph))


@pytest.mark.slow
def test_fuzz_soak(tmp_path):
    """Thousands of mutants of every fixture (run with -m slow)."""
    counts = {"ok": 0, "error": 0}
    for name in PARAMS:
        data, rng = _read(name), random.Random(f"soak:{name}")
        for i, mutant in enumerate(_mutants(data, rng, 600)):
            path = tmp_path / f"{i}.params"
            path.write_bytes(mutant)
            counts[_bounded(mx.nd.load, str(path), len(mutant))] += 1
    for name in SYMBOLS:
        text, rng = _read(name).decode(), random.Random(f"soak:{name}")
        for i, mutant in enumerate(_json_mutants(text, rng, 300)):
            path = tmp_path / f"{i}-symbol.json"
            path.write_text(mutant)
            counts[_bounded(mx.sym.load, str(path), len(mutant))] += 1
    print(f"fuzz soak: {counts}")
    assert counts["error"] > counts["ok"]
