"""Worker script of the launcher-death tests: a DataLoader with 2 worker processes that
keeps loading (slowly) for up to 120 s; prints `LOADER <pids>` once they run."""

import os
import time

from distnet.gluon.data import DataLoader
from distnet.gluon.data.dataset import Dataset


class Slow(Dataset):
    """Items that take a while, so the workers are busy when the launcher dies."""

    def __len__(self):
        return 10**6

    def __getitem__(self, i):
        time.sleep(0.05)
        return float(i)


def _children():
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        return f.read().split()


loader = DataLoader(Slow(), batch_size=2, num_workers=2)
deadline = time.monotonic() + 120
for n, _ in enumerate(loader):
    if n == 2:
        print("LOADER", *_children(), flush=True)
    if time.monotonic() > deadline:
        break
