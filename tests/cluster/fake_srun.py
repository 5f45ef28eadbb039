#!/usr/bin/env python3
"""A stand-in `srun` for tests: runs the step's tasks on this machine with the variables
Slurm gives each task, each "node" being a network namespace of the virtual cluster.

Reads the allocation from the environment as srun does: SLURM_JOB_NODELIST (here a plain
comma list) and SLURM_TASKS_PER_NODE (`3,2`; block distribution: consecutive tasks fill a
node). FAKE_SRUN_NETNS maps node names to namespaces (`node=ns,...`); a node without one
runs its tasks here. Options: --ntasks=N (required), --kill-on-bad-exit=1: as Slurm, the
first task to exit non-zero ends the step (the others get SIGTERM) with its code.
SIGTERM/SIGINT to srun go to every task. Every task inherits srun's environment
(--export=ALL, Slurm's default).
"""

import os
import signal
import subprocess
import sys
import time


def main(argv):
    """Run the step `argv` (srun's options first); returns srun's exit code."""
    ntasks, kill_bad = None, False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt.startswith("--ntasks="):
            ntasks = int(opt.split("=", 1)[1])
        elif opt.startswith("--kill-on-bad-exit"):
            kill_bad = opt.endswith("=1") or opt == "--kill-on-bad-exit"
    nodes = os.environ["SLURM_JOB_NODELIST"].split(",")
    per_node = [int(n) for n in os.environ["SLURM_TASKS_PER_NODE"].split(",")]
    if ntasks is None or ntasks != sum(per_node):
        print(
            f"srun: error: --ntasks={ntasks} does not match the allocation {per_node}",
            file=sys.stderr,
        )
        return 1
    netns = dict(p.split("=", 1) for p in os.environ.get("FAKE_SRUN_NETNS", "").split(",") if p)
    procs, task = [], 0
    for node_id, (node, count) in enumerate(zip(nodes, per_node)):
        for local in range(count):
            env = dict(
                os.environ,
                SLURM_PROCID=str(task),
                SLURM_LOCALID=str(local),
                SLURM_NODEID=str(node_id),
                SLURM_NTASKS=str(ntasks),
                SLURM_STEP_NODELIST=",".join(nodes),
                SLURMD_NODENAME=node,
                SLURM_STEP_TASKS_PER_NODE=",".join(map(str, per_node)),
            )
            cmd = (["ip", "netns", "exec", netns[node]] if node in netns else []) + argv
            procs.append(subprocess.Popen(cmd, env=env))
            task += 1
    stop = lambda signum, frame: [p.send_signal(signum) for p in procs]  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while any(p.poll() is None for p in procs):
        bad = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode not in (None, 0)]
        if bad and kill_bad:
            print(
                f"srun: error: task {bad[0][0]}: Exited with exit code {bad[0][1]}", file=sys.stderr
            )
            stop(signal.SIGTERM, None)
            for p in procs:
                p.wait()
            return bad[0][1] if bad[0][1] > 0 else 128 - bad[0][1]
        time.sleep(0.05)
    codes = [p.returncode for p in procs]
    return next((c if c > 0 else 128 - c for c in codes if c), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
