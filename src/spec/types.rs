//! The typed spec. These types are the single source of the JSON Schema
//! (`schema/bentoray.schema.json`, generated with schemars, draft-07): doc
//! comments become editor hover text, attributes become bounds.
//!
//! Option types and bounds follow Ray Serve's config schema
//! (`ray/serve/schema.py`, `ray/serve/config.py`) as of Ray 2.60.

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// A free-form table (passed through to Ray as-is).
pub type Table = Map<String, Value>;

/// A bentoray spec: which bento to deploy on Ray Serve, and how.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "bentoray.toml",
    extend("x-taplo" = { "initKeys": ["bento"] })
)]
pub struct Spec {
    /// The bento to deploy: a tag (`name`, `name:latest`, `name:version` or `name:<unique version prefix>`) looked up in the BentoML store, or a path (relative to this file) to a built bento directory.
    #[schemars(example = "iris_classifier:latest")]
    pub bento: String,

    /// BentoML store root used to look up tags, relative to this file. Default: `$BENTOML_HOME`, else `~/bentoml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bentoml_home: Option<String>,

    /// Wrap batchable runner methods with `serve.batch` (as `bentoml.ray.deployment(enable_batching=...)`). Default: false.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub enable_batching: bool,

    /// Target Ray release and Ray Serve's cluster-wide options (top level of the serve config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray: Option<RaySection>,

    /// The Ray Serve application (`applications[0]` of the serve config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationSection>,

    /// Ray Serve deployment options of the API server deployment `bento-svc-<service>` (BentoML's `service_deployment_config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<DeploymentOptions>,

    /// Ray Serve deployment options per runner, keyed by runner name (deployment `bento-runner-<runner>`; BentoML's `runners_deployment_config_map`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub runners: IndexMap<String, DeploymentOptions>,

    /// `serve.batch` options per runner and method: `[batching.<runner>.<method>]` (BentoML's `batching_config`). Only batchable methods can be configured, and only take effect with `enable_batching = true`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub batching: IndexMap<String, IndexMap<String, BatchOptions>>,
}

/// Target Ray release and cluster-wide Ray Serve options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RaySection {
    /// Target Ray release as MAJOR.MINOR (2.6 to 2.60). Default: the newest release bentoray knows (2.60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+$"), example = "2.60")]
    pub version: Option<String>,

    /// Where Ray Serve runs HTTP/gRPC proxies: `EveryNode` (default), `HeadOnly` or `Disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_location: Option<ProxyLocation>,

    /// HTTP proxy options. They only take effect when Serve first starts on a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_options: Option<HttpOptions>,

    /// Cluster-wide logging options for Ray Serve (Ray 2.9+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<LoggingConfig>,
}

/// Where Ray Serve starts proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProxyLocation {
    /// A proxy on every node (Ray's default).
    EveryNode,
    /// A proxy on the head node only.
    HeadOnly,
    /// No proxies: the application is reachable through handles only.
    Disabled,
}

/// Ray Serve HTTP proxy options (`http_options`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    /// Host the HTTP proxies bind to. Ray's config default is `0.0.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port the HTTP proxies listen on. Default: 8000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<u32>,
    /// Root path to mount the applications under (for a reverse proxy). Default: "".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_path: Option<String>,
    /// End-to-end timeout for a request in seconds; a timed-out request gets HTTP 408. Default: no timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub request_timeout_s: Option<Number>,
    /// Seconds an idle keep-alive connection stays open (Ray 2.7+). Default: 90 (5 before Ray 2.48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_alive_timeout_s: Option<u32>,
}

/// Ray Serve logging options (`logging_config`, Ray 2.9+).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// Log record encoding: `TEXT` or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<LogEncoding>,
    /// Log level: a name (`DEBUG`, `INFO`, `WARNING`, ...; case-sensitive) or its number. Default: `INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "log_level_schema")]
    pub log_level: Option<Value>,
    /// Directory for Serve's log files. Default: Ray's session log directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_dir: Option<String>,
    /// Whether to write access logs. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_access_log: Option<bool>,
    /// Extra standard `LogRecord` attributes to include in each record (Ray 2.46+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_log_standard_attrs: Option<Vec<String>>,
}

/// Log record encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LogEncoding {
    TEXT,
    JSON,
}

fn log_level_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A Python logging level name or number.",
        "anyOf": [
            {"type": "string", "enum": ["CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET"]},
            {"type": "integer", "enum": [0, 10, 20, 30, 40, 50]}
        ]
    })
}

/// The Ray Serve application.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSection {
    /// Application name. Default: the bento's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub name: Option<String>,
    /// HTTP route prefix of the application: starts with `/`, no trailing `/` (unless exactly `/`), no `{` or `}`. Default: `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_prefix: Option<String>,
    /// `<module>:<variable>` of the generated entrypoint; bentoray writes `<module>.py` exposing `<variable>`. Default: `bento_ray:app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_path: Option<String>,
    /// Ray runtime environment of the application (`working_dir` must be a URI such as `s3://…`, `https://…zip` or, from Ray 2.60, `local:///abs/dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_env: Option<Table>,
    /// Arguments passed to the application builder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Table>,
    /// Logging options for this application (Ray 2.9+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<LoggingConfig>,
}

/// Number of replicas: a positive integer, or `"auto"` to autoscale (Ray 2.10+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumReplicas {
    Count(#[schemars(range(min = 1))] u32),
    Auto(AutoKeyword),
}

/// The literal `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AutoKeyword {
    #[serde(rename = "auto")]
    Auto,
}

/// Ray Serve deployment options (`serve.deployment` arguments / `deployments[]` entries).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentOptions {
    /// Number of replicas: an integer ≥ 1, or `"auto"` (Ray 2.10+) to autoscale with Ray's default autoscaling config merged with `autoscaling_config`. Not allowed as an integer together with `autoscaling_config`. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_replicas: Option<NumReplicas>,
    /// Maximum number of requests a replica handles at once (Ray 2.10+). Default: 5 (100 before Ray 2.32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_ongoing_requests: Option<u32>,
    /// Maximum number of requests queued per caller before new ones are rejected: -1 (no limit) or ≥ 1 (Ray 2.10+). Default: -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1), extend("not" = {"const": 0}))]
    pub max_queued_requests: Option<i64>,
    /// Arbitrary JSON-serializable config passed to the deployment's `reconfigure()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_config: Option<Table>,
    /// Autoscaling settings. Requires `num_replicas` to be unset or `"auto"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling_config: Option<AutoscalingConfig>,
    /// Seconds to wait for in-flight requests to drain before a replica shuts down. Default: 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub graceful_shutdown_wait_loop_s: Option<Number>,
    /// Seconds after which a shutting-down replica is force-killed. Default: 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub graceful_shutdown_timeout_s: Option<Number>,
    /// Seconds between health checks of each replica. Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub health_check_period_s: Option<Number>,
    /// Seconds a health check may take before the replica is marked unhealthy. Default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub health_check_timeout_s: Option<Number>,
    /// Ray actor options of each replica (CPUs, GPUs, memory, custom resources, runtime_env).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray_actor_options: Option<RayActorOptions>,
    /// Placement group bundles reserved per replica (Ray 2.7+): a non-empty list of `{resource = amount}` tables; bundle 0 must cover the actor's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), schema_with = "bundles_schema")]
    pub placement_group_bundles: Option<Vec<IndexMap<String, Number>>>,
    /// Placement group strategy (Ray 2.7+); requires `placement_group_bundles`. Default: `PACK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_group_strategy: Option<PlacementGroupStrategy>,
    /// Maximum replicas of this deployment on one node, 1 to 100 (Ray 2.7+). Not allowed with `placement_group_bundles`. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas_per_node: Option<u32>,
    /// Logging options of this deployment (Ray 2.9+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<LoggingConfig>,
    /// Only in `[service]`, as in BentoML's docs: moved to the application's `route_prefix` (Ray Serve removed the deployment-level field in 2.39).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_prefix: Option<String>,
}

fn bundles_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "number", "minimum": 0}
        }
    })
}

/// Placement group strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum PlacementGroupStrategy {
    /// Pack bundles on as few nodes as possible (soft).
    PACK,
    /// Spread bundles over distinct nodes (soft).
    SPREAD,
    /// All bundles on one node, or fail.
    STRICT_PACK,
    /// Each bundle on a distinct node, or fail.
    STRICT_SPREAD,
}

/// Ray actor options of each replica.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RayActorOptions {
    /// CPUs reserved per replica (at most 4 decimal places). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub num_cpus: Option<Number>,
    /// GPUs reserved per replica (at most 4 decimal places). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub num_gpus: Option<Number>,
    /// Heap memory reserved per replica, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory: Option<Number>,
    /// Custom resources reserved per replica: `{name = amount}` (not `CPU` or `GPU`; use num_cpus/num_gpus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "resources_schema")]
    pub resources: Option<IndexMap<String, Number>>,
    /// Required accelerator type, e.g. `A100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_type: Option<String>,
    /// Ray runtime environment of each replica, merged with the application's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_env: Option<Table>,
}

fn resources_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {"type": "number", "minimum": 0}
    })
}

/// Ray Serve autoscaling settings (`autoscaling_config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingConfig {
    /// Minimum replicas (0 allows scale to zero). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_replicas: Option<u32>,
    /// Replicas to start with; between min_replicas and max_replicas. Default: min_replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub initial_replicas: Option<u32>,
    /// Maximum replicas (≥ 1 and ≥ min_replicas). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<u32>,
    /// Target ongoing requests per replica (Ray 2.10+). Default: 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub target_ongoing_requests: Option<Number>,
    /// Seconds between replica metric reports. Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub metrics_interval_s: Option<Number>,
    /// Seconds of metrics averaged for a decision. Default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub look_back_period_s: Option<Number>,
    /// Multiplier on scaling decisions (deprecated in favour of upscaling_factor/downscaling_factor). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub smoothing_factor: Option<Number>,
    /// Multiplier on upscaling decisions (deprecated; use upscaling_factor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub upscale_smoothing_factor: Option<Number>,
    /// Multiplier on downscaling decisions (deprecated; use downscaling_factor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub downscale_smoothing_factor: Option<Number>,
    /// Multiplier on upscaling decisions (Ray 2.10+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub upscaling_factor: Option<Number>,
    /// Multiplier on downscaling decisions (Ray 2.10+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub downscaling_factor: Option<Number>,
    /// Seconds to wait before scaling down. Default: 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub downscale_delay_s: Option<Number>,
    /// Seconds to wait before scaling from 1 to 0 replicas (Ray 2.50+). Default: downscale_delay_s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub downscale_to_zero_delay_s: Option<Number>,
    /// Seconds to wait before scaling up. Default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub upscale_delay_s: Option<Number>,
    /// How replica metrics are aggregated: `mean`, `max` or `min` (Ray 2.51+). Default: `mean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_function: Option<AggregationFunction>,
}

/// Autoscaling metric aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AggregationFunction {
    Mean,
    Max,
    Min,
}

/// `serve.batch` options of one runner method.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOptions {
    /// Largest batch passed to the method (an integer ≥ 1). Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_batch_size: Option<u32>,
    /// Seconds to wait for a batch to fill after its first request (≥ 0). Default: 0.01 (0.0 before Ray 2.49).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub batch_wait_timeout_s: Option<Number>,
    /// Batches processed concurrently per replica (an integer ≥ 1; Ray 2.48+). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_batches: Option<u32>,
}

/// The JSON Schema (draft-07) of the spec, as committed in
/// `schema/bentoray.schema.json`.
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<Spec>().to_value();
    strip_null(&mut schema);
    // Editors show a definition's title as the type name on hover.
    if let Some(Value::Object(defs)) = schema.get_mut("definitions") {
        for (name, def) in defs.iter_mut() {
            if let Value::Object(def) = def {
                def.entry("title")
                    .or_insert_with(|| Value::String(name.clone()));
            }
        }
    }
    if let Value::Object(map) = &mut schema {
        // `$id` first after `$schema` reads best; the map keeps insertion order.
        let mut ordered = Map::new();
        if let Some(s) = map.remove("$schema") {
            ordered.insert("$schema".into(), s);
        }
        ordered.insert("$id".into(), Value::String("bentoray.schema.json".into()));
        ordered.extend(std::mem::take(map));
        *map = ordered;
    }
    schema
}

/// TOML has no null: an optional key is simply absent. Removes the `null`
/// alternatives schemars adds for `Option<T>`, so editors and error messages
/// never offer null.
fn strip_null(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
                branches.retain(|b| {
                    b.get("type").is_none_or(|t| t != "null")
                        || b.as_object().is_some_and(|o| o.len() > 1)
                });
                if branches.len() == 1 {
                    let Some(Value::Object(only)) = branches.pop() else {
                        unreachable!()
                    };
                    map.remove("anyOf");
                    for (k, v) in only {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}
