//! The Ray Serve multi-application config (`ServeDeploySchema`), as read by
//! `serve deploy`, `serve run` and KubeRay's `serveConfigV2`.

use serde_json::{Map, Value};

use crate::plan::Plan;

/// The config as a JSON value, keys in Ray's documented order; unset fields
/// are omitted, never `null` (Ray rejects `null` for several fields).
pub fn to_value(plan: &Plan, entrypoint_hash: &str) -> Value {
    let serve = &plan.serve;
    let mut top = Map::new();
    if let Some(p) = serve.proxy_location {
        top.insert(
            "proxy_location".into(),
            serde_json::to_value(p).unwrap_or(Value::Null),
        );
    }
    if let Some(h) = &serve.http_options {
        top.insert("http_options".into(), h.clone());
    }
    if let Some(l) = &serve.logging_config {
        top.insert("logging_config".into(), l.clone());
    }
    let app = &serve.application;
    let mut a = Map::new();
    a.insert("name".into(), Value::String(app.name.clone()));
    a.insert(
        "route_prefix".into(),
        Value::String(app.route_prefix.clone()),
    );
    a.insert("import_path".into(), Value::String(app.import_path.clone()));
    let mut runtime_env = app.runtime_env.clone().unwrap_or_default();
    let env_vars = runtime_env
        .entry("env_vars")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(vars) = env_vars {
        vars.insert(
            super::HASH_ENV_VAR.into(),
            Value::String(entrypoint_hash.to_string()),
        );
    }
    a.insert("runtime_env".into(), Value::Object(runtime_env));
    if let Some(args) = &app.args {
        a.insert("args".into(), Value::Object(args.clone()));
    }
    if let Some(l) = &app.logging_config {
        a.insert("logging_config".into(), l.clone());
    }
    let deployments: Vec<Value> = app
        .deployments
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(d.name.clone()));
            m.extend(d.options.clone());
            Value::Object(m)
        })
        .collect();
    if !deployments.is_empty() {
        a.insert("deployments".into(), Value::Array(deployments));
    }
    top.insert("applications".into(), Value::Array(vec![Value::Object(a)]));
    Value::Object(top)
}

pub fn render(plan: &Plan, entrypoint_hash: &str) -> String {
    let body = serde_norway::to_string(&to_value(plan, entrypoint_hash))
        .expect("a JSON value always serializes to YAML");
    format!("# {}\n{body}", super::header(plan))
}
