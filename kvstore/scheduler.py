"""`python -m kvstore.scheduler`: run the scheduler of a distributed job (reads DMLC_*)."""

import sys

if __name__ == "__main__":
    from kvstore.ps.roles import run_role

    sys.exit(run_role("scheduler"))
