import numpy as np
from bentoml.legacy import Runnable


class EchoRunnable(Runnable):
    SUPPORTED_RESOURCES = ("cpu",)
    SUPPORTS_CPU_MULTI_THREADING = True

    @Runnable.method(batchable=True, batch_dim=0)
    def double(self, x):
        # Each row [v] becomes [2v, rows in this call]: every caller sees the
        # size of the batch its request was run in.
        x = np.asarray(x, dtype=float).reshape(-1, 1)
        return np.hstack([2 * x, np.full_like(x, len(x))])

    @Runnable.method(batchable=False)
    def negate(self, x):
        return -np.asarray(x)
