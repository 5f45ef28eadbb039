"""Import the top-level packages shipped beside distnet (``kvstore``, ``launcher``) and
refuse a same-named file of the user's that shadows them.

The distribution installs ``kvstore`` and ``launcher`` at the top level; a ``kvstore.py``
in the working folder comes first on ``sys.path`` and used to break ``mx.kv.create`` with
``AttributeError: module 'kvstore' has no attribute 'KVStoreError'``.
"""

import importlib
import importlib.util
import os
import sys

from .base import MXNetError

_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def _location(name):
    """Where `name` is (or would be) imported from: a file or a folder; None if nowhere."""
    module = sys.modules.get(name)
    if module is not None:
        found = getattr(module, "__file__", None)
        return found or next(iter(getattr(module, "__path__", [])), None) or repr(module)
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
        return spec.origin
    return next(iter(spec.submodule_search_locations or []), None) or spec.origin


def check_sibling(name):
    """Raise MXNetError naming the file when ``import name`` would not give distnet's own
    top-level package ``name`` (the ``name/__init__.py`` beside the ``distnet`` package)."""
    where = _location(name)
    expected = os.path.join(_ROOT, name, "__init__.py")
    if where is None:
        raise MXNetError(
            f"distnet's '{name}' package is missing (expected {expected}); reinstall distnet-mx"
        )
    if os.path.realpath(where) != expected:
        raise MXNetError(
            f"'import {name}' resolves to {where}, which shadows distnet's own '{name}' "
            f"package ({expected}): rename that file or folder, or run from another "
            "directory"
        )


def import_sibling(name):
    """Import distnet's own top-level package `name` (or a module of it, ``kvstore.atomic``),
    the package checked before any of it runs."""
    check_sibling(name.split(".")[0])
    return importlib.import_module(name)
