//! Plan → emit → read-back. Builds plans of both kinds of bento (legacy:
//! an API server and runners; new-style: services with APIs, batching and
//! dependencies) whose user-controlled parts (strings, option values, maps,
//! runner and method names) are arbitrary, and whose validated parts (bento
//! tag, service names, Python identifiers) are what the bento loader and
//! the check stage let through, shaped as `plan::lower` shapes them; then
//! checks that serve.yaml reads back (YAML) and the entrypoint's literals
//! parse back (Python's literal rules) to exactly the plan's values.
#![no_main]

use arbitrary::{Result, Unstructured};
use bentoray::bento::BentoKind;
use bentoray::bento::tag;
use bentoray::plan::{
    Application, DependencyPlan, Deployment, Entrypoint, MethodPlan, Plan, ServeConfig, UnitPlan,
    UnitRole,
};
use bentoray::spec::ray::v;
use bentoray::spec::types::{BentoSerialization, EntrypointKind, ProxyLocation};
use std::collections::HashSet;

use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let pick = if depth == 0 {
        u.int_in_range(0..=5)?
    } else {
        u.int_in_range(0..=7)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
        3 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => Value::Array(
            (0..u.int_in_range(0..=4)?)
                .map(|_| value(u, depth - 1))
                .collect::<Result<_>>()?,
        ),
        _ => Value::Object(map(u, depth - 1)?),
    })
}

fn map(u: &mut Unstructured, depth: u32) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    for _ in 0..u.int_in_range(0..=4)? {
        m.insert(u.arbitrary()?, value(u, depth)?);
    }
    Ok(m)
}

fn opt<T>(
    u: &mut Unstructured,
    f: impl FnOnce(&mut Unstructured) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.arbitrary()? { Some(f(u)?) } else { None })
}

/// A tag part the check stage accepts, or a fixed one.
fn tag_part(u: &mut Unstructured, fallback: &str) -> Result<String> {
    let s: String = u.arbitrary()?;
    Ok(if tag::validate_part("part", &s).is_ok() {
        s
    } else {
        fallback.into()
    })
}

/// A Python identifier (what `import_path` allows), or a fixed one.
fn identifier(u: &mut Unstructured, fallback: &str) -> Result<String> {
    let s: String = u.arbitrary()?;
    let ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    Ok(if ok { s } else { fallback.into() })
}

/// A service name the bento loader accepts (a tag part, lowercased), or a
/// fixed one.
fn service_name(u: &mut Unstructured, fallback: &str) -> Result<String> {
    let s: String = u.arbitrary()?;
    Ok(
        if tag::validate_part("service name", &s.to_lowercase()).is_ok() {
            s
        } else {
            fallback.into()
        },
    )
}

fn unit(name: String, deployment: String, role: UnitRole) -> UnitPlan {
    UnitPlan {
        name,
        deployment,
        role,
        options: Map::new(),
        resolved: Vec::new(),
        methods: None,
        batching: IndexMap::new(),
        dependencies: Vec::new(),
    }
}

/// Methods of one unit: distinct names (`name` makes one), batched (with
/// `serve.batch` options) only when batchable and `batching_on`.
fn methods(
    u: &mut Unstructured,
    batching_on: bool,
    name: impl Fn(&mut Unstructured) -> Result<String>,
) -> Result<Vec<MethodPlan>> {
    let mut seen = HashSet::new();
    let mut ms = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let name = name(u)?;
        if !seen.insert(name.clone()) {
            continue;
        }
        let batchable: bool = u.arbitrary()?;
        let batch = if batchable && batching_on {
            Some(map(u, 1)?)
        } else {
            None
        };
        ms.push(MethodPlan {
            name,
            batchable,
            batch_dim: u.arbitrary()?,
            batch,
            batch_resolved: Vec::new(),
            is_async: None,
            streaming: false,
        });
    }
    Ok(ms)
}

/// The spec's batching tables of a unit: for known methods, those of
/// batched methods in method order; else any method names.
fn batching(
    u: &mut Unstructured,
    methods: Option<&[MethodPlan]>,
) -> Result<IndexMap<String, Map<String, Value>>> {
    let mut tables = IndexMap::new();
    match methods {
        Some(ms) => {
            for m in ms.iter().filter(|m| m.batch.is_some()) {
                if u.arbitrary()? {
                    tables.insert(m.name.clone(), map(u, 1)?);
                }
            }
        }
        None => {
            for _ in 0..u.int_in_range(0..=2)? {
                tables.insert(u.arbitrary()?, map(u, 1)?);
            }
        }
    }
    Ok(tables)
}

/// A legacy bento: its API server (named after the Service), then runners
/// with distinct names.
fn legacy_units(
    u: &mut Unstructured,
    service: &str,
    enable_batching: bool,
) -> Result<Vec<UnitPlan>> {
    let mut server = unit(
        service.to_string(),
        format!("bento-svc-{service}"),
        UnitRole::ApiServer,
    );
    server.options = map(u, 3)?;
    let mut units = vec![server];
    let mut names = HashSet::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let name: String = u.arbitrary()?;
        if !names.insert(name.clone()) {
            continue;
        }
        let mut r = unit(
            name.clone(),
            format!("bento-runner-{name}"),
            UnitRole::Runner,
        );
        r.methods = opt(u, |u| methods(u, enable_batching, |u| u.arbitrary()))?;
        if u.arbitrary()? {
            r.options = map(u, 2)?;
        }
        if u.arbitrary()? {
            r.batching = batching(u, r.methods.as_deref())?;
        }
        units.push(r);
    }
    Ok(units)
}

/// A new-style bento: services with distinct names, each its own
/// deployment; one is the entry; every service's APIs are known (what
/// `check::build_blockers` lets through); in-bento dependencies name a
/// service of the bento and the attribute holding it.
fn service_units(u: &mut Unstructured) -> Result<(String, Vec<UnitPlan>)> {
    let mut names = Vec::new();
    for i in 0..u.int_in_range(1..=4)? {
        let name = service_name(u, &format!("Svc{i}"))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let entry = u.choose_index(names.len())?;
    let mut units = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut s = unit(
            name.clone(),
            name.clone(),
            UnitRole::Service { entry: i == entry },
        );
        let mut apis = methods(u, true, |u| identifier(u, "api"))?;
        for m in &mut apis {
            m.is_async = opt(u, |u| u.arbitrary())?;
            m.streaming = u.arbitrary()?;
        }
        s.batching = batching(u, Some(&apis))?;
        s.methods = Some(apis);
        if u.arbitrary()? {
            s.options = map(u, 2)?;
        }
        let mut attributes = HashSet::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let attribute = opt(u, |u| identifier(u, "dep"))?;
            if attribute
                .as_ref()
                .is_some_and(|a| !attributes.insert(a.clone()))
            {
                continue;
            }
            let url: Option<String> = opt(u, |u| u.arbitrary())?;
            let service = if url.is_none() || u.arbitrary()? {
                opt(u, |u| Ok(u.choose(&names)?.clone()))?
            } else {
                None
            };
            // Neither: nothing to depend on; an in-bento service without
            // its attribute is a build blocker.
            if service.is_none() && url.is_none()
                || service.is_some() && url.is_none() && attribute.is_none()
            {
                continue;
            }
            s.dependencies.push(DependencyPlan {
                attribute,
                service,
                url,
            });
        }
        units.push(s);
    }
    Ok((names[entry].clone(), units))
}

/// A runtime_env: any table whose `env_vars`, if any, is a table of strings
/// (the schema's rule).
fn runtime_env(u: &mut Unstructured) -> Result<Map<String, Value>> {
    let mut env = map(u, 3)?;
    if env.contains_key("env_vars") || u.arbitrary()? {
        let mut strings = Map::new();
        for _ in 0..u.int_in_range(0..=3)? {
            strings.insert(u.arbitrary()?, Value::String(u.arbitrary()?));
        }
        env.insert("env_vars".into(), Value::Object(strings));
    }
    Ok(env)
}

fn plan(u: &mut Unstructured) -> Result<Plan> {
    let bento_kind = *u.choose(&[BentoKind::Runners, BentoKind::Services])?;
    let (kind, service_name, units, enable_batching) = match bento_kind {
        BentoKind::Runners => {
            let service: String = u.arbitrary()?;
            let enable_batching: bool = u.arbitrary()?;
            let units = legacy_units(u, &service, enable_batching)?;
            let kind = *u.choose(&[EntrypointKind::Native, EntrypointKind::Bentoml])?;
            (kind, service, units, enable_batching)
        }
        // `bentoml.ray.deployment` serves legacy bentos only (BR342).
        BentoKind::Services => {
            let (entry, units) = service_units(u)?;
            (EntrypointKind::Native, entry, units, false)
        }
    };
    let deployments = units
        .iter()
        .filter(|unit| !unit.options.is_empty())
        .map(|unit| Deployment {
            name: unit.deployment.clone(),
            options: unit.options.clone(),
        })
        .collect();
    let module = identifier(u, "bento_ray")?;
    let variable = identifier(u, "app")?;
    Ok(Plan {
        generator: "bentoray 0.1.0".into(),
        spec_name: u.arbitrary()?,
        bento_tag: format!("{}:{}", tag_part(u, "iris_classifier")?, tag_part(u, "v1")?),
        ray_version: v(2, u.int_in_range(6..=60)?),
        serve: ServeConfig {
            proxy_location: opt(u, |u| {
                Ok(*u.choose(&[
                    ProxyLocation::EveryNode,
                    ProxyLocation::HeadOnly,
                    ProxyLocation::Disabled,
                ])?)
            })?,
            http_options: opt(u, |u| value(u, 2))?,
            logging_config: opt(u, |u| value(u, 2))?,
            application: Application {
                name: u.arbitrary()?,
                route_prefix: u.arbitrary()?,
                import_path: format!("{module}:{variable}"),
                runtime_env: opt(u, runtime_env)?,
                args: opt(u, |u| map(u, 3))?,
                logging_config: opt(u, |u| value(u, 2))?,
                deployments,
            },
        },
        entrypoint: Entrypoint {
            kind,
            module,
            variable,
            bento_serialization: *u.choose(&[
                BentoSerialization::EXPORT_BENTO,
                BentoSerialization::LOCAL_BENTO,
            ])?,
            bento_kind,
            service_name,
            units,
            enable_batching,
        },
        kuberay: None,
        http_options: Vec::new(),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(plan) = plan(&mut u) {
        bentoray_fuzz::verify_emit(&plan);
    }
});
