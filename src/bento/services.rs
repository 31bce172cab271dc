//! Deployment units learnt from `bento.yaml` and the bento's Python sources:
//! new-style services (BentoML 1.2+) and legacy custom runnables.
//!
//! `bento.yaml` is the source of truth where it says something (service
//! names, dependencies, `config`, the entry service's routes); the sources
//! give what it lacks (the APIs of other services, batching parameters,
//! dependency attributes, custom runnables' methods).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::python::{self, Exposed, Lit, Sources};
use super::{BentoProblem, Dependency, Method, RunnerYaml, Sourced, Unit, UnitKind, tag};
use crate::diagnostic::rules;

/// BentoML's defaults for `@bentoml.api` batching parameters.
const DEFAULT_MAX_BATCH_SIZE: i64 = 100;
const DEFAULT_MAX_LATENCY_MS: f64 = 60_000.0;
const BENTOML_DEFAULT: &str = "BentoML's default";

/// How many unreadable files a problem names.
const LISTED: usize = 5;
/// Most classes followed up a custom runnable's bases.
const MAX_BASES: usize = 16;

#[derive(Debug, Deserialize)]
pub struct ServiceYaml {
    name: String,
    /// `BentoModelInfo` entries (`tag`, `module`, ...); a plain tag is
    /// accepted too.
    #[serde(default)]
    models: Vec<serde_norway::Value>,
    #[serde(default)]
    dependencies: Vec<DependencyYaml>,
    #[serde(default)]
    config: Option<IndexMap<String, serde_norway::Value>>,
}

/// A dependency: a service name (before BentoML 1.3.6) or an object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DependencyYaml {
    Name(String),
    Object {
        #[serde(default)]
        service: Option<String>,
        #[serde(default)]
        deployment: Option<String>,
        #[serde(default)]
        cluster: Option<String>,
        #[serde(default)]
        url: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
pub struct SchemaYaml {
    #[serde(default)]
    pub routes: Vec<RouteYaml>,
}

#[derive(Debug, Deserialize)]
pub struct RouteYaml {
    name: String,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    batchable: Option<bool>,
    #[serde(default)]
    is_task: bool,
    /// The output's schema; `is_stream: true` for streaming APIs.
    #[serde(default)]
    output: Option<serde_norway::Value>,
}

impl RouteYaml {
    fn is_stream(&self) -> bool {
        self.output
            .as_ref()
            .and_then(|o| o.get("is_stream"))
            .and_then(serde_norway::Value::as_bool)
            .unwrap_or(false)
    }
}

/// A method known by name only (an API of the legacy API server, a
/// Diffusers helper), not batchable.
pub fn plain_method(name: &str, origin: impl Into<Cow<'static, str>>) -> Method {
    Method {
        name: name.to_string(),
        batchable: Some(false),
        batch_dim: Some((0, 0)),
        max_batch_size: None,
        max_latency_ms: None,
        route: None,
        streaming: false,
        task: false,
        is_async: None,
        origin: origin.into(),
        unknown: Vec::new(),
    }
}

/// One problem naming the sources that could not be read, if any.
pub fn unreadable_sources(sources: &Sources) -> Option<BentoProblem> {
    let (first, _) = sources.unreadable.first()?;
    let listed: Vec<String> = sources
        .unreadable
        .iter()
        .take(LISTED)
        .map(|(file, why)| format!("{file} ({why})"))
        .collect();
    let more = sources.unreadable.len().saturating_sub(LISTED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(
        BentoProblem::new(
            &rules::PYTHON_SOURCE,
            format!(
                "{} of the bento's Python sources cannot be read: {}{more}; what they declare is unknown",
                sources.unreadable.len(),
                listed.join(", ")
            ),
        )
        .help(format!(
            "fix {first} and rebuild the bento; services and runnables declared there are checked only as far as bento.yaml describes them"
        )),
    )
}

/// The entry service's name, which must be one of the services.
pub fn entry_service(
    entry: &Option<String>,
    services: &[ServiceYaml],
    yaml_path: &Path,
) -> Result<String, BentoProblem> {
    let broken = |why: String| {
        BentoProblem::new(
            &rules::BROKEN_BENTO,
            format!("{} {why}", yaml_path.display()),
        )
        .help("rebuild the bento with `bentoml build`")
    };
    // Service names reach the generated files: BentoML's own rule for them.
    for s in services {
        if let Err(why) = tag::validate_part("service name", &s.name.to_lowercase()) {
            return Err(broken(format!("lists an invalid service name: {why}")));
        }
    }
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = names.iter().find(|n| !seen.insert(**n)) {
        return Err(broken(format!("lists the service `{twice}` twice")));
    }
    // BentoML lists every in-bento dependency as a service of its own.
    for s in services {
        for d in &s.dependencies {
            let target = match d {
                DependencyYaml::Name(name) => Some(name),
                DependencyYaml::Object { service, .. } => service.as_ref(),
            };
            if let Some(t) = target.filter(|t| !seen.contains(t.as_str())) {
                return Err(broken(format!(
                    "says service `{}` depends on service `{t}`, which is not among its services",
                    s.name
                )));
            }
        }
    }
    match entry {
        Some(e) if names.contains(&e.as_str()) => Ok(e.clone()),
        Some(e) => Err(broken(format!(
            "names the entry service `{e}`, which is not among its {} services",
            names.len()
        ))),
        None => Err(broken("has services but no `entry_service`".into())),
    }
}

/// One unit per service, in `bento.yaml` order.
pub fn units(
    services: &[ServiceYaml],
    entry: &str,
    routes: Option<&[RouteYaml]>,
    sources: &Sources,
    problems: &mut Vec<BentoProblem>,
) -> Vec<Unit> {
    services
        .iter()
        .map(|s| service_unit(s, s.name == entry, routes, sources, problems))
        .collect()
}

fn service_unit(
    service: &ServiceYaml,
    entry: bool,
    routes: Option<&[RouteYaml]>,
    sources: &Sources,
    problems: &mut Vec<BentoProblem>,
) -> Unit {
    let found = sources.service(&service.name);
    let mut config: IndexMap<String, Sourced<Value>> = service
        .config
        .iter()
        .flatten()
        .filter_map(|(k, v)| {
            let value = serde_json::to_value(v).ok()?;
            Some((
                k.clone(),
                Sourced {
                    value: Some(value),
                    from: "bento.yaml".into(),
                },
            ))
        })
        .collect();
    // The decorator fills in what bento.yaml lacks (hand-made bentos).
    if let Some(f) = &found {
        for (key, lit) in f.class.service.iter().flatten() {
            if key == "name" || config.contains_key(key) {
                continue;
            }
            config.insert(
                key.clone(),
                Sourced {
                    value: match lit {
                        Lit::Known(v) => Some(v.clone()),
                        Lit::Unknown(_) => None,
                    },
                    from: format!("@bentoml.service in {}:{}", f.file, f.class.line).into(),
                },
            );
        }
    }

    let mut dependencies = Vec::new();
    for d in &service.dependencies {
        dependencies.push(match d {
            DependencyYaml::Name(name) => Dependency {
                attribute: None,
                service: Some(name.clone()),
                url: None,
                deployment: None,
                cluster: None,
            },
            DependencyYaml::Object {
                service,
                deployment,
                cluster,
                url,
            } => Dependency {
                attribute: None,
                service: service.clone(),
                url: url.clone(),
                deployment: deployment.clone(),
                cluster: cluster.clone(),
            },
        });
    }
    // Attribute names come from the source, matched by target service (or
    // URL / deployment); a dependency only the source shows is added.
    if let Some(f) = &found {
        for attr in &f.class.depends {
            let target_service = attr.on.as_ref().map(|class| {
                sources
                    .class(class, |c| c.service.is_some())
                    .and_then(|t| t.class.service_name().map(str::to_string))
                    .unwrap_or_else(|| class.clone())
            });
            let arg = |k: &str| attr.args.get(k).and_then(Lit::as_str).map(str::to_string);
            let from_source = Dependency {
                attribute: Some(attr.attribute.clone()),
                service: target_service,
                url: arg("url"),
                deployment: arg("deployment"),
                cluster: arg("cluster"),
            };
            let same = |d: &Dependency| {
                d.attribute.is_none()
                    && d.service == from_source.service
                    && d.url == from_source.url
                    && d.deployment == from_source.deployment
            };
            match dependencies.iter_mut().find(|d| same(d)) {
                Some(d) => d.attribute = from_source.attribute,
                None => dependencies.push(from_source),
            }
        }
    }

    let (mut methods, mut methods_from) = match &found {
        Some(f) => (
            Some(service_apis(f)),
            format!("class `{}` in {}", f.class.name, f.file),
        ),
        None => (None, "not found in the bento's Python sources".to_string()),
    };
    // bento.yaml records the entry service's routes: they are the truth
    // for names and batchability, and stand in for a missing class.
    if entry && let Some(routes) = routes {
        let apis = methods.get_or_insert_with(Vec::new);
        for route in routes {
            // BentoML 1.2 let `name=` rename an API in the schema only; its
            // route still identifies it.
            let same = |m: &Method| {
                m.name == route.name || (route.route.is_some() && m.route == route.route)
            };
            match apis.iter_mut().find(|m| same(m)) {
                Some(m) => {
                    if let Some(b) = route.batchable {
                        m.batchable = Some(b);
                        m.unknown.retain(|(arg, _)| arg != "batchable");
                    }
                }
                None => apis.push(Method {
                    batchable: route.batchable,
                    route: route.route.clone(),
                    streaming: route.is_stream(),
                    task: route.is_task,
                    ..plain_method(&route.name, "schema.routes in bento.yaml")
                }),
            }
        }
        if found.is_none() {
            methods_from = "schema.routes in bento.yaml".into();
        }
    }
    if methods.is_none() {
        let mut p = BentoProblem::new(
            &rules::METHODS_UNKNOWN,
            format!(
                "the APIs of service `{}` cannot be known: {methods_from}",
                service.name
            ),
        )
        .help("batching tables for this service are passed through unchecked: make sure each API exists and is batchable");
        p.unit = Some(service.name.as_str().into());
        problems.push(p);
    } else {
        non_literal_problems(&service.name, "service", methods.iter().flatten(), problems);
    }
    let models = service
        .models
        .iter()
        .filter_map(|m| match m {
            serde_norway::Value::String(tag) => Some(tag.clone()),
            other => other.get("tag")?.as_str().map(str::to_string),
        })
        .collect();
    Unit {
        name: service.name.clone(),
        kind: UnitKind::Service { entry },
        methods: methods.map(Arc::from),
        methods_from: methods_from.into(),
        models,
        config,
        dependencies,
    }
}

/// The APIs and tasks of a service class, named by their method: BentoML
/// keys `svc.apis` (and so handles and clients) by the attribute name. A
/// `name=` argument renamed only the schema entry (BentoML 1.2) and is
/// ignored since 1.3.
fn service_apis(found: &python::Found<'_>) -> Vec<Method> {
    let mut apis = Vec::new();
    for f in &found.class.methods {
        if f.exposed == Exposed::RunnableMethod {
            continue;
        }
        let name = f.function.clone();
        let mut method = method_from(f, &name, found.file);
        method.route = Some(match f.args.get("route") {
            Some(Lit::Known(Value::String(r))) => r.clone(),
            _ if name == "__call__" => "/".to_string(),
            _ => format!("/{name}"),
        });
        method.task = f.exposed == Exposed::Task;
        method.max_batch_size = Some(sourced_number(
            f.args.get("max_batch_size"),
            DEFAULT_MAX_BATCH_SIZE,
            Value::as_i64,
            method.origin.clone(),
            &mut method.unknown,
            "max_batch_size",
        ));
        method.max_latency_ms = Some(sourced_number(
            f.args.get("max_latency_ms"),
            DEFAULT_MAX_LATENCY_MS,
            Value::as_f64,
            method.origin.clone(),
            &mut method.unknown,
            "max_latency_ms",
        ));
        apis.push(method);
    }
    apis
}

fn sourced_number<T>(
    lit: Option<&Lit>,
    default: T,
    read: impl Fn(&Value) -> Option<T>,
    origin: Cow<'static, str>,
    unknown: &mut Vec<(String, String)>,
    arg: &str,
) -> Sourced<T> {
    match lit {
        None => Sourced {
            value: Some(default),
            from: BENTOML_DEFAULT.into(),
        },
        Some(Lit::Known(v)) if read(v).is_some() => Sourced {
            value: read(v),
            from: origin,
        },
        Some(other) => {
            unknown.push((arg.to_string(), lit_text(other)));
            Sourced {
                value: None,
                from: origin,
            }
        }
    }
}

fn lit_text(lit: &Lit) -> String {
    match lit {
        Lit::Known(v) => v.to_string(),
        Lit::Unknown(text) => text.clone(),
    }
}

/// The facts common to runnable methods and APIs: batchable, batch_dim,
/// streaming, async, where.
fn method_from(f: &python::Function, name: &str, file: &str) -> Method {
    let mut unknown = Vec::new();
    let batchable = match f.args.get("batchable") {
        None => Some(false),
        Some(lit) => lit.as_bool().or_else(|| {
            unknown.push(("batchable".to_string(), lit_text(lit)));
            None
        }),
    };
    let batch_dim = match f.args.get("batch_dim") {
        None => Some((0, 0)),
        Some(lit) => batch_dim(lit).or_else(|| {
            unknown.push(("batch_dim".to_string(), lit_text(lit)));
            None
        }),
    };
    Method {
        name: name.to_string(),
        batchable,
        batch_dim,
        max_batch_size: None,
        max_latency_ms: None,
        route: None,
        streaming: f.is_generator,
        task: false,
        is_async: Some(f.is_async),
        origin: format!("{file}:{}", f.line).into(),
        unknown,
    }
}

/// An int `d` is `(d, d)`; a pair is `(in, out)`.
fn batch_dim(lit: &Lit) -> Option<(i64, i64)> {
    match lit {
        Lit::Known(Value::Number(n)) => n.as_i64().map(|d| (d, d)),
        Lit::Known(Value::Array(pair)) => match pair.as_slice() {
            [i, o] => Some((i.as_i64()?, o.as_i64()?)),
            _ => None,
        },
        _ => None,
    }
}

/// A warning for each method whose batchability is not a literal, placed
/// at its batching table (only where one is configured).
fn non_literal_problems<'a>(
    unit: &str,
    noun: &str,
    methods: impl Iterator<Item = &'a Method>,
    problems: &mut Vec<BentoProblem>,
) {
    for m in methods {
        for (arg, expr) in &m.unknown {
            let mut p = BentoProblem::new(
                &rules::METHODS_UNKNOWN,
                format!(
                    "`{arg}` of `{}` ({noun} `{unit}`, {}) is `{expr}`, not a literal; bentoray cannot check it",
                    m.name, m.origin
                ),
            )
            .help(format!(
                "write `{arg}` as a literal in the decorator, or make sure the batching table fits what `{expr}` is at run time"
            ));
            p.unit = Some(unit.into());
            p.method = Some(m.name.as_str().into());
            problems.push(p);
        }
    }
}

/// A custom runnable's methods from its class (`@bentoml.Runnable.method`,
/// inherited ones included) and `add_method` calls.
pub fn runnable_methods(
    runner: &RunnerYaml,
    sources: &mut Sources,
    problems: &mut Vec<BentoProblem>,
) -> (Option<Vec<Method>>, String) {
    let class_name = runner.runnable_type.as_str();
    let Some(found) = sources.locate(class_name, python::Class::is_runnable) else {
        let mut p = BentoProblem::new(
            &rules::METHODS_UNKNOWN,
            format!(
                "runner `{}` uses the custom runnable `{class_name}`, whose class is not in the bento's Python sources; its methods cannot be checked",
                runner.name
            ),
        )
        .help("batching tables for this runner are passed through unchecked: make sure each method name exists and is batchable");
        p.unit = Some(runner.name.as_str().into());
        problems.push(p);
        return (None, "not found in the bento's Python sources".into());
    };
    let from = format!("class `{class_name}` in {}", sources.at(found).file);
    let mut methods: Vec<Method> = Vec::new();
    // The class and its bases, nearest first (breadth first, as Python's
    // method resolution mostly is); a subclass's method wins over a base's
    // of the same name. A base that is not in the sources may declare
    // methods too: then the methods are unknown, not guessed.
    let mut chain = vec![found];
    let mut next = 0;
    while next < chain.len() && chain.len() <= MAX_BASES {
        let bases = sources.at(chain[next]).class.bases.clone();
        next += 1;
        for base in &bases {
            if matches!(base.as_str(), "bentoml.Runnable" | "object") {
                continue;
            }
            let name = base.rsplit('.').next().unwrap_or(base);
            sources.look_for(name);
            match sources.locate(name, |_| true) {
                Some(b) if chain.contains(&b) => {}
                Some(b) => chain.push(b),
                None => {
                    let mut p = BentoProblem::new(
                        &rules::METHODS_UNKNOWN,
                        format!(
                            "the custom runnable `{class_name}` of runner `{}` derives from `{base}`, which is not in the bento's Python sources; its methods cannot be checked",
                            runner.name
                        ),
                    )
                    .help("batching tables for this runner are passed through unchecked: make sure each method name exists and is batchable");
                    p.unit = Some(runner.name.as_str().into());
                    problems.push(p);
                    return (None, from);
                }
            }
        }
    }
    let chain: Vec<python::Found<'_>> = chain.into_iter().map(|at| sources.at(at)).collect();
    for link in &chain {
        for f in &link.class.methods {
            if f.exposed == Exposed::RunnableMethod && !methods.iter().any(|m| m.name == f.function)
            {
                methods.push(method_from(f, &f.function, link.file));
            }
        }
    }
    for (file, add) in sources.add_methods(class_name) {
        let Some(name) = add.name.as_str() else {
            let mut p = BentoProblem::new(
                &rules::METHODS_UNKNOWN,
                format!(
                    "`{class_name}.add_method` at line {} names its method `{}`, not a literal; the methods of runner `{}` cannot be checked",
                    add.line,
                    lit_text(&add.name),
                    runner.name
                ),
            )
            .help("write the method name as a string literal, or make sure each batching table names an existing, batchable method");
            p.unit = Some(runner.name.as_str().into());
            problems.push(p);
            return (None, from);
        };
        let f = python::Function {
            function: name.to_string(),
            line: add.line,
            exposed: Exposed::RunnableMethod,
            args: add.args.clone(),
            is_async: false,
            is_generator: false,
        };
        let mut m = method_from(&f, name, file);
        m.is_async = None;
        methods.retain(|existing| existing.name != name);
        methods.push(m);
    }
    non_literal_problems(&runner.name, "runner", methods.iter(), problems);
    (Some(methods), from)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::bento::{self, Bento, BentoKind, BentoProblem, Sourced, UnitKind};
    use serde_json::json;

    /// Writes a bento directory (bento.yaml plus `src/` files) and loads it.
    fn load(yaml: &str, sources: &[(&str, &str)]) -> (Option<Bento>, Vec<BentoProblem>) {
        let dir = tempfile::tempdir().unwrap();
        let bento_dir = dir.path().join("b");
        std::fs::create_dir_all(bento_dir.join("src")).unwrap();
        std::fs::write(bento_dir.join("bento.yaml"), yaml).unwrap();
        for (name, text) in sources {
            let path = bento_dir.join("src").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let store = bento::StoreRoot {
            path: dir.path().join("store"),
            origin: "test",
        };
        let loaded = bento::load("./b", dir.path(), &store);
        let problems = loaded
            .problems
            .into_iter()
            .filter(|p| p.rule.code != "BR215")
            .collect();
        (loaded.bento, problems)
    }

    fn codes(problems: &[BentoProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.rule.code).collect()
    }

    const SPEC1: &str = "service: service:Front\nname: front\nversion: v1\nbentoml_version: 1.2.5\nentry_service: Front\nservices:\n- name: Front\n  service: ''\n  models: [{tag: 'clf:v3', module: bentoml.sklearn}]\n  dependencies: [Back]\n  config: {workers: 3}\n- name: Back\n  service: ''\n  models: []\n  dependencies: []\n  config: {}\nschema:\n  name: Front\n  type: service\n  routes:\n  - {name: go, route: /go, batchable: true, is_task: false}\n  - {name: job, route: /job, batchable: false, is_task: true}\nspec: 1\n";

    #[test]
    fn without_sources_the_entry_service_has_its_routes_and_others_are_unknown() {
        let (bento, problems) = load(SPEC1, &[]);
        let bento = bento.unwrap();
        assert_eq!(bento.kind, BentoKind::Services);
        assert_eq!(bento.service_name, "Front");
        let front = bento.unit("Front").unwrap();
        assert_eq!(front.kind, UnitKind::Service { entry: true });
        let go = front.method("go").unwrap();
        assert_eq!(go.batchable, Some(true));
        assert_eq!(go.origin, "schema.routes in bento.yaml");
        assert!(front.method("job").unwrap().task);
        assert_eq!(front.methods_from, "schema.routes in bento.yaml");
        assert_eq!(front.config["workers"].value, Some(json!(3)));
        assert_eq!(front.models, ["clf:v3"]);
        assert_eq!(front.dependencies[0].service.as_deref(), Some("Back"));
        let back = bento.unit("Back").unwrap();
        assert!(back.methods.is_none());
        // Only the unit without known APIs gets a (placed-later) warning.
        assert_eq!(codes(&problems), ["BR206"]);
        assert_eq!(problems[0].unit.as_deref(), Some("Back"));
        assert!(bento.unit("front").is_none(), "names are exact");
    }

    #[test]
    fn sources_fill_in_apis_dependencies_and_decorator_settings() {
        let service = "import bentoml as bm\nfrom other import Back\n\n@bm.service(workers=1, resources={'cpu': '2'})\nclass Front:\n    back = bm.depends(Back)\n    cloud = bm.depends(deployment='d', cluster='c')\n\n    @bm.api(batchable=FLAG)\n    def go(self, xs): ...\n\n    @bm.task\n    def job(self): ...\n";
        let other = "import bentoml\n\n@bentoml.service(name='Back', traffic={'timeout': 5})\nclass BackImpl:\n    @bentoml.api(max_batch_size=BIG)\n    async def run(self):\n        yield 1\n    # BentoML keys APIs by attribute: `name=` never renames one.\n    @bentoml.api(name='renamed')\n    def real(self): ...\n";
        let yaml = SPEC1.replace(
            "dependencies: [Back]",
            "dependencies: [{service: Back}, {deployment: d, cluster: c}]",
        );
        let (bento, problems) = load(&yaml, &[("service.py", service), ("other.py", other)]);
        let bento = bento.unwrap();
        let front = bento.unit("Front").unwrap();
        // bento.yaml's workers wins; the decorator adds resources.
        assert_eq!(front.config["workers"].value, Some(json!(3)));
        assert_eq!(
            front.config["resources"],
            Sourced {
                value: Some(json!({"cpu": "2"})),
                from: "@bentoml.service in src/service.py:4".into()
            }
        );
        // A non-literal batchable of the entry service is settled by its route.
        let go = front.method("go").unwrap();
        assert_eq!(go.batchable, Some(true));
        assert!(go.unknown.is_empty());
        assert_eq!(go.origin, "src/service.py:9");
        let attrs: Vec<_> = front
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.attribute.as_deref(),
                    d.service.as_deref(),
                    d.deployment.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            attrs,
            [
                (Some("back"), Some("Back"), None),
                (Some("cloud"), None, Some("d"))
            ]
        );
        let back = bento.unit("Back").unwrap();
        let run = back.method("run").unwrap();
        assert!(run.streaming && run.is_async == Some(true));
        assert_eq!(run.route.as_deref(), Some("/run"));
        assert_eq!(run.max_batch_size.as_ref().unwrap().value, None);
        assert_eq!(
            run.max_latency_ms.as_ref().unwrap().from,
            "BentoML's default"
        );
        assert_eq!(back.config["traffic"].value, Some(json!({"timeout": 5})));
        assert!(back.method("renamed").is_none());
        assert_eq!(back.method("real").unwrap().route.as_deref(), Some("/real"));
        // The unknown max_batch_size of `run` is a warning about that API.
        assert_eq!(codes(&problems), ["BR206"]);
        assert_eq!(problems[0].method.as_deref(), Some("run"));
    }

    #[test]
    fn routes_match_source_apis_by_name_or_route() {
        // BentoML 1.2 wrote `name=` into the schema; the route is the method's.
        let yaml = SPEC1.replace("{name: go, route: /go", "{name: shown, route: /go");
        let service = "import bentoml\n@bentoml.service\nclass Front:\n    @bentoml.api(name='shown', batchable=True)\n    def go(self, xs): ...\n    @bentoml.task\n    def job(self): ...\n";
        let (bento, _) = load(&yaml, &[("service.py", service)]);
        let bento = bento.unwrap();
        let names: Vec<&str> = bento
            .unit("Front")
            .unwrap()
            .methods
            .iter()
            .flat_map(|ms| ms.iter())
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names, ["go", "job"]);
    }

    #[test]
    fn an_entry_service_that_is_not_a_service_is_a_broken_bento() {
        let yaml = SPEC1.replace("entry_service: Front", "entry_service: Nope");
        let (bento, problems) = load(&yaml, &[]);
        assert!(bento.is_none());
        assert_eq!(codes(&problems), ["BR204"]);
        assert!(
            problems[0].message.contains("`Nope`"),
            "{}",
            problems[0].message
        );
        let yaml = SPEC1.replace("- name: Back", "- name: \"Ba ck\"");
        let (bento, problems) = load(&yaml, &[]);
        assert!(bento.is_none());
        assert_eq!(codes(&problems), ["BR204"]);
        let yaml = SPEC1.replace("- name: Back", "- name: Front");
        let (bento, problems) = load(&yaml, &[]);
        assert!(bento.is_none());
        assert!(
            problems[0].message.contains("`Front` twice"),
            "{}",
            problems[0].message
        );
    }

    const LEGACY: &str = "service: service:svc\nname: legacy\nversion: v1\nbentoml_version: 1.1.11\nrunners:\n- name: echo\n  runnable_type: Echo\n  models: []\napis:\n- name: classify\n";

    #[test]
    fn custom_runnables_inherit_and_add_methods() {
        let src = "import bentoml\nfrom bentoml import Runnable\n\nclass Base(Runnable):\n    @Runnable.method(batchable=True, batch_dim=1)\n    def shared(self, x): ...\n    @Runnable.method\n    def over(self, x): ...\n\nclass Echo(Base):\n    @Runnable.method(batchable=True)\n    def over(self, x): ...\n\nEcho.add_method(f, 'added', batchable=True, batch_dim=(1, 0))\n";
        let (bento, problems) = load(LEGACY, &[("service.py", src)]);
        assert!(problems.is_empty(), "{:?}", codes(&problems));
        let bento = bento.unwrap();
        assert_eq!(bento.kind, BentoKind::Runners);
        let echo = bento.unit("echo").unwrap();
        let facts: Vec<_> = echo
            .methods
            .iter()
            .flat_map(|ms| ms.iter())
            .map(|m| (m.name.as_str(), m.batchable, m.batch_dim))
            .collect();
        assert_eq!(
            facts,
            [
                ("over", Some(true), Some((0, 0))),
                ("shared", Some(true), Some((1, 1))),
                ("added", Some(true), Some((1, 0))),
            ]
        );
        // Read for checking only: the entrypoint takes them from the runner.
        assert!(echo.metadata_methods().is_none());
        assert!(
            bento.unit("legacy").is_none(),
            "the API server is not a keyed unit"
        );
        assert_eq!(bento.units[0].kind, UnitKind::ApiServer);
    }

    #[test]
    fn a_non_literal_method_name_or_a_missing_class_leaves_methods_unknown() {
        let src =
            "import bentoml\nclass Echo(bentoml.Runnable):\n    pass\nEcho.add_method(f, NAME)\n";
        let (bento, problems) = load(LEGACY, &[("service.py", src)]);
        assert!(bento.unwrap().unit("echo").unwrap().methods.is_none());
        assert_eq!(codes(&problems), ["BR206"]);
        assert!(problems[0].message.contains("`NAME`"));
        let (bento, problems) = load(LEGACY, &[("service.py", "x = 1\n")]);
        assert!(bento.unwrap().unit("echo").unwrap().methods.is_none());
        assert!(
            problems[0]
                .message
                .contains("not in the bento's Python sources")
        );
    }

    #[test]
    fn a_base_class_outside_the_sources_leaves_methods_unknown() {
        let src = "import bentoml\nfrom somelib import Mixin\nclass Echo(bentoml.Runnable, Mixin):\n    @bentoml.Runnable.method(batchable=True)\n    def double(self, x): ...\n";
        let (bento, problems) = load(LEGACY, &[("service.py", src)]);
        assert!(bento.unwrap().unit("echo").unwrap().methods.is_none());
        assert_eq!(codes(&problems), ["BR206"]);
        assert!(
            problems[0].message.contains("`somelib.Mixin`"),
            "{}",
            problems[0].message
        );
        // A local base in a module that never names bentoml (so it was not
        // parsed up front) is found when the runnable names it, and
        // `object` is no base to follow.
        let base = "class Base(object):\n    pass\n";
        let echo = "import bentoml\nfrom base import Base\nclass Echo(Base):\n    @bentoml.Runnable.method\n    def one(self, x): ...\n";
        let (bento, problems) = load(LEGACY, &[("service.py", echo), ("base.py", base)]);
        assert!(problems.is_empty(), "{:?}", codes(&problems));
        let methods = bento
            .unwrap()
            .unit("echo")
            .unwrap()
            .methods
            .clone()
            .unwrap();
        assert_eq!(methods.len(), 1);
    }

    #[test]
    fn framework_runners_never_read_the_sources() {
        let yaml = "service: service:svc\nname: fw\nversion: v1\nrunners:\n- name: clf\n  runnable_type: SklearnRunnable\n  models: [clf:m1]\n";
        let (bento, problems) = load(yaml, &[("service.py", "def (:\n")]);
        assert!(bento.is_some());
        // The model is missing (BR207), but the broken source is not read.
        assert_eq!(codes(&problems), ["BR207"]);
        let _ = Path::new("");
    }
}
