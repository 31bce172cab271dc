import bentoml
from helper import Helper


@bentoml.service
class Api:
    helper = bentoml.depends(Helper)

    @bentoml.api
    def run(self, x: int) -> int:
        return self.helper.twice([x])[0]
