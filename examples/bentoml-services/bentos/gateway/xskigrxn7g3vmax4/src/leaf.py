import os

import bentoml

# Decided when the service is imported: bentoray cannot know it.
BATCH = os.environ.get("LEAF_BATCH") == "1"


@bentoml.service(resources={"cpu": "500m", "memory": "512Mi"}, workers=1)
class Leaf:
    @bentoml.api(batchable=BATCH)
    def embed(self, xs: list[float]) -> list[float]:
        return xs

    @bentoml.api(batchable=True, batch_dim=(0, 1))
    def pairs(self, xs: list[list[float]]) -> list[list[float]]:
        return xs
