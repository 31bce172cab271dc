//! The services runtime's own logic, run by plain Python on the entrypoint
//! `build` emits for the services example (no BentoML, no Ray: stand-ins
//! for a DeploymentHandle and for loaded services). Serving real bentos on
//! real Ray is `scripts/e2e.sh`'s services mode.

mod common;

use common::{files_for, python_json, python3, root};

/// Runs `script` with the example's emitted entrypoint (its last line,
/// which builds the application, dropped) executed into `rt`.
fn run(test: &str, script: &str) -> Option<serde_json::Value> {
    let python = python3(test)?;
    let name = "examples/services/bentoray.toml";
    let files = files_for(&root().join(name), name);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(&files[1].name);
    std::fs::write(&path, &files[1].contents).unwrap();
    let prelude = r#"
import asyncio, json, sys, types
source = open(sys.argv[1], encoding="ascii").read()
head, _, last = source.rstrip("\n").rpartition("\n")
assert last == "app = _build_application()", last
rt = {}
exec(compile(head, sys.argv[1], "exec"), rt)
"#;
    Some(python_json(python, &format!("{prelude}{script}"), &path))
}

const STAND_INS: &str = r#"
class Response:
    def __init__(self, value):
        self.value = value
    def result(self, timeout_s=None):
        calls.append(("result", timeout_s))
        return self.value
    def __await__(self):
        async def get():
            return self.value
        return get().__await__()

class Stream:
    def __init__(self, items):
        self.items = items
    def __iter__(self):
        return iter(self.items)
    def __aiter__(self):
        async def gen():
            for i in self.items:
                yield i
        return gen()

class Handle:
    def options(self, method_name, stream):
        calls.append(("options", method_name, stream))
        return Method(method_name, stream)

class Method:
    def __init__(self, name, stream):
        self.name, self.stream = name, stream
    def remote(self, *args, **kwargs):
        calls.append(("remote", self.name, args, kwargs))
        return Stream([f"{self.name}:{a}" for a in args]) if self.stream else Response((self.name, args, kwargs))

def api(func, stream=False):
    return types.SimpleNamespace(func=func, is_stream=stream)

async def echo_async(self, x): ...
def echo_sync(self, x): ...
async def words(self, x):
    yield x
calls = []
service = types.SimpleNamespace(
    config={"traffic": {"timeout": 10}},
    apis={"a": api(echo_async), "s": api(echo_sync), "w": api(words, stream=True)},
)
"#;

#[test]
fn dependency_clients_call_handles_as_bentoml_clients_would() {
    let script = format!(
        "{STAND_INS}{}",
        r#"
client = rt["_ServiceClient"](Handle(), service)
out = {}
# Sync API, plain attribute: a sync call waiting with the dependency's timeout + 1%.
out["sync"] = list(client.s(1, k=2))
out["sync_timeout"] = [c for c in calls if c[0] == "result"][-1][1]
# Async API, plain attribute: a coroutine.
out["async_is_coroutine"] = asyncio.iscoroutinefunction(client.a)
out["async"] = list(asyncio.run(client.a(3)))
out["to_sync_of_async"] = list(client.to_sync.a(4))
out["to_async_of_sync"] = list(asyncio.run(client.to_async.s(5)))
async def collect(gen):
    return [x async for x in gen]
out["stream_async"] = asyncio.run(collect(client.w(6)))
out["stream_sync"] = list(client.to_sync.w(7))
out["stream_options"] = sorted({c[2] for c in calls if c[0] == "options" and c[1] == "w"})
# A sync call from inside an event loop is refused with advice.
async def misuse():
    try:
        client.s(8)
    except RuntimeError as e:
        return str(e)
out["in_loop"] = asyncio.run(misuse())
print(json.dumps(out))
"#
    );
    let Some(out) = run(
        "dependency_clients_call_handles_as_bentoml_clients_would",
        &script,
    ) else {
        return;
    };
    assert_eq!(out["sync"], serde_json::json!(["s", [1], {"k": 2}]));
    assert_eq!(out["sync_timeout"], serde_json::json!(10.1));
    assert_eq!(out["async_is_coroutine"], true);
    assert_eq!(out["async"], serde_json::json!(["a", [3], {}]));
    assert_eq!(out["to_sync_of_async"], serde_json::json!(["a", [4], {}]));
    assert_eq!(out["to_async_of_sync"], serde_json::json!(["s", [5], {}]));
    assert_eq!(out["stream_async"], serde_json::json!(["w:6"]));
    assert_eq!(out["stream_sync"], serde_json::json!(["w:7"]));
    assert_eq!(out["stream_options"], serde_json::json!([true]));
    let refused = out["in_loop"].as_str().unwrap();
    assert!(refused.contains("to_async.s"), "{refused}");
}

#[test]
fn start_up_check_compares_services_apis_and_dependencies() {
    let script = r#"
# Loaded services shaped like the example's SERVICES (what BentoML reports).
def fake(name, services):
    compiled = rt["SERVICES"][name]
    apis = {}
    for api_name, info in compiled["apis"].items():
        if info["streaming"]:
            async def f(self):
                yield 1
        elif info["is_async"]:
            async def f(self): ...
        else:
            def f(self): ...
        apis[api_name] = types.SimpleNamespace(
            func=f, batchable=info["batchable"], batch_dim=tuple(info["batch_dim"]),
            is_stream=info["streaming"],
        )
    deps = {
        attr: types.SimpleNamespace(on=types.SimpleNamespace(name=on), url=None, deployment=None)
        for attr, on in compiled["dependencies"].items()
    }
    return types.SimpleNamespace(name=name, apis=apis, dependencies=deps)

services = {name: fake(name, None) for name in rt["SERVICES"]}
entry = services[rt["ENTRY_SERVICE"]]
out = {}
def verdict():
    try:
        rt["_check_services"](entry, services)
        return "ok"
    except RuntimeError as e:
        return str(e)
out["same"] = verdict()
services["Middle"].apis["shout"].batchable = False
out["not_batchable"] = verdict()
services["Middle"].apis["shout"].batchable = True
services["Leaf"].dependencies["extra"] = types.SimpleNamespace(
    on=types.SimpleNamespace(name="Gateway"), url=None, deployment=None)
out["new_dependency"] = verdict()
del services["Leaf"]
out["missing_service"] = verdict()
print(json.dumps(out))
"#;
    let Some(out) = run(
        "start_up_check_compares_services_apis_and_dependencies",
        script,
    ) else {
        return;
    };
    assert_eq!(out["same"], "ok");
    for (case, needle) in [
        ("not_batchable", "service 'Middle' has APIs"),
        ("new_dependency", "service 'Leaf' depends on"),
        ("missing_service", "services are ['Gateway', 'Middle']"),
    ] {
        let message = out[case].as_str().unwrap();
        assert!(
            message.contains(needle) && message.contains("run `bentoray build` again"),
            "{case}: {message}"
        );
    }
}
