"""Counts and comparisons for run_upstream.sh (JUnit XML from pytest in, plain text out).

compare.py counts FILE.xml NAME        one line of per-file counts
compare.py collect DIR                 DIR/*.xml -> DIR/outcomes.json {test id: outcome}
compare.py diff MXNET.json DISTNET.json [--list]
    how many of the tests MXNet passes also pass on distnet, per file (--list: the others)
compare.py report MXNET_DIR DISTNET_DIR
    docs/compatibility.md's tables (markdown): per-file counts, and every test MXNet
    passes that distnet does not, with the first line of its failure and a category
"""

import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


# (pattern in the failure message, category) - the first match names the reason
CATEGORIES = (
    (r"row_sparse|csr|sparse|stype", "sparse storage (issue #18)"),
    (r"mx\.np|npx|NumPy array mode|numpy_extension|np_array", "mx.np/npx front end (not planned)"),
    (r"Name or service not known|URLError|download", "needs the network"),
    (
        r"has no attribute|cannot import name|No module named|is not registered",
        "missing API or operator",
    ),
    (r"unknown argument|unexpected keyword|takes .* positional", "missing operator argument"),
    (r"AssertionError|Items are not equal|assert ", "different result"),
)


def _category(message):
    import re

    for pattern, name in CATEGORIES:
        if re.search(pattern, message or ""):
            return name
    return "other error"


def messages(xml_path):
    """{test id: first line of its failure or error message} of one JUnit XML file."""
    if not os.path.exists(xml_path):
        return {}
    found = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                text = (child.get("message") or child.text or "").strip().splitlines()
                found[f"{case.get('classname')}::{case.get('name')}"] = (
                    text[0] if text else child.tag
                )[:160]
    return found


def _report(ref_dir, got_dir):
    ref, got, why = {}, {}, {}
    for xml_path in sorted(glob.glob(os.path.join(ref_dir, "*.xml"))):
        ref.update(outcomes(xml_path))
    for xml_path in sorted(glob.glob(os.path.join(got_dir, "*.xml"))):
        got.update(outcomes(xml_path))
        why.update(messages(xml_path))
    rows, missed = {}, []
    for test_id, outcome in sorted(ref.items()):
        if outcome != "passed":
            continue
        module = test_id.split("::")[0]
        row = rows.setdefault(module, [0, 0])
        row[0] += 1
        if got.get(test_id) == "passed":
            row[1] += 1
        else:
            message = why.get(test_id, got.get(test_id, "not collected"))
            missed.append((module, test_id.split("::")[-1], _category(message), message))
    total, passed = sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())
    print("| file | MXNet 1.9.1 passes | distnet passes of those |")
    print("|---|--:|--:|")
    for module, (n_ref, n_ok) in sorted(rows.items()):
        print(f"| {module} | {n_ref} | {n_ok} |")
    print(f"| **total** | **{total}** | **{passed}** ({100.0 * passed / max(total, 1):.1f} %) |")
    print()
    counts = {}
    for _, _, category, _ in missed:
        counts[category] = counts.get(category, 0) + 1
    print("| category | tests |")
    print("|---|--:|")
    for category, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"| {category} | {n} |")
    print()
    print("| file | test | category | first line of the failure |")
    print("|---|---|---|---|")
    for module, name, category, message in missed:
        text = message.replace("|", "\\|")
        print(f"| {module} | `{name}` | {category} | {text} |")


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
    tally = {
        k: sum(1 for v in got.values() if v == k) for k in ("passed", "failed", "skipped", "error")
    }
    note = "" if got else "  (no results: collection failed, see the .log)"
    print(
        f"{name:<22} {tally['passed']:7d} {tally['failed']:7d} {tally['skipped']:7d} "
        f"{tally['error']:7d}{note}"
    )


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
    elif argv[:1] == ["report"] and len(argv) == 3:
        _report(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
