"""Module tests: `from data_iter import SyntheticData` works as in MXNet's tutorial."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
