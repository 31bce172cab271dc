# A legacy (runner-based) bento for scripts/bentoml-compat.sh, buildable by
# every BentoML release bentoray supports (1.1 to 1.4): a framework runner
# (sklearn) and a custom runnable with batchable methods along axis 0, axis 1
# and over Python lists, and one API per runner method.
import bentoml
import numpy as np
from bentoml.io import JSON, NumpyNdarray
from compat_runnable import CompatRunnable

try:  # BentoML 1.2+
    from bentoml.legacy import Runner, Service
except ImportError:  # BentoML 1.1
    from bentoml import Runner, Service

iris_clf = bentoml.sklearn.get("iris_clf:latest").to_runner()
compat = Runner(CompatRunnable, name="compat")

svc = Service("compat_service", runners=[iris_clf, compat])


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def classify(arr: np.ndarray) -> np.ndarray:
    return await iris_clf.predict.async_run(arr)


# Sync APIs run in BentoML's worker threads and use the blocking `.run`.
@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
def proba(arr: np.ndarray) -> np.ndarray:
    return iris_clf.predict_proba.run(arr)


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def rows(arr: np.ndarray) -> np.ndarray:
    return await compat.rows.async_run(arr)


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def columns(arr: np.ndarray) -> np.ndarray:
    return await compat.columns.async_run(arr)


@svc.api(input=JSON(), output=JSON())
async def items(xs):
    return await compat.items.async_run(xs)


@svc.api(input=NumpyNdarray(), output=NumpyNdarray(), route="/v1/negate")
def negate(arr: np.ndarray) -> np.ndarray:
    return compat.negate.run(arr)
