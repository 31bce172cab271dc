//! Plan → emit → read-back. Builds plans whose user-controlled parts
//! (strings, option values, maps, runner and method names) are arbitrary,
//! and whose validated parts (bento tag, Python identifiers) are what the
//! check stage lets through; then checks that serve.yaml reads back (YAML)
//! and the entrypoint's literals parse back (Python's literal rules) to
//! exactly the plan's values.
#![no_main]

use arbitrary::{Result, Unstructured};
use bentoray::bento::tag;
use bentoray::plan::{
    Application, Deployment, Entrypoint, MethodPlan, Plan, RunnerPlan, ServeConfig,
};
use bentoray::spec::ray::v;
use bentoray::spec::types::{BentoSerialization, EntrypointKind, ProxyLocation};
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

fn plan(u: &mut Unstructured) -> Result<Plan> {
    let mut deployments = Vec::new();
    let mut names = std::collections::HashSet::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let name: String = u.arbitrary()?;
        if names.insert(name.clone()) {
            deployments.push(Deployment {
                name,
                options: map(u, 2)?,
            });
        }
    }
    let mut runners = Vec::new();
    let mut runner_names = std::collections::HashSet::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let name: String = u.arbitrary()?;
        if !runner_names.insert(name.clone()) {
            continue;
        }
        let methods = opt(u, |u| {
            let mut seen = std::collections::HashSet::new();
            let mut ms = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let name: String = u.arbitrary()?;
                if seen.insert(name.clone()) {
                    ms.push(MethodPlan {
                        name,
                        batchable: u.arbitrary()?,
                        batch_dim: u.arbitrary()?,
                    });
                }
            }
            Ok(ms)
        })?;
        runners.push(RunnerPlan { name, methods });
    }
    let mut runners_map = IndexMap::new();
    let mut batching = IndexMap::new();
    for r in &runners {
        if u.arbitrary()? {
            runners_map.insert(r.name.clone(), map(u, 2)?);
        }
        if u.arbitrary()? {
            let mut ms = IndexMap::new();
            for _ in 0..u.int_in_range(0..=2)? {
                ms.insert(u.arbitrary()?, map(u, 1)?);
            }
            batching.insert(r.name.clone(), ms);
        }
    }
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
                runtime_env: opt(u, |u| map(u, 3))?,
                args: opt(u, |u| map(u, 3))?,
                logging_config: opt(u, |u| value(u, 2))?,
                deployments,
            },
        },
        entrypoint: Entrypoint {
            kind: *u.choose(&[EntrypointKind::Native, EntrypointKind::Bentoml])?,
            module,
            variable,
            bento_serialization: *u.choose(&[
                BentoSerialization::EXPORT_BENTO,
                BentoSerialization::LOCAL_BENTO,
            ])?,
            service_name: u.arbitrary()?,
            runners,
            service_deployment_config: map(u, 3)?,
            runners_deployment_config_map: runners_map,
            enable_batching: u.arbitrary()?,
            batching_config: batching,
        },
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(plan) = plan(&mut u) {
        bentoray_fuzz::verify_emit(&plan);
    }
});
