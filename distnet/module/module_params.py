"""Module's parameters: initialization from values or an initializer, set/get with
MXNet's rules (``allow_missing``, ``force_init``, ``allow_extra``), kept in sync with the
devices' copies. A mixin of ``Module``, as ``module_optimizer.OptimizerMixin`` is."""
import warnings

from ..base import MXNetError
from ..initializer import InitDesc, Uniform
from ._util import load_into

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """get_params/init_params/set_params of Module (needs ``_exec_group``, ``_symbol``,
    ``_arg_params``, ``_aux_params`` and the state flags of BaseModule)."""

    def get_params(self):
        """(arg_params, aux_params) on the CPU, synced from the devices when stale."""
        self._require("get_params", binded=False)
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize parameters: from arg_params/aux_params where given, else with
        `initializer` (names in sorted order, as MXNet).

        Parameters
        ----------
        initializer : Initializer or None
        arg_params, aux_params : dict of str to NDArray, optional
        allow_missing : bool
            Names missing from the dicts are initialized (or kept, with no
            initializer) instead of raising.
        force_init : bool
            Re-initialize already initialized parameters.
        allow_extra : bool
            Accepted as in MXNet; names the module does not have are ignored on this path.
        """
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "init_params call ignored.", stacklevel=2)
            return
        if not self.binded:
            raise MXNetError("call bind before initializing the parameters")
        attrs = self._symbol.attr_dict()
        for params, given in ((self._arg_params, arg_params), (self._aux_params, aux_params)):
            for name, arr in sorted(params.items()):
                desc = InitDesc(name, attrs.get(name, None))
                self._init_one(desc, arr, given, initializer, allow_missing)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params,
                                    allow_extra=allow_extra)

    @staticmethod
    def _init_one(name, arr, given, initializer, allow_missing):
        """Take the value from `given` when it has it, else run the initializer."""
        if given is not None:
            if name in given:
                value = given[name]
                if value is not arr:
                    if tuple(value.shape) != tuple(arr.shape):
                        raise MXNetError(f"parameter {str(name)!r}: the given value has shape "
                                         f"{tuple(value.shape)} but the module expects "
                                         f"{tuple(arr.shape)}")
                    load_into(arr, value, f"parameter {str(name)!r}")
                return
            if not allow_missing:
                raise MXNetError(f"{name} is not presented (parameter {str(name)!r} is "
                                 "missing; pass allow_missing=True to initialize it)")
            if initializer is not None:
                initializer(name, arr)
        else:
            if initializer is None:
                raise MXNetError(f"init_params: no value and no initializer for {str(name)!r}")
            initializer(name, arr)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter and aux state values (see BaseModule.set_params).

        With allow_missing=False every parameter must be given (extra names are ignored,
        as in MXNet); with allow_missing=True the values are copied to the devices as
        they are, and names the module lacks raise unless allow_extra=True.
        """
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "set_params call ignored.", stacklevel=2)
            return
        if not self.binded:
            raise MXNetError("call bind before setting the parameters")
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _sync_params_from_devices(self):
        """Copy the devices' parameters into the CPU dicts get_params returns."""
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False
