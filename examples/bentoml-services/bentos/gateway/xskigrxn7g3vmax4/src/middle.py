from bentoml import api, depends, service
from leaf import Leaf


@service(resources={"cpu": "250m", "memory": "256Mi"}, traffic={"timeout": 30})
class Middle:
    leaf = depends(Leaf)

    @api(batchable=True, max_batch_size=16, max_latency_ms=50)
    def shout(self, texts: list[str]) -> list[str]:
        return [t.upper() for t in texts]
