"""conftest for MXNet's unit tests run by run_upstream.sh: `import mxnet` gives distnet.

CONFORMANCE_TARGET=mxnet leaves a real MXNet in place (reference run). MXNet's tests seed numpy,
python and mxnet per test through their own fixtures (common.py); nothing else is changed here.
"""

import os
import sys

# test_module.py imports helpers from tests/python/train (test_bucketing), as MXNet's CI had them
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))

if os.environ.get("CONFORMANCE_TARGET", "distnet") == "distnet":
    import distnet.mxnet_alias

    distnet.mxnet_alias.install(force=True)
