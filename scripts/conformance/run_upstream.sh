#!/usr/bin/env bash
# Run Apache MXNet 1.9.1's own Python unit tests against distnet (`import mxnet` gives distnet).
#
#   scripts/conformance/run_upstream.sh PATH_TO_MXNET_SOURCE [RESULTS_DIR]
#
# PATH_TO_MXNET_SOURCE is a checkout of MXNet at tag 1.9.1 (its tests/python/unittest is read, never
# copied into this project). The 28 files below run one by one in a scratch copy; per-file counts are
# printed and every test's outcome is written to RESULTS_DIR/outcomes.json (default: a temp folder).
# PYTHON picks the interpreter (default: python3 on PATH, which must have distnet, pytest and nose
# installed: `pip install -e '.[test]' nose`). CONFORMANCE_TARGET=mxnet runs the same files against a
# real MXNet in that interpreter instead, to get the reference outcomes to compare with
# (scripts/conformance/compare.py). CONFORMANCE_FILES="ndarray symbol" runs only those files.
set -euo pipefail
src=${1:?usage: run_upstream.sh PATH_TO_MXNET_SOURCE [RESULTS_DIR]}
out=${2:-$(mktemp -d)}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
unit="$src/tests/python/unittest"
[ -f "$unit/common.py" ] || { echo "no MXNet unit tests under $unit" >&2; exit 2; }

files=${CONFORMANCE_FILES:-"module gluon gluon_trainer autograd kvstore kvstore_custom optimizer metric
init io loss gluon_data gluon_data_vision ndarray symbol executor infer_shape attr random viz engine
base gluon_utils test_utils model_parallel thread_local exc_handling operator"}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# tests/python/{unittest,common} side by side, as common.py expects; no ../../../python beside it,
# so nothing can import MXNet's own Python sources by accident.
mkdir -p "$scratch/tests/python"
cp -r "$unit" "$scratch/tests/python/unittest"
for extra in common train; do  # common.py imports ../common/models.py; test_module imports train/
    [ -d "$src/tests/python/$extra" ] && cp -r "$src/tests/python/$extra" "$scratch/tests/python/$extra"
done
cp "$here/upstream_conftest.py" "$scratch/tests/python/unittest/conftest.py"
mkdir -p "$out"
printf '%-22s %7s %7s %7s %7s\n' file passed failed skipped errors
for f in $files; do
    (cd "$scratch/tests/python/unittest" && timeout ${CONFORMANCE_FILE_TIMEOUT:-3600} "$python" -m pytest -q -p no:cacheprovider \
        -o addopts= --timeout 300 --junitxml "$out/test_$f.xml" "test_$f.py" >"$out/test_$f.log" 2>&1) || true
    "$python" "$here/compare.py" counts "$out/test_$f.xml" "test_$f"
done
"$python" "$here/compare.py" collect "$out" >/dev/null
echo "outcomes: $out/outcomes.json"
