"""`python -m kvstore.server`: run one parameter server of a distributed job (reads DMLC_*)."""

import sys

if __name__ == "__main__":
    from kvstore.ps.roles import run_role

    sys.exit(run_role("server"))
