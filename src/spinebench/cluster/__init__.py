"""Running on a Ray cluster: the build's decoding and embedding, and evaluation, sharded across workers;
the driver is the only writer.

`ray` is an optional extra (`pip install 'spinebench[ray]'`), imported only when a cluster is asked for.
"""

from spinebench.cluster._build import RayConversions, RayEncoding
from spinebench.cluster._eval import RayEvalExecutor
from spinebench.cluster._ray import RAY_HELP, ClusterError, connect, require_ray
from spinebench.cluster._vllm import (
    QUESTION_COLUMN,
    RayVLLMExecutor,
    completion_from_row,
    postprocess_row,
    preprocess_row,
    processor_config,
    question_record,
)

__all__ = [
    "QUESTION_COLUMN",
    "RAY_HELP",
    "ClusterError",
    "RayConversions",
    "RayEncoding",
    "RayEvalExecutor",
    "RayVLLMExecutor",
    "completion_from_row",
    "connect",
    "postprocess_row",
    "preprocess_row",
    "processor_config",
    "question_record",
    "require_ray",
]
