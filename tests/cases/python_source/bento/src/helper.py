import bentoml


@bentoml.service
class Helper:
    @bentoml.api(batchable=True
    def twice(self, xs: list[int]) -> list[int]:
        return [2 * x for x in xs]
