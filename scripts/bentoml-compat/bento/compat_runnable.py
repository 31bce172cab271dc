import numpy as np

try:  # BentoML 1.2+
    from bentoml.legacy import Runnable
except ImportError:  # BentoML 1.1
    from bentoml import Runnable


class CompatRunnable(Runnable):
    SUPPORTED_RESOURCES = ("cpu",)
    SUPPORTS_CPU_MULTI_THREADING = True

    @Runnable.method(batchable=True, batch_dim=0)
    def rows(self, x):
        # Each row [v] becomes [2v, rows in this call]: a caller sees the size
        # of the batch its request ran in.
        x = np.asarray(x, dtype=float).reshape(-1, 1)
        return np.hstack([2 * x, np.full_like(x, len(x))])

    @Runnable.method(batchable=True, batch_dim=(1, 1))
    def columns(self, x):
        # Batched along axis 1: each column c becomes c + 10 * (columns in this call).
        x = np.asarray(x, dtype=float)
        return x + 10 * x.shape[1]

    @Runnable.method(batchable=True, batch_dim=0)
    def items(self, xs):
        # Python lists are joined by concatenation: each item gets the batch length.
        return [[v, len(xs)] for v in xs]

    @Runnable.method(batchable=False)
    def negate(self, x):
        return -np.asarray(x)
