"""Binding helpers of the executor group: per-argument grad_req, context groups, and
binding that shares another executor's parameters (bucketing, reshape)."""

from ..base import DTYPE_OF_FLAG, MXNetError
from ..context import Context
from .. import ndarray as nd

NP_OF_FLAG = DTYPE_OF_FLAG  # a variable's __dtype__ attribute


def prepare_group2ctxs(group2ctxs, ctx_len):
    """One {ctx_group: Context} dict (or None) per device, as MXNet accepts them."""
    if group2ctxs is None:
        return [None] * ctx_len
    if isinstance(group2ctxs, list):
        if len(group2ctxs) != ctx_len:
            raise MXNetError(f"length of group2ctxs should be {ctx_len}, got {len(group2ctxs)}")
        return group2ctxs
    if isinstance(group2ctxs, dict):
        ret = [{} for _ in range(ctx_len)]
        for k, v in group2ctxs.items():
            if isinstance(v, Context):
                ctxs = [v] * ctx_len
            elif len(v) == 1:
                ctxs = list(v) * ctx_len
            elif len(v) == ctx_len:
                ctxs = list(v)
            else:
                raise MXNetError(f"length of group2ctxs[{k!r}] should be {ctx_len} or 1")
            for i in range(ctx_len):
                ret[i][k] = ctxs[i]
        return ret
    raise MXNetError(
        "group2ctxs should be a list of dicts of str to Context, or a dict of "
        "str to Context or list of Context"
    )


def grad_req_dict(grad_req, arg_names, param_names, fixed, data_names, inputs_need_grad):
    """MXNet's per-argument grad_req: params get `grad_req` (fixed ones 'null'), data
    inputs get it only when inputs_need_grad, labels and states 'null'."""

    def default(k, req):
        if k in param_names:
            return "null" if k in fixed else req
        if k in data_names:
            return req if inputs_need_grad else "null"
        return "null"

    if isinstance(grad_req, str):
        return {k: default(k, grad_req) for k in arg_names}
    if isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(arg_names):
            raise MXNetError(
                f"grad_req list has {len(grad_req)} entries for "
                f"{len(arg_names)} arguments {arg_names}"
            )
        return dict(zip(arg_names, grad_req))
    if isinstance(grad_req, dict):
        req = {k: default(k, "write") for k in arg_names}
        req.update(grad_req)
        return req
    raise MXNetError("grad_req must be one of str, list, tuple, or dict.")


def bind_shared(symbol, context, input_shapes, input_types, shared, param_names, grad_req):
    """Bind `symbol` with `shared`'s parameter, gradient and aux arrays (those of
    `param_names` and every aux state it has) and new arrays for the inputs."""
    arg_names = symbol.list_arguments()
    arg_shapes, _, aux_shapes = symbol.infer_shape(**input_shapes)
    if arg_shapes is None:
        raise MXNetError(f"bind: cannot infer the shapes of {arg_names} from {input_shapes}")
    arg_types, _, aux_types = symbol.infer_type(**input_types)
    params = set(param_names)
    args, grads = {}, {}
    for name, shape, dtype in zip(arg_names, arg_shapes, arg_types):
        req = grad_req.get(name, "null")
        if name in params and name in shared.arg_dict:
            args[name] = _shared_array(shared.arg_dict, name, shape)
            if req != "null":
                grad = shared.grad_dict.get(name)
                grads[name] = (
                    _shared_array(shared.grad_dict, name, shape)
                    if grad is not None
                    else nd.zeros(shape, context, dtype)
                )
        else:
            args[name] = nd.zeros(shape, context, dtype)
            if req != "null":
                grads[name] = nd.zeros(shape, context, dtype)
    aux = {}
    for name, shape, dtype in zip(symbol.list_auxiliary_states(), aux_shapes, aux_types):
        aux[name] = (
            _shared_array(shared.aux_dict, name, shape)
            if name in shared.aux_dict
            else nd.zeros(shape, context, dtype)
        )
    return symbol.bind(ctx=context, args=args, args_grad=grads, grad_req=grad_req, aux_states=aux)


def _shared_array(arrays, name, shape):
    """arrays[name], which must have `shape` to be shared."""
    arr = arrays[name]
    if tuple(arr.shape) != tuple(shape):
        raise MXNetError(
            f"shared parameter {name!r} has shape {tuple(arr.shape)} but "
            f"this graph needs {tuple(shape)}"
        )
    return arr
