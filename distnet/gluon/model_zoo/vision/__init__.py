"""``gluon.model_zoo.vision``: every network of MXNet 1.9.1's vision model zoo, with the
same block structure and parameter names, so parameters saved by MXNet load here and
give the same outputs; ``pretrained=True`` loads MXNet's published files."""

from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403


def _models():
    """Model name -> constructor, as get_model accepts them."""
    names = {f"resnet{n}_v{v}": f"resnet{n}_v{v}" for v in (1, 2) for n in (18, 34, 50, 101, 152)}
    names.update({f"vgg{n}{bn}": f"vgg{n}{bn}" for n in (11, 13, 16, 19) for bn in ("", "_bn")})
    names.update({f"densenet{n}": f"densenet{n}" for n in (121, 161, 169, 201)})
    names.update(
        {
            "alexnet": "alexnet",
            "squeezenet1.0": "squeezenet1_0",
            "squeezenet1.1": "squeezenet1_1",
            "inceptionv3": "inception_v3",
        }
    )
    for m in ("1.0", "0.75", "0.5", "0.25"):
        names[f"mobilenet{m}"] = f"mobilenet{m.replace('.', '_')}"
        names[f"mobilenetv2_{m}"] = f"mobilenet_v2_{m.replace('.', '_')}"
    return {name: globals()[func] for name, func in names.items()}


def get_model(name, **kwargs):
    """The model ``name`` (e.g. 'resnet18_v1', 'mobilenet0.25', 'inceptionv3').

    Parameters
    ----------
    name : str
        Model name (case-insensitive).
    pretrained : bool, default False
        Load MXNet's published ImageNet parameters.
    classes : int, default 1000
        Output classes.
    ctx : Context, default cpu()
        Where pretrained parameters are loaded.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.
    """
    models = _models()
    name = name.lower()
    if name not in models:
        raise ValueError(
            "Model %s is not supported. Available options are\n\t%s"
            % (name, "\n\t".join(sorted(models)))
        )
    return models[name](**kwargs)
