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
use crate::check::{BentoOption, Checked, RayVersion};
use crate::spec::ray::{OptionTable, RayOption};
use crate::spec::types::{
    BatchOptions, BentoSerialization, DeploymentOptions, EntrypointKind, HttpOptions,
    ProxyLocation, RayActorOptions,
};

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
    /// Every cluster-wide `http_options` value in force, with its source
    /// (for `bentoray plan`; serve.yaml has only the spec's and the bento's).
    pub http_options: Vec<Resolved>,
}

/// One option in force for a deployment (or the cluster, or a batched
/// method), and where its value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// Dotted within its table: `num_replicas`, `ray_actor_options.num_cpus`.
    pub option: String,
    pub value: Value,
    #[serde(flatten)]
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// Set in the spec; `overrides` is the bento setting it replaces.
    Spec {
        #[serde(skip_serializing_if = "Option::is_none")]
        overrides: Option<BentoSetting>,
    },
    /// From the bento: the setting as written (`resources.cpu = "500m"`) and
    /// where (`bento.yaml`, `@bentoml.service in src/x.py:12`).
    Bento {
        #[serde(flatten)]
        setting: BentoSetting,
    },
    /// Ray's default in the target release: shown, never written.
    RayDefault { release: RayVersion },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BentoSetting {
    pub setting: String,
    pub from: String,
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
    /// serve.yaml (empty: the deployment is not listed there): the spec's,
    /// then the bento's own settings where the spec has none.
    pub options: Map<String, Value>,
    /// Every option in force with its source: `options` plus Ray's
    /// defaults for the target (in Ray's order).
    pub resolved: Vec<Resolved>,
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
    /// Every `serve.batch` option in force when batched, with its source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batch_resolved: Vec<Resolved>,
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
    let spec_http = ray
        .and_then(|r| r.http_options.as_ref())
        .map(to_map)
        .unwrap_or_default();
    let (http_map, http_options) = resolve(
        HttpOptions::OPTIONS,
        &spec_http,
        &checked.bento_defaults.cluster,
        checked.ray_version,
        "",
    );
    Plan {
        generator: format!("bentoray {}", env!("CARGO_PKG_VERSION")),
        spec_name: spec_name.to_string(),
        bento_tag: bento.tag(),
        ray_version: checked.ray_version,
        serve: ServeConfig {
            proxy_location: ray.and_then(|r| r.proxy_location),
            http_options: (!http_map.is_empty()).then_some(Value::Object(http_map)),
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
        http_options,
    }
}

/// Ray's default for an option in `target`, as a JSON value.
fn ray_default(option: &RayOption, target: RayVersion) -> Option<Value> {
    if !option.availability.exists_in(target) || option.availability.bentoray_only {
        return None;
    }
    let text = option.availability.default_in(target)?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())))
}

/// Whether an option is the old name of one the target also has (only the
/// new name is shown).
fn superseded(option: &RayOption, table: &[RayOption], target: RayVersion) -> bool {
    option.availability.replaced_by.is_some_and(|new| {
        table
            .iter()
            .any(|o| o.key == new && o.availability.exists_in(target))
    })
}

/// Merges the bento's options of one table under the spec's, in the
/// table's declaration order (Ray's), and lists every option in force with
/// its source, Ray's defaults included. `prefix` dots the row names
/// (`ray_actor_options.`).
fn resolve(
    table: &[RayOption],
    spec: &Map<String, Value>,
    bento: &[BentoOption],
    target: RayVersion,
    prefix: &str,
) -> (Map<String, Value>, Vec<Resolved>) {
    let bento_option = |key: &str| {
        bento
            .iter()
            .find(|o| o.key == key && table.iter().any(|t| t.table == o.table))
    };
    let setting = |o: &BentoOption| BentoSetting {
        setting: o.setting.clone(),
        from: o.from.clone(),
    };
    let mut map = Map::new();
    let mut rows = Vec::new();
    for option in table {
        let key = option.key;
        let (value, source) = match (spec.get(key), bento_option(key)) {
            (Some(v), b) => (
                v.clone(),
                Source::Spec {
                    overrides: b.map(setting),
                },
            ),
            (None, Some(b)) => (
                b.value.clone(),
                Source::Bento {
                    setting: setting(b),
                },
            ),
            (None, None) => {
                if superseded(option, table, target)
                    || option.table == OptionTable::Deployment
                        && key == "num_replicas"
                        && spec.contains_key("autoscaling_config")
                {
                    continue;
                }
                if let Some(d) = ray_default(option, target) {
                    rows.push(Resolved {
                        option: format!("{prefix}{key}"),
                        value: d,
                        source: Source::RayDefault { release: target },
                    });
                }
                continue;
            }
        };
        map.insert(key.to_string(), value.clone());
        // Actor options are resolved as a table of their own.
        if option.table == OptionTable::Deployment && key == "ray_actor_options" {
            continue;
        }
        // Other tables (`autoscaling_config`, `logging_config`) are shown
        // by their keys, as set.
        if let (OptionTable::Deployment, Value::Object(table)) = (option.table, &value) {
            rows.extend(table.iter().map(|(sub, v)| Resolved {
                option: format!("{prefix}{key}.{sub}"),
                value: v.clone(),
                source: source.clone(),
            }));
            continue;
        }
        rows.push(Resolved {
            option: format!("{prefix}{key}"),
            value,
            source,
        });
    }
    // Keys no declaration has (never, after checking) are kept, last.
    for (key, value) in spec {
        if !map.contains_key(key) {
            map.insert(key.clone(), value.clone());
        }
    }
    (map, rows)
}

/// Puts `key` where the declarations order it among the deployment
/// options.
fn insert_in_order(options: &mut Map<String, Value>, key: &str, value: Value) {
    let rank = |k: &str| {
        DeploymentOptions::OPTIONS
            .iter()
            .position(|o| o.key == k)
            .unwrap_or(usize::MAX)
    };
    let mut entries: Vec<(String, Value)> = std::mem::take(options)
        .into_iter()
        .filter(|(k, _)| k != key)
        .collect();
    entries.push((key.to_string(), value));
    entries.sort_by_key(|(k, _)| rank(k));
    options.extend(entries);
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
    let spec_options = options.map(deployment_options).unwrap_or_default();
    let target = checked.ray_version;
    let bento_options = checked.bento_defaults.service(&unit.name);
    let (mut options, mut resolved) = resolve(
        DeploymentOptions::OPTIONS,
        &spec_options,
        bento_options,
        target,
        "",
    );
    let spec_actor = match spec_options.get("ray_actor_options") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let (actor, actor_rows) = resolve(
        RayActorOptions::OPTIONS,
        &spec_actor,
        bento_options,
        target,
        "ray_actor_options.",
    );
    if !actor.is_empty() {
        // In Ray's order: where the spec has it, or after the options
        // declared before it.
        insert_in_order(&mut options, "ray_actor_options", Value::Object(actor));
    }
    // Actor options after the deployment's own, as serve.yaml nests them.
    resolved.extend(actor_rows);
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
        resolved,
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
    let target = checked.ray_version;
    let (batch, batch_resolved) = if batched {
        let (options, rows) = batch_options(method, spec_batch, unit, target);
        (Some(options), rows)
    } else {
        (None, Vec::new())
    };
    MethodPlan {
        name: method.name.clone(),
        batchable,
        batch_dim: method.batch_dim.unwrap_or((0, 0)),
        batch,
        batch_resolved,
        is_async: method.is_async,
        streaming: method.streaming,
    }
}

/// The `serve.batch` options of a batched method: the spec's table, then
/// for a service API its own `max_batch_size` and a fill wait within its
/// `max_latency_ms`; the rest is Ray's default for the target.
///
/// BentoML's `max_latency_ms` is a deadline: its dispatcher sends a batch as
/// soon as the worker is free and fails requests that cannot finish within
/// it; Ray's `batch_wait_timeout_s` is how long a batch waits to fill after
/// its first request. So the wait stays Ray's default (0.01 s from Ray 2.49,
/// 0 before: a batch takes what is queued, as BentoML's does), shortened to
/// the latency budget when that is smaller, and always written, so the
/// entrypoint behaves alike on every release.
fn batch_options(
    method: &Method,
    spec_batch: Option<&Map<String, Value>>,
    unit: &Unit,
    target: RayVersion,
) -> (Map<String, Value>, Vec<Resolved>) {
    let spec = spec_batch.cloned().unwrap_or_default();
    let service = matches!(unit.kind, UnitKind::Service { .. });
    let mut bento = Vec::new();
    if service {
        if let Some(size) = &method.max_batch_size
            && let Some(n) = size.value
        {
            bento.push(BentoOption {
                table: OptionTable::Batching,
                key: "max_batch_size",
                value: Value::from(n),
                setting: format!("max_batch_size = {n}"),
                from: size.from.to_string(),
            });
        }
        let ray_wait = BatchOptions::OPTIONS
            .iter()
            .find(|o| o.key == "batch_wait_timeout_s")
            .and_then(|o| ray_default(o, target))
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        if let Some(latency) = &method.max_latency_ms
            && let Some(ms) = latency.value
            && ms / 1000.0 < ray_wait
            && let Some(seconds) = serde_json::Number::from_f64(ms / 1000.0)
        {
            bento.push(BentoOption {
                table: OptionTable::Batching,
                key: "batch_wait_timeout_s",
                value: Value::Number(seconds),
                setting: format!("max_latency_ms = {ms}"),
                from: latency.from.to_string(),
            });
        }
    }
    let (mut options, mut rows) = resolve(BatchOptions::OPTIONS, &spec, &bento, target, "");
    if service && !options.contains_key("batch_wait_timeout_s") {
        // Written explicitly (see above); still Ray's default.
        if let Some(row) = rows.iter().find(|r| r.option == "batch_wait_timeout_s") {
            let value = row.value.clone();
            let mut entries: Vec<(String, Value)> =
                std::mem::take(&mut options).into_iter().collect();
            entries.push(("batch_wait_timeout_s".into(), value));
            let rank = |k: &str| BatchOptions::OPTIONS.iter().position(|o| o.key == k);
            entries.sort_by_key(|(k, _)| rank(k));
            options.extend(entries);
        }
    }
    // A non-literal `max_batch_size` (warned about by `check`) is the loaded
    // API's at start-up, not Ray's default: no row claims a value for it.
    if service
        && !spec.contains_key("max_batch_size")
        && method
            .max_batch_size
            .as_ref()
            .is_some_and(|s| s.value.is_none())
    {
        rows.retain(|r| r.option != "max_batch_size");
    }
    rows.sort_by_key(|r| BatchOptions::OPTIONS.iter().position(|o| o.key == r.option));
    (options, rows)
}
