# A new-style (BentoML 1.2+ `@bentoml.service`) bento for bentoray's
# end-to-end test (scripts/e2e.sh, services mode): Gateway -> Middle -> Leaf.
# Every answer names the service and the process that computed it, so the
# test can tell that a dependency's code ran in that dependency's own
# replicas (their PIDs are in Ray's dashboard), and it covers sync and async
# APIs, a pydantic argument, a file (`Path`) passed on to a dependency,
# `to_async` / `to_sync`, a batchable API in a dependency and a streaming API
# called through a dependency.
import os
from collections.abc import AsyncGenerator, Generator
from pathlib import Path

import bentoml
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    qty: int
    tags: list[str] = []


def served_by(service: str) -> dict:
    return {"service": service, "pid": os.getpid()}


@bentoml.service(resources={"cpu": "1"})
class Leaf:
    @bentoml.api
    def reverse(self, text: str) -> dict:
        return {"reversed": text[::-1], **served_by("Leaf")}

    @bentoml.api
    async def total(self, item: Item) -> dict:
        # The argument arrives as the caller's pydantic model.
        return {
            "item_type": type(item).__name__,
            "name": item.name,
            "total": item.qty * max(1, len(item.tags)),
            **served_by("Leaf"),
        }

    @bentoml.api
    def count(self, n: int) -> Generator[str, None, None]:
        for i in range(n):
            yield f"{i};"


@bentoml.service(resources={"cpu": "500m"})
class Middle:
    leaf = bentoml.depends(Leaf)

    # Each answer carries the size of the batch it ran in.
    @bentoml.api(batchable=True, max_batch_size=8, max_latency_ms=300)
    def double(self, xs: list[float]) -> list[dict]:
        return [{"value": 2 * x, "batch": len(xs), **served_by("Middle")} for x in xs]

    @bentoml.api
    async def relay(self, text: str) -> dict:
        leaf = await self.leaf.to_async.reverse(text)
        return {"upper": text.upper(), "leaf": leaf, **served_by("Middle")}

    @bentoml.api
    def inspect(self, item: Item) -> dict:
        # A sync API calling an async one of its dependency.
        leaf = self.leaf.to_sync.total(item=item)
        return {"tags": sorted(item.tags), "leaf": leaf, **served_by("Middle")}

    @bentoml.api
    def measure(self, document: Path) -> dict:
        data = document.read_bytes()
        return {"bytes": len(data), "lines": data.count(b"\n"), **served_by("Middle")}

    @bentoml.api
    async def count(self, n: int) -> AsyncGenerator[str, None]:
        async for chunk in self.leaf.to_async.count(n):
            yield chunk.upper() if chunk else chunk


@bentoml.service(workers=2, traffic={"max_concurrency": 32})
class Gateway:
    middle = bentoml.depends(Middle)

    @bentoml.api
    async def chain(self, text: str) -> dict:
        return {"middle": await self.middle.relay(text), **served_by("Gateway")}

    @bentoml.api
    def order(self, item: Item) -> dict:
        return {"middle": self.middle.inspect(item=item), **served_by("Gateway")}

    @bentoml.api
    async def double(self, x: float) -> dict:
        [middle] = await self.middle.to_async.double([x])
        return {"middle": middle, **served_by("Gateway")}

    @bentoml.api
    async def upload(self, document: Path) -> dict:
        # The uploaded file, as BentoML hands it to the API, passed on.
        measured = await self.middle.to_async.measure(document)
        return {"middle": measured, "suffix": document.suffix, **served_by("Gateway")}

    @bentoml.api
    async def stream(self, n: int) -> AsyncGenerator[str, None]:
        async for chunk in self.middle.count(n):
            yield chunk
