# A legacy (runner-based) BentoML service for bentoray's end-to-end test
# (scripts/e2e.sh, native mode, BentoML 1.4). Two runners with two methods
# each, one batchable and one not, and one API per method, so a method bound
# to the wrong runner method (bentoml.ray's Bug A) shows in the answer.
import bentoml
import numpy as np
from bentoml.io import NumpyNdarray
from bentoml.legacy import Runner, Service
from echo_runnable import EchoRunnable

iris_clf = bentoml.sklearn.get("iris_clf:latest").to_runner()
echo = Runner(EchoRunnable, name="echo")

svc = Service("iris_classifier", runners=[iris_clf, echo])


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def classify(arr: np.ndarray) -> np.ndarray:
    return await iris_clf.predict.async_run(arr)


# Sync APIs run in BentoML's worker threads and use the blocking `.run`.
@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
def proba(arr: np.ndarray) -> np.ndarray:
    return iris_clf.predict_proba.run(arr)


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def double(arr: np.ndarray) -> np.ndarray:
    return await echo.double.async_run(arr)


@svc.api(input=NumpyNdarray(), output=NumpyNdarray(), route="/v1/negate")
def negate(arr: np.ndarray) -> np.ndarray:
    return echo.negate.run(arr)
