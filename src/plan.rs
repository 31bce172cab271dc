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

use crate::bento::{BentoKind, Method, Unit, UnitKind};
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

/// What the Python entrypoint needs: every deployment unit of the bento
/// (one model for both kinds of bento), and for `bentoml` mode the
/// arguments of `bentoml.ray.deployment`, which are derived from the units.
#[derive(Debug, Clone, Serialize)]
pub struct Entrypoint {
    pub kind: EntrypointKind,
    /// File stem of the module (`bento_ray` → `bento_ray.py`).
    pub module: String,
    /// Variable holding the application (`app`).
    pub variable: String,
    pub bento_serialization: BentoSerialization,
    pub bento_kind: BentoKind,
    /// Legacy: the Service name (the ingress is `bento-svc-<service_name>`).
    /// New-style: the entry service, which is the ingress.
    pub service_name: String,
    /// Every deployment unit, in bento order: a legacy bento's API server
    /// then its runners, or a new-style bento's services.
    pub units: Vec<UnitPlan>,
    /// The legacy runner switch (`enable_batching`); new-style APIs are
    /// batched as their author declared.
    pub enable_batching: bool,
}

/// One deployment unit: a Ray Serve deployment.
#[derive(Debug, Clone, Serialize)]
pub struct UnitPlan {
    /// Its name in the bento (runner or service name; the legacy API
    /// server has the Service's name).
    pub name: String,
    /// Its Ray Serve deployment name.
    pub deployment: String,
    pub role: UnitRole,
    /// Ray Serve deployment options, in Ray's order, as written to
    /// serve.yaml (empty: the deployment is not listed there).
    pub options: Map<String, Value>,
    /// `None` when the bento's metadata does not say (custom runnables):
    /// the native entrypoint then takes them from the runner at start-up.
    pub methods: Option<Vec<MethodPlan>>,
    /// The spec's `[batching.<unit>.<method>]` tables, in method order
    /// (spec order where the methods are not known).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub batching: IndexMap<String, Map<String, Value>>,
    /// `bentoml.depends(...)` of a service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<DependencyPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UnitRole {
    /// The legacy Service's API server: the ingress.
    ApiServer,
    Runner,
    /// A new-style service; the entry service is the ingress.
    Service {
        entry: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct MethodPlan {
    pub name: String,
    pub batchable: bool,
    pub batch_dim: (i64, i64),
    /// `serve.batch` keyword arguments when this method is batched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Map<String, Value>>,
    /// `async def` (services); `None` when not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_async: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub streaming: bool,
}

/// A `bentoml.depends(...)`: an in-bento `service` (called through a Ray
/// deployment handle) or a `url` (left to BentoML's HTTP client).
#[derive(Debug, Clone, Serialize)]
pub struct DependencyPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Entrypoint {
    /// The runners of a legacy bento, in bento order.
    pub fn runners(&self) -> impl Iterator<Item = &UnitPlan> {
        self.units.iter().filter(|u| u.role == UnitRole::Runner)
    }

    /// The ingress: the legacy API server or the entry service.
    pub fn ingress(&self) -> Option<&UnitPlan> {
        self.units.iter().find(|u| {
            matches!(
                u.role,
                UnitRole::ApiServer | UnitRole::Service { entry: true }
            )
        })
    }

    /// `bentoml.ray.deployment`'s `service_deployment_config`.
    pub fn service_deployment_config(&self) -> Map<String, Value> {
        self.units
            .iter()
            .find(|u| u.role == UnitRole::ApiServer)
            .map(|u| u.options.clone())
            .unwrap_or_default()
    }

    /// `bentoml.ray.deployment`'s `runners_deployment_config_map`: runners
    /// with options, in bento order.
    pub fn runners_deployment_config_map(&self) -> Map<String, Value> {
        self.runners()
            .filter(|r| !r.options.is_empty())
            .map(|r| (r.name.clone(), Value::Object(r.options.clone())))
            .collect()
    }

    /// `bentoml.ray.deployment`'s `batching_config`: runner → method →
    /// `serve.batch` options.
    pub fn batching_config(&self) -> Map<String, Value> {
        self.runners()
            .filter(|r| !r.batching.is_empty())
            .map(|r| {
                let methods: Map<String, Value> = r
                    .batching
                    .iter()
                    .map(|(m, o)| (m.clone(), Value::Object(o.clone())))
                    .collect();
                (r.name.clone(), Value::Object(methods))
            })
            .collect()
    }
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

    // Units in the bento's order, so output does not depend on the order of
    // tables in the spec.
    let units: Vec<UnitPlan> = bento
        .units
        .iter()
        .map(|unit| lower_unit(checked, unit))
        .collect();
    let deployments = units
        .iter()
        .filter(|u| !u.options.is_empty())
        .map(|u| Deployment {
            name: u.deployment.clone(),
            options: u.options.clone(),
        })
        .collect();

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
            bento_kind: bento.kind,
            service_name: bento.service_name.clone(),
            units,
            enable_batching: spec.enable_batching,
        },
        kuberay: spec
            .kuberay
            .as_ref()
            .map(|k| kuberay::lower(k, checked.ray_version)),
    }
}

/// One unit of the bento as a deployment: its name, the spec's options for
/// it, and the methods the entrypoint may rely on.
fn lower_unit(checked: &Checked, unit: &Unit) -> UnitPlan {
    let spec = &checked.spec;
    let (role, deployment, options) = match unit.kind {
        UnitKind::ApiServer => (
            UnitRole::ApiServer,
            format!("bento-svc-{}", unit.name),
            spec.service.as_ref(),
        ),
        UnitKind::Runner { .. } => (
            UnitRole::Runner,
            format!("bento-runner-{}", unit.name),
            spec.runners.get(&unit.name),
        ),
        // Named exactly after the service, as BentoML names its workers.
        UnitKind::Service { entry } => (
            UnitRole::Service { entry },
            unit.name.clone(),
            spec.services.get(&unit.name),
        ),
    };
    let options = options.map(deployment_options).unwrap_or_default();
    let spec_batching = match unit.kind {
        UnitKind::ApiServer => None,
        _ => spec.batching.get(&unit.name),
    };
    // The methods the entrypoint may take as given: model signatures, or a
    // service's APIs (read from its source); a custom runnable's are read
    // from the loaded runner at start-up.
    let known = match unit.kind {
        UnitKind::ApiServer => None,
        UnitKind::Runner { .. } => unit.metadata_methods(),
        UnitKind::Service { .. } => unit.methods.as_deref(),
    };
    let batching: IndexMap<String, Map<String, Value>> = match (spec_batching, known) {
        (None, _) => IndexMap::new(),
        (Some(tables), Some(known)) => known
            .iter()
            .filter_map(|m| tables.get(&m.name).map(|o| (m.name.clone(), to_map(o))))
            .collect(),
        (Some(tables), None) => tables.iter().map(|(m, o)| (m.clone(), to_map(o))).collect(),
    };
    let methods = known.map(|ms| {
        ms.iter()
            .map(|m| lower_method(checked, unit, m, batching.get(&m.name)))
            .collect()
    });
    UnitPlan {
        name: unit.name.clone(),
        deployment,
        role,
        options,
        methods,
        batching,
        dependencies: unit
            .dependencies
            .iter()
            .map(|d| DependencyPlan {
                attribute: d.attribute.clone(),
                service: d.service.clone(),
                url: d.url.clone(),
            })
            .collect(),
    }
}

fn lower_method(
    checked: &Checked,
    unit: &Unit,
    method: &Method,
    spec_batch: Option<&Map<String, Value>>,
) -> MethodPlan {
    // Model signatures always say both; a service API whose decorator
    // arguments are not literals was warned about by `check`.
    let batchable = method.batchable.unwrap_or(false);
    let batched = batchable
        && match unit.kind {
            UnitKind::Service { .. } => true,
            _ => checked.spec.enable_batching,
        };
    let batch = batched.then(|| {
        let mut options = spec_batch.cloned().unwrap_or_default();
        if !options.contains_key("max_batch_size")
            && let Some(size) = method.max_batch_size.as_ref().and_then(|s| s.value)
        {
            options.insert("max_batch_size".into(), Value::from(size));
        }
        options
    });
    MethodPlan {
        name: method.name.clone(),
        batchable,
        batch_dim: method.batch_dim.unwrap_or((0, 0)),
        batch,
        is_async: method.is_async,
        streaming: method.streaming,
    }
}
