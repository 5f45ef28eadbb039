"""``mx.metric``: evaluation metrics with MXNet's names, values and registry.

``update(labels, preds)`` takes lists (or single arrays) of NDArrays or numpy arrays;
each array is brought to numpy once and the arithmetic is vectorised. Every metric keeps
local statistics (``reset_local``, what ``get`` reports) and global ones (``get_global``).
"""

from .base import (
    EvalMetric,
    CompositeEvalMetric,
    CustomMetric,
    np,
    create,
    register,
    alias,
    check_label_shapes,
)
from .classification import (
    Accuracy,
    TopKAccuracy,
    F1,
    MCC,
    PCC,
    Perplexity,
    CrossEntropy,
    NegativeLogLikelihood,
)
from .regression import MAE, MSE, RMSE, PearsonCorrelation, Loss, Torch, Caffe
from .distributed import allreduce_metric

__all__ = [
    "EvalMetric",
    "CompositeEvalMetric",
    "Accuracy",
    "TopKAccuracy",
    "F1",
    "MCC",
    "Perplexity",
    "MAE",
    "MSE",
    "RMSE",
    "CrossEntropy",
    "NegativeLogLikelihood",
    "PearsonCorrelation",
    "PCC",
    "Loss",
    "Torch",
    "Caffe",
    "CustomMetric",
    "np",
    "create",
    "register",
    "alias",
    "check_label_shapes",
    "allreduce_metric",
]
