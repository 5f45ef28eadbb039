"""Counts and comparisons for run_upstream.sh (JUnit XML from pytest in, plain text out).

    compare.py counts FILE.xml NAME        one line of per-file counts
    compare.py collect DIR                 DIR/*.xml -> DIR/outcomes.json {test id: outcome}
    compare.py diff MXNET.json DISTNET.json [--list]
        how many of the tests MXNet passes also pass on distnet, per file (--list: the others)
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def outcomes(xml_path):
    """{test id: 'passed'|'failed'|'skipped'|'error'} of one JUnit XML file ({} if missing)."""
    if not os.path.exists(xml_path):
        return {}
    result = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        kinds = [child.tag for child in case]
        if "error" in kinds:
            result[test_id] = "error"
        elif "failure" in kinds:
            result[test_id] = "failed"
        elif "skipped" in kinds:
            result[test_id] = "skipped"
        else:
            result[test_id] = "passed"
    return result


def _counts(xml_path, name):
    got = outcomes(xml_path)
    tally = {k: sum(1 for v in got.values() if v == k) for k in ("passed", "failed", "skipped", "error")}
    note = "" if got else "  (no results: collection failed, see the .log)"
    print(f"{name:<22} {tally['passed']:7d} {tally['failed']:7d} {tally['skipped']:7d} "
          f"{tally['error']:7d}{note}")


def _collect(folder):
    merged = {}
    for xml_path in sorted(glob.glob(os.path.join(folder, "*.xml"))):
        merged.update(outcomes(xml_path))
    with open(os.path.join(folder, "outcomes.json"), "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
    return merged


def _diff(ref_path, got_path, show):
    with open(ref_path) as f:
        ref = json.load(f)
    with open(got_path) as f:
        got = json.load(f)
    per_file = {}
    for test_id, outcome in ref.items():
        if outcome != "passed":
            continue
        module = test_id.split("::")[0]
        row = per_file.setdefault(module, [0, 0, []])
        row[0] += 1
        if got.get(test_id) == "passed":
            row[1] += 1
        else:
            row[2].append(f"{test_id} ({got.get(test_id, 'missing')})")
    total = sum(r[0] for r in per_file.values())
    passed = sum(r[1] for r in per_file.values())
    for module, (n_ref, n_ok, missed) in sorted(per_file.items()):
        print(f"{module:<28} {n_ok:4d} / {n_ref:4d}")
        if show:
            for line in missed:
                print("    " + line)
    print(f"{'total':<28} {passed:4d} / {total:4d} ({100.0 * passed / max(total, 1):.1f} %)")


def main(argv):
    """Command-line entry point (see the module docstring)."""
    if argv[:1] == ["counts"] and len(argv) == 3:
        _counts(argv[1], argv[2])
    elif argv[:1] == ["collect"] and len(argv) == 2:
        _collect(argv[1])
    elif argv[:1] == ["diff"] and len(argv) in (3, 4):
        _diff(argv[1], argv[2], "--list" in argv)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
