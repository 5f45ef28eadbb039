#!/usr/bin/env python3
"""Draw learning curves from the CSV that ``mx.callback.CSVLogger`` writes.

    python scripts/plot_metrics.py metrics.csv -o curves.png
    python scripts/plot_metrics.py metrics.csv --metric accuracy --phase train validation

One panel per metric, one line per phase (train, validation, ...), the epoch on the x
axis (batch-level rows sit at their fraction of the epoch). Needs matplotlib:
``pip install 'distnet-mx[plot]'``.
"""

import argparse
import csv
import sys
from collections import defaultdict


def read_curves(filename):
    """{metric: {phase: [(x, value), ...]}} from a CSVLogger file, x in epochs: an
    epoch-level row of epoch e sits at e + 1 (the end of the epoch), a row of batch b at
    e + (b + 1) / (batches seen in epoch e)."""
    with open(filename, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"epoch", "batch", "phase", "metric", "value"} - set(rows[0] if rows else ())
    if missing:
        raise SystemExit(f"{filename}: not a CSVLogger file (missing columns {sorted(missing)})")
    per_epoch = defaultdict(int)
    for r in rows:
        if r["batch"] != "":
            per_epoch[(r["phase"], int(r["epoch"]))] = max(
                per_epoch[(r["phase"], int(r["epoch"]))], int(r["batch"]) + 1
            )
    curves = defaultdict(lambda: defaultdict(list))
    for r in rows:
        epoch = int(r["epoch"])
        if r["batch"] == "":
            x = epoch + 1.0
        else:
            x = epoch + (int(r["batch"]) + 1) / per_epoch[(r["phase"], epoch)]
        curves[r["metric"]][r["phase"]].append((x, float(r["value"])))
    return curves


def plot(curves, output, metrics=None, phases=None):
    """Draw the chosen metrics and phases into ``output`` (any matplotlib format)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            "plot_metrics.py needs matplotlib: pip install 'distnet-mx[plot]'"
        ) from None
    names = [m for m in curves if not metrics or m in metrics]
    if not names:
        raise SystemExit(f"no metric to draw (the file has {sorted(curves)})")
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 3 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        for phase, points in sorted(curves[name].items()):
            if phases and phase not in phases:
                continue
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=phase)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[-1, 0].set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(output)
    plt.close(fig)
    return names


def main(argv=None):
    """Command line: CSV in, image out."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", help="file written by mx.callback.CSVLogger")
    p.add_argument(
        "-o", "--output", default="metrics.png", help="image to write (default: %(default)s)"
    )
    p.add_argument("--metric", nargs="+", help="metrics to draw (default: all)")
    p.add_argument("--phase", nargs="+", help="phases to draw (default: all)")
    args = p.parse_args(argv)
    names = plot(read_curves(args.csv), args.output, args.metric, args.phase)
    print(f"wrote {args.output}: {', '.join(names)}", file=sys.stderr)


if __name__ == "__main__":
    main()
