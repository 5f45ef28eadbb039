"""Run code that does ``import mxnet`` on distnet, without editing it.

From the command line (the script runs as ``__main__`` with ``sys.argv`` set, exactly as
``python script.py args`` would run it)::

    python -m distnet.mxnet_alias script.py --its-flags
    python -m distnet.mxnet_alias -m some_package.train --its-flags

From code, before the first ``import mxnet`` (e.g. at the top of a driver that imports a
third-party package written for MXNet)::

    import distnet.mxnet_alias; distnet.mxnet_alias.install()

After ``install()``, ``import mxnet`` gives the ``distnet`` module itself, and
``mxnet.X.Y`` gives ``distnet.X.Y``, with MXNet's short names mapped
(``mxnet.nd`` -> ``distnet.ndarray``, ``mxnet.sym`` -> ``distnet.symbol``, ``mxnet.mod``
-> ``distnet.module``, ``mxnet.kv`` -> ``distnet.kvstore``, ``mxnet.init`` ->
``distnet.initializer``, ...). The modules are the same objects under both names, so
``isinstance`` checks and module-level state agree whichever name the code used.

A real MXNet is never shadowed unless asked: when ``mxnet`` is importable from
``sys.path``, ``install()`` leaves it alone, warns and returns False, and the command line
refuses to run; ``install(force=True)`` / ``--force`` alias it anyway. Silently replacing
an installed library would make "which one am I running?" impossible to answer.

Processes started with the 'spawn' method (and any other fresh interpreter) do not
inherit the alias; 'fork' children (distnet's DataLoader workers on Linux) do.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import warnings

__all__ = ["install", "uninstall", "installed", "real_mxnet_location", "main"]

ALIAS = "mxnet"
TARGET = "distnet"


def _short_names():
    """MXNet's short submodule names -> distnet's module names (from distnet's own map)."""
    from distnet import _SUBMODULES

    return _SUBMODULES


def target_name(fullname):
    """The distnet module that stands for ``fullname`` ('mxnet.nd.random' ->
    'distnet.ndarray.random'); None when ``fullname`` is not under ``mxnet``."""
    if fullname == ALIAS:
        return TARGET
    if not fullname.startswith(ALIAS + "."):
        return None
    first, _, rest = fullname[len(ALIAS) + 1 :].partition(".")
    first = _short_names().get(first, first)
    return ".".join([TARGET, first] + ([rest] if rest else []))


class _AliasLoader(importlib.abc.Loader):
    """Hands back the already imported distnet module as the ``mxnet.*`` module."""

    def __init__(self, target):
        self._target = target
        self._spec = None

    def create_module(self, spec):
        module = importlib.import_module(self._target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system has just set module.__spec__ to the mxnet.* spec; put the
        # distnet spec back so importlib.util.find_spec('distnet...') stays truthful.
        module.__spec__ = self._spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder for ``mxnet`` and ``mxnet.*``, placed first on sys.meta_path."""

    def find_spec(self, fullname, path=None, target=None):
        name = target_name(fullname)
        if name is None:
            return None
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: distnet.mxnet_alias maps it to {name!r}, "
                f"which distnet does not have",
                name=fullname,
            )
        is_package = hasattr(importlib.import_module(name), "__path__")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(name), is_package=is_package)


_FINDER = _AliasFinder()


def real_mxnet_location():
    """Where a real ``mxnet`` would be imported from (its file), or None if there is none.

    Looks only on sys.path (not through the alias), so it answers the same before and
    after ``install()``.
    """
    spec = importlib.machinery.PathFinder.find_spec(ALIAS)
    if spec is None:
        return None
    return spec.origin or ", ".join(spec.submodule_search_locations or ()) or ALIAS


def installed():
    """Whether the alias is active in this interpreter."""
    return _FINDER in sys.meta_path


def install(force=False):
    """Make ``import mxnet`` (and ``mxnet.*``) resolve to distnet in this interpreter.

    Parameters
    ----------
    force : bool
        Alias even when a real MXNet is installed (it is then hidden, not removed).

    Returns
    -------
    bool
        True if the alias is active, False if a real MXNet was found and left in place
        (a RuntimeWarning says where it is).

    Raises
    ------
    distnet.MXNetError
        If a real ``mxnet`` has already been imported in this process: modules of both
        libraries cannot be mixed.
    """
    from distnet.base import MXNetError

    if installed():
        return True
    loaded = sys.modules.get(ALIAS)
    if loaded is not None and loaded is not importlib.import_module(TARGET):
        raise MXNetError(
            f"distnet.mxnet_alias.install(): a real mxnet is already imported "
            f"from {getattr(loaded, '__file__', '?')}; install the alias before "
            f"the first 'import mxnet'"
        )
    where = real_mxnet_location()
    if where is not None and not force:
        warnings.warn(
            f"distnet.mxnet_alias: a real mxnet is installed ({where}); leaving it "
            f"in place. Call install(force=True) (command line: --force) to run "
            f"on distnet anyway",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    sys.meta_path.insert(0, _FINDER)
    return True


def uninstall():
    """Remove the alias and forget the ``mxnet.*`` names it created (distnet stays)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        if getattr(sys.modules[name], "__name__", "").startswith(TARGET):
            del sys.modules[name]


_USAGE = """usage: python -m distnet.mxnet_alias [--force] SCRIPT [ARGS ...]
       python -m distnet.mxnet_alias [--force] -m MODULE [ARGS ...]

Run a script (or a module, like python -m) that imports mxnet on distnet instead.
Everything after SCRIPT or MODULE goes to it unchanged.

  --force    alias mxnet to distnet even when a real mxnet is installed
"""


def _parse(argv):
    """(force, module or None, args) from our argv; options only before the target, so
    a script's own flags (even --force) pass through untouched."""
    force, module = False, None
    argv = list(argv)
    while argv and argv[0] in ("--force", "-h", "--help"):
        if argv.pop(0) == "--force":
            force = True
        else:
            sys.stdout.write(_USAGE)
            raise SystemExit(0)
    if argv and argv[0].startswith("-m"):
        first = argv.pop(0)
        module = first[2:] or (argv.pop(0) if argv else "")
        if not module:
            _usage_error("-m needs a module name")
    elif not argv:
        _usage_error("no script given (e.g. python -m distnet.mxnet_alias train.py --lr 0.1)")
    elif argv[0].startswith("-"):
        _usage_error(f"unknown option {argv[0]!r}")
    return force, module, argv


def _usage_error(message):
    sys.stderr.write(_USAGE.split("\n\n")[0] + f"\ndistnet.mxnet_alias: error: {message}\n")
    raise SystemExit(2)


def main(argv=None):
    """Command-line entry: install the alias, then run the script/module as __main__."""
    force, module, args = _parse(sys.argv[1:] if argv is None else argv)
    where = real_mxnet_location()
    if where is not None and not force:
        sys.stderr.write(
            f"distnet.mxnet_alias: a real mxnet is installed ({where}); refusing "
            f"to hide it. Run with plain python to use MXNet, or pass --force "
            f"to run on distnet.\n"
        )
        return 2
    install(force=True)
    if module is not None:
        # As `python -m MODULE`: sys.path[0] is already the current folder (we were
        # started with -m); runpy sets argv[0] to the module's file.
        sys.argv = [module] + args
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    if not os.path.isfile(script):
        sys.stderr.write(
            f"distnet.mxnet_alias: can't open file {script!r}: No such file or directory\n"
        )
        return 2
    sys.argv = args
    # As `python SCRIPT`: the script's folder, not the current one, leads sys.path.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(os.path.abspath(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    # Run the copy importable as distnet.mxnet_alias, so install() state lives in one place.
    from distnet.mxnet_alias import main as _main

    sys.exit(_main())
