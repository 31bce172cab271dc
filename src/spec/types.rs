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

use super::ray::{Availability, OptionTable, RayOption, ray_options, v};

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

    /// Legacy (runner-based) bentos only: wrap batchable runner methods with `serve.batch` (as `bentoml.ray.deployment(enable_batching=...)`). Default: false. A new-style bento's APIs are batched as their `@bentoml.api(batchable=...)` declares.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub enable_batching: bool,

    /// Which Python entrypoint to generate: `native` (default) builds the application with public Ray Serve APIs and works on Ray 2.6–2.60; `bentoml` calls `bentoml.ray.deployment`, which only works on Ray 2.6–2.7 (Python ≤ 3.10) and has two known bugs.
    #[serde(default)]
    #[schemars(extend("default" = "native"))]
    pub entrypoint: EntrypointKind,

    /// How replicas get the bento: `EXPORT_BENTO` (default) ships the whole bento, models included, pickled inside every deployment; `LOCAL_BENTO` ships only the tag and each replica loads the bento from its node's BentoML store (`BENTOML_HOME`), which must hold it (BentoML's `set_serialization_strategy`; see ray#41657 for large models).
    #[serde(default)]
    #[schemars(extend("default" = "EXPORT_BENTO"))]
    pub bento_serialization: BentoSerialization,

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

    /// Ray Serve deployment options per service of a new-style (`@bentoml.service`) bento, keyed by service name: `[services.<Service>]`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub services: IndexMap<String, DeploymentOptions>,

    /// `serve.batch` options of a batchable callable: `[batching.<runner>.<method>]` for a legacy bento (BentoML's `batching_config`; they take effect with `enable_batching = true`), `[batching.<Service>.<api>]` for a new-style bento (over the API's own `max_batch_size`). Only batchable methods and APIs can be configured.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub batching: IndexMap<String, IndexMap<String, BatchOptions>>,

    /// A KubeRay `RayService` to write beside serve.yaml: `build` then also writes `rayservice.yaml`, whose `spec.serveConfigV2` is exactly the emitted serve.yaml, with a head group and these worker groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuberay: Option<KubeRaySection>,
}

/// `[kuberay]`: the RayService manifest (`apiVersion: ray.io/v1`, KubeRay 1.4+).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-taplo" = { "initKeys": ["name", "image"] }))]
pub struct KubeRaySection {
    /// The RayService's `metadata.name`: a DNS-1035 label (lowercase letters, digits and `-`, starting with a letter, not ending with `-`) of at most 47 characters, as KubeRay's webhook requires (it appends suffixes for the cluster's names).
    #[schemars(length(min = 1), example = "iris-classifier")]
    pub name: String,
    /// The RayService's `metadata.namespace`. Default: none (the namespace `kubectl apply` uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub namespace: Option<String>,
    /// Container image of the head and every worker, e.g. `rayproject/ray:2.60.0-py311` with BentoML, the bento and its dependencies installed. Its Ray should be the `[ray] version` (written as `rayClusterConfig.rayVersion`).
    #[schemars(
        length(min = 1),
        regex(pattern = r"^\S+$"),
        example = "rayproject/ray:2.60.0-py311"
    )]
    pub image: String,
    /// The head group (`headGroupSpec`): one pod, container `ray-head`.
    pub head: KubeRayHead,
    /// Worker groups (`workerGroupSpecs`), `[[kuberay.worker_groups]]`, each a set of identical pods (container `ray-worker`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_groups: Vec<KubeRayWorkerGroup>,
}

/// `[kuberay.head]`: the head pod's container resources.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-taplo" = { "initKeys": ["cpu", "memory"] }))]
pub struct KubeRayHead {
    /// CPUs of the container (requests and limits), a multiple of 0.001. Ray gets the rounded-up count as `num-cpus` unless `ray_start_params` sets it (e.g. `"0"` to keep replicas off the head).
    #[schemars(schema_with = "cpu_schema")]
    pub cpu: Number,
    /// Memory of the container (requests and limits): a Kubernetes quantity such as `"8Gi"` or `"512Mi"`. Ray's `memory` resource is this many bytes.
    #[schemars(schema_with = "memory_schema")]
    pub memory: String,
    /// NVIDIA GPUs of the container (`nvidia.com/gpu` limit). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    /// `ray start` parameters (`rayStartParams`), e.g. `{ num-cpus = "0" }`; values are strings. Default: none.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ray_start_params: IndexMap<String, String>,
}

/// `[[kuberay.worker_groups]]`: one worker group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-taplo" = { "initKeys": ["name", "max_replicas", "cpu", "memory"] }))]
pub struct KubeRayWorkerGroup {
    /// The group's `groupName`; unique within the cluster.
    #[schemars(length(min = 1), regex(pattern = r"^\S+$"))]
    pub name: String,
    /// Pods to start with. Default: `min_replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Fewest pods. Default: 0 (KubeRay's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
    /// Most pods (≥ `min_replicas` and ≥ `replicas`): what bentoray counts as the group's capacity.
    pub max_replicas: u32,
    /// CPUs of each pod's container (requests and limits), a multiple of 0.001; Ray gets the rounded-up count.
    #[schemars(schema_with = "cpu_schema")]
    pub cpu: Number,
    /// Memory of each pod's container: a Kubernetes quantity such as `"16Gi"`.
    #[schemars(schema_with = "memory_schema")]
    pub memory: String,
    /// NVIDIA GPUs of each pod's container (`nvidia.com/gpu` limit). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    /// `ray start` parameters (`rayStartParams`); values are strings. Default: none.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ray_start_params: IndexMap<String, String>,
}

fn cpu_schema(_: &mut SchemaGenerator) -> Schema {
    // Not `multipleOf: 0.001`: validators divide in floating point and
    // reject 0.3; the check stage counts decimal places instead (BR373).
    json_schema!({"type": "number", "exclusiveMinimum": 0})
}

/// Kubernetes binary and decimal suffixes; no exponent forms.
fn memory_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$",
        "examples": ["8Gi", "512Mi"]
    })
}

/// The generated entrypoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntrypointKind {
    /// bentoray's own module on public Ray Serve APIs (Ray 2.6–2.60).
    #[default]
    Native,
    /// A `bentoml.ray.deployment(...)` call (Ray 2.6–2.7 only).
    Bentoml,
}

/// How the bento reaches the replicas (BentoML's serialization strategies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum BentoSerialization {
    /// The bento, models included, is pickled into every deployment.
    #[default]
    EXPORT_BENTO,
    /// Only the tag is shipped; every node's BentoML store must hold the bento.
    LOCAL_BENTO,
}

ray_options! {
    /// Target Ray release and cluster-wide Ray Serve options.
    pub struct RaySection in Ray {
        /// Target Ray release as MAJOR.MINOR (2.6 to 2.60). Default: the newest release bentoray knows (2.60).
        #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+$"), example = "2.60")]
        version: String => Availability::bentoray(),
        /// Where Ray Serve runs HTTP/gRPC proxies: `EveryNode` (default), `HeadOnly` or `Disabled` (Ray 2.7+).
        proxy_location: ProxyLocation => Availability::ALWAYS.defaults(&[(v(2, 0), "EveryNode")]),
        /// HTTP proxy options. They only take effect when Serve first starts on a cluster.
        http_options: HttpOptions => Availability::ALWAYS,
        /// Cluster-wide logging options for Ray Serve (Ray 2.9+).
        logging_config: LoggingConfig => Availability::since(2, 9).nullable(),
    }
}

/// Where Ray Serve starts proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProxyLocation {
    /// A proxy on every node (Ray's default).
    EveryNode,
    /// A proxy on the head node only.
    HeadOnly,
    /// No proxies: the application is reachable through handles only (Ray 2.7+).
    Disabled,
}

ray_options! {
    /// Ray Serve HTTP proxy options (`http_options`).
    pub struct HttpOptions in HttpOptions {
        /// Host the HTTP proxies bind to. Ray's config default is `0.0.0.0`.
        host: String => Availability::ALWAYS.defaults(&[(v(2, 0), "0.0.0.0")]),
        /// Port the HTTP proxies listen on. Default: 8000.
        #[schemars(range(min = 0, max = 65535))]
        port: u32 => Availability::ALWAYS.defaults(&[(v(2, 0), "8000")]),
        /// Root path to mount the applications under (for a reverse proxy). Default: "".
        root_path: String => Availability::ALWAYS.defaults(&[(v(2, 0), "\"\"")]),
        /// End-to-end timeout for a request in seconds; a timed-out request gets HTTP 408 (Ray 2.6+). Default: no timeout.
        #[schemars(extend("exclusiveMinimum" = 0))]
        request_timeout_s: Number => Availability::since(2, 6),
        /// Seconds an idle keep-alive connection stays open (Ray 2.7+). Default: 90 (5 before Ray 2.48).
        #[schemars(range(min = 0))]
        keep_alive_timeout_s: u32 => Availability::since(2, 7).defaults(&[(v(2, 7), "5"), (v(2, 48), "90")]),
    }
}

ray_options! {
    /// Ray Serve logging options (`logging_config`, Ray 2.9+).
    pub struct LoggingConfig in Logging {
        /// Log record encoding: `TEXT` or `JSON`.
        encoding: LogEncoding => Availability::since(2, 9).defaults(&[(v(2, 9), "TEXT")]),
        /// Log level: a name (`DEBUG`, `INFO`, `WARNING`, ...; case-sensitive) or its number. Default: `INFO`.
        #[schemars(schema_with = "log_level_schema")]
        log_level: Value => Availability::since(2, 9).defaults(&[(v(2, 9), "INFO")]),
        /// Directory for Serve's log files. Default: Ray's session log directory.
        logs_dir: String => Availability::since(2, 9),
        /// Whether to write access logs. Default: true.
        enable_access_log: bool => Availability::since(2, 9).defaults(&[(v(2, 9), "true")]),
        /// Extra standard `LogRecord` attributes to include in each record (Ray 2.46+).
        additional_log_standard_attrs: Vec<String> => Availability::since(2, 46),
    }
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

ray_options! {
    /// The Ray Serve application.
    pub struct ApplicationSection in Application {
        /// Application name. Default: the bento's name.
        #[schemars(length(min = 1))]
        name: String => Availability::ALWAYS,
        /// HTTP route prefix of the application: starts with `/`, no trailing `/` (unless exactly `/`), no `{` or `}`. Default: `/`.
        route_prefix: String => Availability::ALWAYS.defaults(&[(v(2, 0), "/")]).nullable(),
        /// `<module>:<variable>` of the generated entrypoint; bentoray writes `<module>.py` exposing `<variable>`. Default: `bento_ray:app`.
        import_path: String => Availability::ALWAYS,
        /// Ray runtime environment of the application: its build task and every replica run in it (`working_dir` must be a URI such as `s3://…/out.zip`, `https://…/out.zip` or, from Ray 2.60, `local:///abs/dir`).
        #[schemars(schema_with = "runtime_env_schema")]
        runtime_env: Table => Availability::ALWAYS,
        /// Arguments passed to the application builder (Ray 2.5+).
        args: Table => Availability::since(2, 5),
        /// Logging options for this application (Ray 2.9+).
        logging_config: LoggingConfig => Availability::since(2, 9).nullable(),
        /// Let an external scaler set replica counts (Ray 2.53+); no deployment may autoscale then. Default: false.
        external_scaler_enabled: bool => Availability::since(2, 53).defaults(&[(v(2, 53), "false")]),
    }
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

ray_options! {
    /// Ray Serve deployment options (`serve.deployment` arguments / `deployments[]` entries).
    pub struct DeploymentOptions in Deployment {
        /// Number of replicas: an integer ≥ 1, or `"auto"` (Ray 2.10+) to autoscale with Ray's default autoscaling config merged with `autoscaling_config`. Not allowed as an integer together with `autoscaling_config`. Default: 1.
        num_replicas: NumReplicas => Availability::ALWAYS.defaults(&[(v(2, 0), "1")]).nullable(),
        /// Maximum number of requests a replica handles at once (Ray 2.10+). Default: 5 (100 before Ray 2.32).
        #[schemars(range(min = 1))]
        max_ongoing_requests: u32 => Availability::since(2, 10).defaults(&[(v(2, 10), "100"), (v(2, 32), "5")]),
        /// DEPRECATED. Ray ≤ 2.32 name of `max_ongoing_requests`; removed in Ray 2.33, which silently ignores it. Default: 100.
        #[schemars(range(min = 1))]
        max_concurrent_queries: u32 => Availability::ALWAYS.until(2, 32).replaced_by("max_ongoing_requests").defaults(&[(v(2, 0), "100")]),
        /// Maximum number of requests queued per caller before new ones are rejected: -1 (no limit) or ≥ 1 (Ray 2.10+). Default: -1.
        #[schemars(range(min = -1), extend("not" = {"const": 0}))]
        max_queued_requests: i64 => Availability::since(2, 10).defaults(&[(v(2, 10), "-1")]),
        /// Arbitrary JSON-serializable config passed to a deployment's `reconfigure()`. Bento deployments have none, so bentoray rejects it (BR325).
        user_config: Table => Availability::ALWAYS.nullable(),
        /// Autoscaling settings. Requires `num_replicas` to be unset or `"auto"`.
        autoscaling_config: AutoscalingConfig => Availability::ALWAYS.nullable(),
        /// Seconds to wait for in-flight requests to drain before a replica shuts down. Default: 2.
        #[schemars(range(min = 0))]
        graceful_shutdown_wait_loop_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "2")]),
        /// Seconds after which a shutting-down replica is force-killed. Default: 20.
        #[schemars(range(min = 0))]
        graceful_shutdown_timeout_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "20")]),
        /// Seconds between health checks of each replica. Default: 10.
        #[schemars(extend("exclusiveMinimum" = 0))]
        health_check_period_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "10")]),
        /// Seconds a health check may take before the replica is marked unhealthy. Default: 30.
        #[schemars(extend("exclusiveMinimum" = 0))]
        health_check_timeout_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "30")]),
        /// Ray actor options of each replica (CPUs, GPUs, memory, custom resources, runtime_env).
        ray_actor_options: RayActorOptions => Availability::ALWAYS,
        /// Placement group bundles reserved per replica (Ray 2.7+): a non-empty list of `{resource = amount}` tables; bundle 0 must cover the actor's resources.
        #[schemars(length(min = 1), schema_with = "bundles_schema")]
        placement_group_bundles: Vec<IndexMap<String, Number>> => Availability::since(2, 7),
        /// Placement group strategy (Ray 2.7+); requires `placement_group_bundles`. Default: `PACK`.
        placement_group_strategy: PlacementGroupStrategy => Availability::since(2, 7).defaults(&[(v(2, 7), "PACK")]),
        /// Maximum replicas of this deployment on one node, 1 to 100 (Ray 2.7+). Not allowed with `placement_group_bundles`. Default: no limit.
        #[schemars(range(min = 1, max = 100))]
        max_replicas_per_node: u32 => Availability::since(2, 7),
        /// Logging options of this deployment (Ray 2.9+).
        logging_config: LoggingConfig => Availability::since(2, 9),
        /// Fraction of replicas replaced at a time during a rolling update, in (0, 1] (Ray 2.56+). Default: 0.2.
        #[schemars(extend("exclusiveMinimum" = 0), range(max = 1))]
        rolling_update_percentage: Number => Availability::since(2, 56).defaults(&[(v(2, 56), "0.2")]),
        /// Extra replicas (percent of the target) started during a rolling update, 0 to 100 (Ray 2.60+). Default: 0.
        #[schemars(range(min = 0, max = 100))]
        max_surge_percent: u32 => Availability::since(2, 60).defaults(&[(v(2, 60), "0")]),
        /// Only in `[service]`, as in BentoML's docs: written as the application's `route_prefix` (Ray Serve deprecated the deployment-level field in 2.7 and removed it in 2.39).
        route_prefix: String => Availability::ALWAYS.until(2, 38).replaced_by("[application] route_prefix").nullable(),
    }
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

ray_options! {
    /// Ray actor options of each replica.
    pub struct RayActorOptions in ActorOptions {
        /// CPUs reserved per replica (at most 4 decimal places). Default: 1.
        #[schemars(range(min = 0))]
        num_cpus: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "1")]).nullable(),
        /// GPUs reserved per replica (at most 4 decimal places). Default: 0.
        #[schemars(range(min = 0))]
        num_gpus: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "0")]).nullable(),
        /// Heap memory reserved per replica, in bytes.
        #[schemars(range(min = 0))]
        memory: Number => Availability::ALWAYS.nullable(),
        /// DEPRECATED. Object store memory reserved per replica; removed in Ray 2.30, which silently ignores it in configs.
        #[schemars(range(min = 0))]
        object_store_memory: Number => Availability::ALWAYS.until(2, 24),
        /// Custom resources reserved per replica: `{name = amount}` (at most 4 decimal places; not `CPU` or `GPU`: use num_cpus/num_gpus).
        #[schemars(schema_with = "resources_schema")]
        resources: IndexMap<String, Number> => Availability::ALWAYS,
        /// Required accelerator type, e.g. `A100`.
        accelerator_type: String => Availability::ALWAYS.nullable(),
        /// Ray runtime environment of each replica, merged with the application's (its keys replace the application's, `env_vars` are merged).
        #[schemars(schema_with = "runtime_env_schema")]
        runtime_env: Table => Availability::ALWAYS,
    }
}

fn resources_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {"type": "number", "minimum": 0}
    })
}

ray_options! {
    /// Ray Serve autoscaling settings (`autoscaling_config`).
    pub struct AutoscalingConfig in Autoscaling {
        /// Minimum replicas (0 allows scale to zero). Default: 1.
        #[schemars(range(min = 0))]
        min_replicas: u32 => Availability::ALWAYS.defaults(&[(v(2, 0), "1")]),
        /// Replicas to start with; between min_replicas and max_replicas. Default: min_replicas.
        #[schemars(range(min = 0))]
        initial_replicas: u32 => Availability::ALWAYS,
        /// Maximum replicas (≥ 1 and ≥ min_replicas). Default: 1 (100 with `num_replicas = "auto"`).
        #[schemars(range(min = 1))]
        max_replicas: u32 => Availability::ALWAYS.defaults(&[(v(2, 0), "1")]),
        /// Target ongoing requests per replica (Ray 2.10+). Default: 2 (1 before Ray 2.32).
        #[schemars(extend("exclusiveMinimum" = 0))]
        target_ongoing_requests: Number => Availability::since(2, 10).defaults(&[(v(2, 10), "1"), (v(2, 32), "2")]),
        /// DEPRECATED. Ray ≤ 2.32 name of `target_ongoing_requests`; removed in Ray 2.33, which silently ignores it. Default: 1 (2 in Ray 2.32).
        #[schemars(extend("exclusiveMinimum" = 0))]
        target_num_ongoing_requests_per_replica: Number => Availability::ALWAYS.until(2, 32).replaced_by("target_ongoing_requests").defaults(&[(v(2, 0), "1"), (v(2, 32), "2")]),
        /// Seconds between replica metric reports. Default: 10.
        #[schemars(extend("exclusiveMinimum" = 0))]
        metrics_interval_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "10")]),
        /// Seconds of metrics averaged for a decision. Default: 30.
        #[schemars(extend("exclusiveMinimum" = 0))]
        look_back_period_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "30")]),
        /// Multiplier on scaling decisions (deprecated in favour of upscaling_factor/downscaling_factor). Default: 1.
        #[schemars(extend("exclusiveMinimum" = 0))]
        smoothing_factor: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "1")]),
        /// Multiplier on upscaling decisions (Ray 2.7+; deprecated, use upscaling_factor).
        #[schemars(extend("exclusiveMinimum" = 0))]
        upscale_smoothing_factor: Number => Availability::since(2, 7),
        /// Multiplier on downscaling decisions (Ray 2.7+; deprecated, use downscaling_factor).
        #[schemars(extend("exclusiveMinimum" = 0))]
        downscale_smoothing_factor: Number => Availability::since(2, 7),
        /// Multiplier on upscaling decisions (Ray 2.10+).
        #[schemars(extend("exclusiveMinimum" = 0))]
        upscaling_factor: Number => Availability::since(2, 10),
        /// Multiplier on downscaling decisions (Ray 2.10+).
        #[schemars(extend("exclusiveMinimum" = 0))]
        downscaling_factor: Number => Availability::since(2, 10),
        /// Seconds to wait before scaling down. Default: 600.
        #[schemars(range(min = 0))]
        downscale_delay_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "600")]),
        /// Seconds to wait before scaling from 1 to 0 replicas (Ray 2.50+). Default: downscale_delay_s.
        #[schemars(range(min = 0))]
        downscale_to_zero_delay_s: Number => Availability::since(2, 50),
        /// Seconds to wait before scaling up. Default: 30.
        #[schemars(range(min = 0))]
        upscale_delay_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "30")]),
        /// How replica metrics are aggregated: `mean`, `max` or `min` (Ray 2.51+). Default: `mean`.
        aggregation_function: AggregationFunction => Availability::since(2, 51).defaults(&[(v(2, 51), "mean")]),
    }
}

/// Autoscaling metric aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AggregationFunction {
    Mean,
    Max,
    Min,
}

ray_options! {
    /// `serve.batch` options of one batchable runner method or service API.
    pub struct BatchOptions in Batching {
        /// Largest batch passed to the method (an integer ≥ 1). Default: 10.
        #[schemars(range(min = 1))]
        max_batch_size: u32 => Availability::ALWAYS.defaults(&[(v(2, 0), "10")]),
        /// Seconds to wait for a batch to fill after its first request (≥ 0). Default: 0.01 (0.0 before Ray 2.49).
        #[schemars(range(min = 0))]
        batch_wait_timeout_s: Number => Availability::ALWAYS.defaults(&[(v(2, 0), "0.0"), (v(2, 49), "0.01")]),
        /// Batches processed concurrently per replica (an integer ≥ 1; Ray 2.48+). Default: 1.
        #[schemars(range(min = 1))]
        max_concurrent_batches: u32 => Availability::since(2, 48).defaults(&[(v(2, 48), "1")]),
    }
}

// A runtime_env stays a free table in the typed spec (it is passed to Ray as
// written, plugin keys included); these declarations give it a schema, the
// version rules and docs. Facts from Ray's `runtime_env/runtime_env.py` and
// `_private/runtime_env/validation.py` (see `ray::uri` for the releases read).
ray_options! {
    /// A Ray runtime environment (`runtime_env`). Keys Ray does not know are plugin fields: Ray ignores them unless the cluster has a plugin of that name.
    pub struct RuntimeEnv in RuntimeEnv {
        /// The replicas' working directory: a URI of a package (`s3://…/out.zip`, `https://…/out.zip`, `gs://…`; `.tar.gz` archives from Ray 2.56) or, from Ray 2.60, `local:///abs/dir` for a directory already on every node. Serve configs reject local paths.
        working_dir: String => Availability::ALWAYS,
        /// Python packages to import, as URIs of `.zip` or `.whl` packages (or, from Ray 2.60, `local:///abs/dir`); like `working_dir`, never local paths.
        py_modules: Vec<String> => Availability::ALWAYS,
        /// Glob patterns of files to leave out of an uploaded `working_dir`.
        excludes: Vec<String> => Availability::ALWAYS,
        /// Packages to pip-install: a list of requirements, the path of a requirements file on the node that deploys, or a table. Not together with `conda` or `uv`.
        #[schemars(schema_with = "pip_schema")]
        pip: Value => Availability::ALWAYS,
        /// Packages to install with uv (Ray 2.40+): a list of requirements, a requirements file path, or a table. Not together with `pip` or `conda`.
        #[schemars(schema_with = "uv_schema")]
        uv: Value => Availability::since(2, 40),
        /// A conda environment: the name of an existing environment, the path of an environment YAML file or directory, or an environment table (`dependencies = [...]`). Not together with `pip` or `uv`.
        #[schemars(schema_with = "conda_schema")]
        conda: Value => Availability::ALWAYS,
        /// Environment variables of the processes: `{NAME = "value"}` (values are strings).
        env_vars: IndexMap<String, String> => Availability::ALWAYS,
        /// A container image to run the worker in (Ray 2.31+; for Ray's image, not a Docker registry login). Only with `config` and, from Ray 2.40, `env_vars`.
        image_uri: String => Availability::since(2, 31),
        /// DEPRECATED (use `image_uri`): a container to run the worker in, `{image = "…", run_options = [...]}`. Only with `config` and, from Ray 2.40, `env_vars`.
        container: Table => Availability::ALWAYS,
        /// The Python executable that starts the workers, e.g. `"uv run"` (Ray 2.46+).
        py_executable: String => Availability::since(2, 46),
        /// `<module>.<function>` to call in each worker process when it starts.
        worker_process_setup_hook: String => Availability::ALWAYS,
        /// URIs of jar files for Java workers.
        java_jars: Vec<String> => Availability::ALWAYS,
        /// Run workers under Nsight Systems profiling (Ray 2.10+): `"default"` or a table of nsys options.
        #[schemars(schema_with = "string_or_table_schema")]
        nsight: Value => Availability::since(2, 10),
        /// How Ray sets the environment up: setup timeout, eager install, log files.
        config: RuntimeEnvConfig => Availability::ALWAYS,
    }
}

ray_options! {
    /// `pip` of a runtime_env written as a table.
    pub struct PipTable in RuntimeEnvPip {
        /// Requirements to install: a list, or the path of a requirements file on the node that deploys.
        #[schemars(schema_with = "requirements_schema")]
        packages: Value => Availability::ALWAYS,
        /// Run `pip check` after installing. Default: false.
        pip_check: bool => Availability::ALWAYS.defaults(&[(v(2, 0), "false")]),
        /// pip's own version, e.g. `"==22.0.2"` (a PEP 508 specifier appended to `pip`).
        pip_version: String => Availability::ALWAYS,
        /// Extra `pip install` options (Ray 2.50+).
        pip_install_options: Vec<String> => Availability::since(2, 50),
    }
}

ray_options! {
    /// `uv` of a runtime_env written as a table.
    pub struct UvTable in RuntimeEnvUv {
        /// Requirements to install (required).
        packages: Vec<String> => Availability::since(2, 40),
        /// Run `uv pip check` after installing. Default: false.
        uv_check: bool => Availability::since(2, 40).defaults(&[(v(2, 40), "false")]),
        /// uv's own version, e.g. `"==0.4.0"`.
        uv_version: String => Availability::since(2, 40),
        /// Extra `uv pip install` options (Ray 2.46+). Default: `["--no-cache"]`.
        uv_pip_install_options: Vec<String> => Availability::since(2, 46),
    }
}

ray_options! {
    /// `config` of a runtime_env (Ray's `RuntimeEnvConfig`).
    pub struct RuntimeEnvConfig in RuntimeEnvConfig {
        /// Seconds the environment may take to set up before the task or replica fails: ≥ 1, or -1 for no limit. Default: 600.
        #[schemars(schema_with = "setup_timeout_schema")]
        setup_timeout_seconds: i64 => Availability::ALWAYS.defaults(&[(v(2, 0), "600")]),
        /// Install the environment when the job starts instead of on first use. Default: true.
        eager_install: bool => Availability::ALWAYS.defaults(&[(v(2, 0), "true")]),
        /// Log files whose setup output is also printed to the driver (Ray 2.20+).
        log_files: Vec<String> => Availability::since(2, 20),
    }
}

fn runtime_env_schema(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<RuntimeEnv>()
}

fn string_list() -> Value {
    serde_json::json!({"type": "array", "items": {"type": "string"}})
}

fn requirements_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A list of requirements, or a requirements file path.",
        "anyOf": [string_list(), {"type": "string"}]
    })
}

fn pip_schema(generator: &mut SchemaGenerator) -> Schema {
    let table = generator.subschema_for::<PipTable>();
    json_schema!({
        "anyOf": [string_list(), {"type": "string"}, table]
    })
}

fn uv_schema(generator: &mut SchemaGenerator) -> Schema {
    let table = generator.subschema_for::<UvTable>();
    json_schema!({
        "anyOf": [string_list(), {"type": "string"}, table]
    })
}

fn conda_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"anyOf": [{"type": "string"}, {"type": "object"}]})
}

fn string_or_table_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"anyOf": [{"type": "string"}, {"type": "object"}]})
}

fn setup_timeout_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "integer", "const": -1}]
    })
}

/// Every option table, for the version rules and the docs.
pub const OPTION_TABLES: &[&[RayOption]] = &[
    RaySection::OPTIONS,
    HttpOptions::OPTIONS,
    LoggingConfig::OPTIONS,
    ApplicationSection::OPTIONS,
    DeploymentOptions::OPTIONS,
    RayActorOptions::OPTIONS,
    AutoscalingConfig::OPTIONS,
    BatchOptions::OPTIONS,
    RuntimeEnv::OPTIONS,
    PipTable::OPTIONS,
    UvTable::OPTIONS,
    RuntimeEnvConfig::OPTIONS,
];

/// The README's "Ray options by version" table, generated from the option
/// tables (a test keeps the README in sync).
pub fn options_markdown() -> String {
    let mut out = String::from(
        "| Table | Option | Ray releases | Replaced by | Default (from release) | Ray accepts null |\n|---|---|---|---|---|---|\n",
    );
    for option in OPTION_TABLES.iter().flat_map(|t| t.iter()) {
        let a = option.availability;
        if a.bentoray_only {
            continue;
        }
        let releases = match (a.since, a.until) {
            (since, None) if since <= super::ray::OLDEST_RAY => "all".to_string(),
            (since, None) => format!("{since}+"),
            (since, Some(last)) if since <= super::ray::OLDEST_RAY => format!("≤ {last}"),
            (since, Some(last)) => format!("{since}–{last}"),
        };
        let defaults: Vec<String> = a
            .defaults
            .iter()
            .map(|(from, d)| {
                if *from <= super::ray::OLDEST_RAY || *from == a.since {
                    format!("`{d}`")
                } else {
                    format!("`{d}` ({from}+)")
                }
            })
            .collect();
        out.push_str(&format!(
            "| {} | `{}` | {releases} | {} | {} | {} |\n",
            option.table.place().split(" (").next().unwrap_or_default(),
            option.key,
            a.replaced_by.map(|r| format!("`{r}`")).unwrap_or_default(),
            defaults.join(", "),
            if a.nullable { "yes" } else { "" }
        ));
    }
    out
}

/// Finds an option's row by table and key.
pub fn find_option(table: OptionTable, key: &str) -> Option<&'static RayOption> {
    OPTION_TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|o| o.table == table && o.key == key)
}

/// The schema's `$id`. It must be an absolute URI: taplo (0.9, 0.10) rejects
/// the whole schema ("invalid schema") for a relative one, and editors then
/// check nothing. A URN names the schema without implying a download location.
pub const SCHEMA_ID: &str = "urn:bentoray:schema:bentoray.toml";

/// The committed `schema/bentoray.schema.json`, which a test keeps equal to
/// [`json_schema`]: every check needs the schema, and reading it costs a
/// small part of generating it (most of a small check's instructions).
pub fn committed_schema() -> Value {
    serde_json::from_str(include_str!("../../schema/bentoray.schema.json"))
        .expect("the committed schema is JSON")
}

/// The definitions only `[kuberay]` uses.
const KUBERAY_DEFINITIONS: &[&str] = &["KubeRaySection", "KubeRayHead", "KubeRayWorkerGroup"];

/// `schema` without what only `[kuberay]` needs, for a spec without one:
/// compiling the schema is most of a small check, and validation, messages
/// and suggestions are the same for such a spec (`kuberay` stays a known
/// key, so `[kuberey]` still gets its did-you-mean).
pub fn without_kuberay(schema: &mut Value) {
    if let Some(Value::Object(defs)) = schema.get_mut("definitions") {
        for name in KUBERAY_DEFINITIONS {
            defs.shift_remove(*name);
        }
    }
    if let Some(Value::Object(kuberay)) = schema.pointer_mut("/properties/kuberay") {
        kuberay.retain(|k, _| k == "description");
        kuberay.insert("type".into(), Value::String("object".into()));
    }
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
        ordered.insert("$id".into(), Value::String(SCHEMA_ID.into()));
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
