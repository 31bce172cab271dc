//! Stage 4: the plan. Lowers a checked spec into the normalized deployment
//! plan: every default applied, every name decided, nothing left to infer.
//! Emitters read only this.
//!
//! Invariants: deployment names are exactly `bentoml.ray.deployment`'s
//! (`bento-svc-<service>`, `bento-runner-<runner>`); deployments follow the
//! bento's runner order; no option is `null`.

pub mod capacity;
pub mod kuberay;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::check::{Checked, RayVersion};
use crate::spec::types::{BentoSerialization, DeploymentOptions, EntrypointKind, ProxyLocation};

pub const DEFAULT_IMPORT_PATH: &str = "bento_ray:app";

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `bentoray <version>`.
    pub generator: String,
    /// The spec's file name ([`spec_name`]).
    pub spec_name: String,
    /// The exact bento checked: `name:version`.
    pub bento_tag: String,
    pub ray_version: RayVersion,
    pub serve: ServeConfig,
    pub entrypoint: Entrypoint,
    /// `[kuberay]`: the RayService to write beside serve.yaml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kuberay: Option<kuberay::KubeRayPlan>,
}

/// What `serve.yaml` holds.
#[derive(Debug, Clone, Serialize)]
pub struct ServeConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_location: Option<ProxyLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<Value>,
    pub application: Application,
}

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub name: String,
    pub route_prefix: String,
    pub import_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_env: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<Value>,
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub name: String,
    /// Ray Serve deployment options, in Ray's order; never empty.
    pub options: Map<String, Value>,
}

/// What the Python entrypoint needs: for `bentoml` mode the arguments of
/// `bentoml.ray.deployment`; for `native` mode also every runner's methods.
#[derive(Debug, Clone, Serialize)]
pub struct Entrypoint {
    pub kind: EntrypointKind,
    /// File stem of the module (`bento_ray` → `bento_ray.py`).
    pub module: String,
    /// Variable holding the application (`app`).
    pub variable: String,
    pub bento_serialization: BentoSerialization,
    /// The Service name; the ingress deployment is `bento-svc-<service_name>`.
    pub service_name: String,
    /// Every runner of the bento, in bento order.
    pub runners: Vec<RunnerPlan>,
    pub service_deployment_config: Map<String, Value>,
    pub runners_deployment_config_map: IndexMap<String, Map<String, Value>>,
    pub enable_batching: bool,
    pub batching_config: IndexMap<String, IndexMap<String, Map<String, Value>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunnerPlan {
    pub name: String,
    /// `None` when the bento's metadata does not say (custom runnables):
    /// the native entrypoint then takes them from the runner at start-up.
    pub methods: Option<Vec<MethodPlan>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MethodPlan {
    pub name: String,
    pub batchable: bool,
    pub batch_dim: (i64, i64),
}

fn to_map<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Deployment options without the keys bentoray lowers elsewhere.
fn deployment_options(options: &DeploymentOptions) -> Map<String, Value> {
    let mut map = to_map(options);
    // Lowered to the application's route_prefix.
    map.shift_remove("route_prefix");
    map
}

/// How generated headers name the spec at `path`: its file name alone, so
/// the output does not depend on the working directory or on how the path
/// was typed (`a/bentoray.toml` vs `bentoray.toml` run inside `a/`).
pub fn spec_name(path: &std::path::Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Lowers a checked spec into a plan. `spec_name` is how the spec is named
/// in generated headers.
pub fn lower(checked: &Checked, spec_name: &str) -> Plan {
    let spec = &checked.spec;
    let bento = &checked.bento;
    let app = spec.application.clone().unwrap_or_default();
    let route_prefix = app
        .route_prefix
        .clone()
        .or_else(|| spec.service.as_ref().and_then(|s| s.route_prefix.clone()))
        .unwrap_or_else(|| "/".to_string());
    let import_path = app
        .import_path
        .clone()
        .unwrap_or_else(|| DEFAULT_IMPORT_PATH.into());
    let (module, variable) = import_path
        .split_once(':')
        .map(|(m, v)| (m.to_string(), v.to_string()))
        .unwrap_or_else(|| ("bento_ray".into(), "app".into()));

    let service_options = spec
        .service
        .as_ref()
        .map(deployment_options)
        .unwrap_or_default();
    // Runners in the bento's order, so output does not depend on the order
    // of tables in the spec.
    let runner_options: IndexMap<String, Map<String, Value>> = bento
        .runners()
        .filter_map(|r| {
            spec.runners
                .get(&r.name)
                .map(|o| (r.name.clone(), deployment_options(o)))
        })
        .filter(|(_, o)| !o.is_empty())
        .collect();
    let batching_config: IndexMap<String, IndexMap<String, Map<String, Value>>> = bento
        .runners()
        .filter_map(|r| {
            let methods = spec.batching.get(&r.name)?;
            let ordered: IndexMap<String, Map<String, Value>> = match r.metadata_methods() {
                Some(known) => known
                    .iter()
                    .filter_map(|m| methods.get(&m.name).map(|o| (m.name.clone(), to_map(o))))
                    .collect(),
                None => methods
                    .iter()
                    .map(|(m, o)| (m.clone(), to_map(o)))
                    .collect(),
            };
            (!ordered.is_empty()).then(|| (r.name.clone(), ordered))
        })
        .collect();

    let mut deployments = Vec::new();
    if !service_options.is_empty() {
        deployments.push(Deployment {
            name: format!("bento-svc-{}", bento.service_name),
            options: service_options.clone(),
        });
    }
    for (runner, options) in &runner_options {
        deployments.push(Deployment {
            name: format!("bento-runner-{runner}"),
            options: options.clone(),
        });
    }

    let ray = spec.ray.as_ref();
    Plan {
        generator: format!("bentoray {}", env!("CARGO_PKG_VERSION")),
        spec_name: spec_name.to_string(),
        bento_tag: bento.tag(),
        ray_version: checked.ray_version,
        serve: ServeConfig {
            proxy_location: ray.and_then(|r| r.proxy_location),
            http_options: ray
                .and_then(|r| r.http_options.as_ref())
                .map(|h| Value::Object(to_map(h))),
            logging_config: ray
                .and_then(|r| r.logging_config.as_ref())
                .map(|l| Value::Object(to_map(l))),
            application: Application {
                name: app.name.clone().unwrap_or_else(|| bento.name.clone()),
                route_prefix,
                import_path,
                runtime_env: app.runtime_env.clone(),
                args: app.args.clone(),
                logging_config: app
                    .logging_config
                    .as_ref()
                    .map(|l| Value::Object(to_map(l))),
                deployments,
            },
        },
        entrypoint: Entrypoint {
            kind: spec.entrypoint,
            module,
            variable,
            bento_serialization: spec.bento_serialization,
            service_name: bento.service_name.clone(),
            runners: bento
                .runners()
                .map(|r| RunnerPlan {
                    name: r.name.clone(),
                    methods: r.metadata_methods().map(|ms| {
                        ms.iter()
                            .map(|m| MethodPlan {
                                name: m.name.clone(),
                                // Model signatures always say both.
                                batchable: m.batchable.unwrap_or(false),
                                batch_dim: m.batch_dim.unwrap_or((0, 0)),
                            })
                            .collect()
                    }),
                })
                .collect(),
            service_deployment_config: service_options,
            runners_deployment_config_map: runner_options,
            enable_batching: spec.enable_batching,
            batching_config,
        },
        kuberay: spec
            .kuberay
            .as_ref()
            .map(|k| kuberay::lower(k, checked.ray_version)),
    }
}
