"""Entry service of a hand-made bento: aliased imports, a dependency chain
(Gateway -> Middle -> Leaf), a URL dependency, a streaming API, and the
resources, workers and traffic settings that bentoray maps to Ray options."""

import bentoml as bm
from bentoml import api as endpoint
from middle import Middle


@bm.service(workers=2, traffic={"max_concurrency": 32, "timeout": 60})
class Gateway:
    middle = bm.depends(Middle)
    remote = bm.depends(url="http://127.0.0.1:3001")

    @endpoint
    async def ask(self, text: str) -> str:
        return (await self.middle.to_async.shout([text]))[0]

    @endpoint(route="/stream")
    async def stream(self, text: str):
        for word in text.split():
            yield word
