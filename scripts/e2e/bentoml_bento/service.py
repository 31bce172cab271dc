# A BentoML 1.1 service with one single-method runner, for the `bentoml`
# entrypoint mode of bentoray's end-to-end test (bentoml.ray.deployment is
# only correct for single-method runners: see bentoray's README).
import bentoml
import numpy as np
from bentoml.io import NumpyNdarray

iris_clf = bentoml.sklearn.get("iris_clf:latest").to_runner()

svc = bentoml.Service("iris_classifier", runners=[iris_clf])


@svc.api(input=NumpyNdarray(), output=NumpyNdarray())
async def classify(arr: np.ndarray) -> np.ndarray:
    return await iris_clf.predict.async_run(arr)
