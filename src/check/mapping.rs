//! From a new-style bento's own settings to Ray options, checked: each
//! service's `resources`, `workers` and `traffic` (parsed by
//! `bento::settings`) become defaults for its Ray deployment options, which
//! the spec overrides; what Ray cannot serve (tasks, BentoCloud features) is
//! reported here, and so is BR319 for services, whose `max_ongoing_requests`
//! may come from the bento.
//!
//! Option names come from the `ray_options!` declarations for the target
//! (`max_ongoing_requests`, or `max_concurrent_queries` on releases without
//! it), never from version numbers written here.

use serde_json::{Number, Value};

use super::semantic::{describe_max_ongoing, effective_max_ongoing, numeric_default};
use crate::bento::settings::{self, ServiceSettings, Workers};
use crate::bento::{Bento, BentoKind, Unit, UnitKind};
use crate::diagnostic::{Diagnostic, rules};
use crate::spec::ray::{OptionTable, RayVersion, v};
use crate::spec::spanned::{Entry, Node, NodeKind};
use crate::spec::types::find_option;

/// A Ray option whose default the bento gives.
#[derive(Debug, Clone, PartialEq)]
pub struct BentoOption {
    /// `Deployment`, `ActorOptions` (inside `ray_actor_options`) or
    /// `HttpOptions` (cluster-wide).
    pub table: OptionTable,
    pub key: &'static str,
    pub value: Value,
    /// The setting it comes from, as written: `resources.cpu = "500m"`.
    pub setting: String,
    /// Where that is written: `bento.yaml`, `@bentoml.service in src/x.py:12`.
    pub from: String,
}

/// The bento's defaults for Ray options, for the plan to apply under the
/// spec's values. Every option here exists in the target release.
#[derive(Debug, Clone, Default)]
pub struct BentoDefaults {
    /// Per service, in bento order (services with none are left out).
    pub services: Vec<(String, Vec<BentoOption>)>,
    /// Cluster-wide options (`http_options`).
    pub cluster: Vec<BentoOption>,
}

impl BentoDefaults {
    pub fn service(&self, name: &str) -> &[BentoOption] {
        self.services
            .iter()
            .find(|(s, _)| s == name)
            .map_or(&[], |(_, options)| options.as_slice())
    }
}

/// Where the spec may set an option.
#[derive(Clone, Copy)]
struct Spec<'a> {
    root: &'a Node,
    service: Option<&'a Entry>,
}

impl<'a> Spec<'a> {
    /// The spec's entry for `key` of `table`, if it sets it.
    fn sets(&self, table: OptionTable, key: &str) -> Option<&'a Entry> {
        match table {
            OptionTable::Deployment => self.service?.value.entry(key),
            OptionTable::ActorOptions => self.service?.value.get("ray_actor_options")?.entry(key),
            OptionTable::HttpOptions => self.root.get("ray")?.get("http_options")?.entry(key),
            _ => None,
        }
    }
}

/// The name of `max_ongoing_requests` in the target release.
fn max_ongoing_key(target: RayVersion) -> Option<&'static str> {
    ["max_ongoing_requests", "max_concurrent_queries"]
        .into_iter()
        .find(|key| exists(OptionTable::Deployment, key, target))
}

fn exists(table: OptionTable, key: &str, target: RayVersion) -> bool {
    find_option(table, key).is_some_and(|o| o.availability.exists_in(target))
}

fn number(x: f64) -> Value {
    // Whole quantities stay integers (`num_cpus = 2`, not `2.0`).
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// Maps every service's settings; reports what cannot be mapped. Legacy
/// bentos have no such settings.
pub fn map(
    root: &Node,
    bento: &Bento,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) -> BentoDefaults {
    let mut out = BentoDefaults::default();
    if bento.kind != BentoKind::Services {
        return out;
    }
    let bento_span = root.get("bento").map_or(0..0, |n| n.span.clone());
    for unit in bento.keyed_units() {
        let spec = Spec {
            root,
            service: root.get("services").and_then(|s| s.entry(&unit.name)),
        };
        let settings = settings::service_settings(unit);
        let mut options = Vec::new();
        let mut place = Placer {
            diags,
            bento_span: bento_span.clone(),
            unit,
        };
        malformed(&settings, spec, target, &mut place);
        resources(&settings, spec, target, &mut options, &mut place);
        replicas(&settings, spec, target, &mut options, &mut place);
        bundle_rule(spec, &options, &mut place);
        if let UnitKind::Service { entry: true } = unit.kind {
            out.cluster
                .extend(entry_timeout(&settings, spec, target, &mut place));
        }
        ray_cannot_serve(&settings, &mut place);
        if !options.is_empty() {
            out.services.push((unit.name.clone(), options));
        }
    }
    out
}

/// The entry service's `traffic.timeout` as Ray's cluster-wide
/// `http_options.request_timeout_s`, with a note unless the spec sets it.
fn entry_timeout(
    settings: &ServiceSettings,
    spec: Spec,
    target: RayVersion,
    place: &mut Placer,
) -> Option<BentoOption> {
    let timeout = settings.timeout.as_ref()?;
    if !exists(OptionTable::HttpOptions, "request_timeout_s", target) {
        return None;
    }
    let value = number(timeout.value);
    if spec
        .sets(OptionTable::HttpOptions, "request_timeout_s")
        .is_none()
    {
        place.push(
            Diagnostic::new(
                &rules::CLUSTER_WIDE_TIMEOUT,
                format!(
                    "the entry service `{}` has {}: bentoray sets Ray's `http_options.request_timeout_s = {value}`, which applies to the whole cluster",
                    place.unit.name,
                    timeout.describe(),
                ),
            )
            .label("timeout from the bento")
            .help("Ray Serve has no per-deployment request timeout, and applies http_options only when Serve first starts on the cluster; set `[ray.http_options] request_timeout_s` to choose it yourself"),
        );
    }
    Some(BentoOption {
        table: OptionTable::HttpOptions,
        key: "request_timeout_s",
        value,
        setting: timeout.written.clone(),
        from: timeout.from.to_string(),
    })
}

/// Pushes diagnostics at the spec's `bento` value, naming the service.
struct Placer<'d, 'b> {
    diags: &'d mut Vec<Diagnostic>,
    bento_span: std::ops::Range<usize>,
    unit: &'b Unit,
}

impl Placer<'_, '_> {
    fn push(&mut self, d: Diagnostic) {
        let d = if d.span.is_none() {
            d.at(self.bento_span.clone())
        } else {
            d
        };
        self.diags.push(d);
    }
}

/// The Ray option each mapped setting becomes.
fn target_of(key: &str, target: RayVersion) -> Option<(OptionTable, &'static str)> {
    Some(match key {
        "resources.cpu" => (OptionTable::ActorOptions, "num_cpus"),
        "resources.memory" => (OptionTable::ActorOptions, "memory"),
        "resources.gpu" => (OptionTable::ActorOptions, "num_gpus"),
        "resources.gpu_type" => (OptionTable::ActorOptions, "accelerator_type"),
        "workers" => (OptionTable::Deployment, "num_replicas"),
        "traffic.max_concurrency" => (OptionTable::Deployment, max_ongoing_key(target)?),
        "traffic.timeout" => (OptionTable::HttpOptions, "request_timeout_s"),
        _ => return None,
    })
}

fn malformed(settings: &ServiceSettings, spec: Spec, target: RayVersion, place: &mut Placer) {
    let service = place.unit.name.clone();
    let entry = matches!(place.unit.kind, UnitKind::Service { entry: true });
    for m in &settings.malformed {
        let mapped = target_of(m.key, target)
            // Only the entry service's timeout reaches Ray.
            .filter(|(table, _)| entry || *table != OptionTable::HttpOptions);
        let overridden = mapped.and_then(|(table, key)| {
            spec.sets(table, key).map(|e| (e, table, key)).or_else(|| {
                // An autoscaling spec decides replicas too.
                (key == "num_replicas")
                    .then(|| spec.sets(OptionTable::Deployment, "autoscaling_config"))
                    .flatten()
                    .map(|e| (e, table, key))
            })
        });
        let what = format!(
            "service `{service}` has `{}` ({}), which is not {}",
            m.written, m.from, m.why
        );
        match overridden {
            Some((e, _, _)) => place.push(
                Diagnostic::new(
                    &rules::OVERRIDDEN_MALFORMED_SETTING,
                    format!("{what}; the spec's `{}` is used instead", e.key),
                )
                .at(e.key_span.clone())
                .label("overrides a malformed bento setting")
                .help(format!(
                    "fix `{}` in service `{service}` and rebuild the bento: BentoML rejects it too",
                    m.key
                )),
            ),
            None => {
                let instead = match mapped {
                    Some((OptionTable::ActorOptions, key)) => format!(
                        "or set `ray_actor_options = {{ {key} = ... }}` in [services.{service}] to override it"
                    ),
                    Some((OptionTable::HttpOptions, key)) => {
                        format!("or set `{key}` in [ray.http_options] to override it")
                    }
                    Some((_, key)) => {
                        format!("or set `{key}` in [services.{service}] to override it")
                    }
                    None => "BentoML rejects it too".to_string(),
                };
                place.push(
                    Diagnostic::new(&rules::MALFORMED_SETTING, what)
                        .label("malformed setting in this bento")
                        .help(format!(
                            "fix `{}` in service `{service}` and rebuild the bento, {instead}",
                            m.key
                        )),
                );
            }
        }
    }
}

fn resources(
    settings: &ServiceSettings,
    spec: Spec,
    target: RayVersion,
    options: &mut Vec<BentoOption>,
    place: &mut Placer,
) {
    let mut actor = |key: &'static str, value: Value, written: &str, from: &str| {
        if exists(OptionTable::ActorOptions, key, target) {
            options.push(BentoOption {
                table: OptionTable::ActorOptions,
                key,
                value,
                setting: written.to_string(),
                from: from.to_string(),
            });
        }
    };
    if let Some(cpu) = &settings.cpu {
        actor("num_cpus", number(cpu.value), &cpu.written, &cpu.from);
    }
    if let Some(memory) = &settings.memory {
        actor(
            "memory",
            Value::from(memory.value),
            &memory.written,
            &memory.from,
        );
    }
    if let Some(gpu) = &settings.gpu {
        actor("num_gpus", number(gpu.value), &gpu.written, &gpu.from);
    }
    let Some(gpu_type) = &settings.gpu_type else {
        return;
    };
    let service = &place.unit.name;
    match settings::accelerator(&gpu_type.value) {
        Some((ray_name, (major, minor))) if target >= v(major, minor) => {
            actor(
                "accelerator_type",
                Value::from(ray_name),
                &gpu_type.written,
                &gpu_type.from,
            );
        }
        // The spec chose the accelerator: nothing to warn about.
        _ if spec
            .sets(OptionTable::ActorOptions, "accelerator_type")
            .is_some() => {}
        known => {
            let why = match known {
                Some((ray_name, (major, minor))) => format!(
                    "Ray's name for it, `{ray_name}`, is declared from Ray {major}.{minor} on, and the target is Ray {target}"
                ),
                None => {
                    "it is not a GPU type bentoray can map to one of Ray's accelerator names".into()
                }
            };
            place.push(
                Diagnostic::new(
                    &rules::UNKNOWN_GPU_TYPE,
                    format!(
                        "service `{service}` has `{}` ({}): {why}; `accelerator_type` is left unset",
                        gpu_type.written, gpu_type.from
                    ),
                )
                .label("GPU type not mapped")
                .help(format!(
                    "set `ray_actor_options = {{ accelerator_type = \"...\" }}` in [services.{service}] with the name Ray gives your nodes' accelerators (e.g. \"A100\", \"T4\"; see ray.util.accelerators)"
                )),
            );
        }
    }
}

fn replicas(
    settings: &ServiceSettings,
    spec: Spec,
    target: RayVersion,
    options: &mut Vec<BentoOption>,
    place: &mut Placer,
) {
    let service = place.unit.name.clone();
    let spec_replicas = spec
        .sets(OptionTable::Deployment, "num_replicas")
        .or_else(|| spec.sets(OptionTable::Deployment, "autoscaling_config"));
    match &settings.workers {
        Some(w) if w.value == Workers::CpuCount && spec_replicas.is_none() => {
            place.push(
                    Diagnostic::new(
                        &rules::WORKERS_CPU_COUNT,
                        format!(
                            "service `{service}` has {}: one BentoML worker per CPU of the machine, which Ray cannot know in advance; `num_replicas` is left at Ray's default",
                            w.describe()
                        ),
                    )
                    .label("workers = \"cpu_count\"")
                    .help(format!(
                        "set `num_replicas` (or `autoscaling_config`) in [services.{service}]{}",
                        if settings.max_concurrency.is_some() {
                            ", and `max_ongoing_requests`: BentoML divides `traffic.max_concurrency` by the CPU count inside each replica"
                        } else {
                            ""
                        }
                    )),
                );
        }
        Some(w) => {
            // Under an autoscaling spec Ray decides the replicas: a bento
            // count would conflict (BR303), so it is not offered.
            if let Workers::Count(n) = w.value
                && spec
                    .sets(OptionTable::Deployment, "autoscaling_config")
                    .is_none()
            {
                options.push(BentoOption {
                    table: OptionTable::Deployment,
                    key: "num_replicas",
                    value: Value::from(n),
                    setting: w.written.clone(),
                    from: w.from.to_string(),
                });
            }
        }
        None => {}
    }
    // BentoML admits ceil(max_concurrency / workers) requests per worker
    // (one worker per replica here) and answers 429 above that.
    let Some(mc) = &settings.max_concurrency else {
        return;
    };
    let workers = match settings.workers.as_ref().map(|w| w.value) {
        Some(Workers::CpuCount) => return,
        Some(Workers::Count(n)) => u64::from(n),
        None => 1,
    };
    let Some(key) = max_ongoing_key(target) else {
        return;
    };
    let limit = mc.value.div_ceil(workers);
    let (setting, from) = match &settings.workers {
        Some(w) => (
            format!(
                "ceil({} / {workers}) from {}, {}",
                mc.value, mc.written, w.written
            ),
            if w.from == mc.from {
                mc.from.to_string()
            } else {
                format!("{}; {}", mc.from, w.from)
            },
        ),
        None => (mc.written.clone(), mc.from.to_string()),
    };
    let set = ["max_ongoing_requests", "max_concurrent_queries"]
        .into_iter()
        .filter(|k| exists(OptionTable::Deployment, k, target))
        .find_map(|k| spec.sets(OptionTable::Deployment, k));
    options.push(BentoOption {
        table: OptionTable::Deployment,
        key,
        value: Value::from(limit),
        setting: setting.clone(),
        from: from.clone(),
    });
    match set {
        None => {}
        Some(e) => {
            let NodeKind::Integer(n) = e.value.kind else {
                return;
            };
            let from = format!("{setting} ({from})");
            if u64::try_from(n).is_ok_and(|n| n > limit) {
                place.push(
                    Diagnostic::new(
                        &rules::ABOVE_BENTOML_CONCURRENCY,
                        format!(
                            "`{} = {n}` lets Ray send each replica of `{service}` more requests than BentoML admits there ({limit} = {from}); the excess gets HTTP 429",
                            e.key,
                        ),
                    )
                    .at(e.value.span.clone())
                    .label(format!("above BentoML's limit of {limit}"))
                    .help(format!(
                        "set `{} = {limit}` or less (Ray queues the rest), or raise `traffic.max_concurrency` of `{service}` and rebuild the bento",
                        e.key
                    )),
                );
            }
        }
    }
}

/// BR318 for the resources the bento gives: the spec's placement group
/// bundle 0 hosts the replica, so it must hold them too (the spec's own
/// actor options are checked with the other deployment rules).
fn bundle_rule(spec: Spec, options: &[BentoOption], place: &mut Placer) {
    let Some(bundles) = spec.sets(OptionTable::Deployment, "placement_group_bundles") else {
        return;
    };
    let NodeKind::Array(items) = &bundles.value.kind else {
        return;
    };
    let Some(first) = items.first() else {
        return;
    };
    for o in options {
        let resource = match o.key {
            "num_cpus" => "CPU",
            "num_gpus" => "GPU",
            "memory" => "memory",
            _ => continue,
        };
        if o.table != OptionTable::ActorOptions || spec.sets(o.table, o.key).is_some() {
            continue;
        }
        let Some(amount) = o.value.as_f64() else {
            continue;
        };
        let has = match first.get(resource).map(|n| &n.kind) {
            Some(NodeKind::Integer(i)) => *i as f64,
            Some(NodeKind::Float(f)) => *f,
            _ => 0.0,
        };
        if has + 1e-9 < amount {
            place.push(
                Diagnostic::new(
                    &rules::BUNDLE_TOO_SMALL,
                    format!(
                        "bundle 0 has {has} {resource}, but each replica of `{}` needs {amount} (`ray_actor_options.{}` from the bento's `{}`, {})",
                        place.unit.name, o.key, o.setting, o.from
                    ),
                )
                .at(first.span.clone())
                .label(format!("needs {resource} ≥ {amount}"))
                .help(format!(
                    "bundle 0 hosts the replica: give it `{resource} = {amount}` or more, or set `ray_actor_options.{}` in [services.{}]",
                    o.key, place.unit.name
                )),
            );
        }
    }
}

/// Tasks, BentoCloud dependencies and queues (errors) and URL dependencies
/// (a note).
fn ray_cannot_serve(settings: &ServiceSettings, place: &mut Placer) {
    let unit = place.unit;
    let service = &unit.name;
    let tasks: Vec<&str> = unit
        .methods
        .iter()
        .flat_map(|ms| ms.iter())
        .filter(|m| m.task)
        .map(|m| m.name.as_str())
        .collect();
    for task in &tasks {
        let origin = unit
            .method(task)
            .map(|m| m.origin.to_string())
            .unwrap_or_default();
        place.push(
            Diagnostic::new(
                &rules::TASK_API,
                format!(
                    "service `{service}` has the task API `{task}` (`@bentoml.task`, {origin}), which bentoray cannot serve on Ray"
                ),
            )
            .label("a task API in this bento")
            .help("`bentoml serve` keeps task results in a SQLite file of the worker's machine, so on Ray a replica other than the one that ran the task cannot answer its /status or /get; make it a `@bentoml.api`, or serve this service with BentoML"),
        );
    }
    if tasks.is_empty()
        && let Some(q) = &settings.external_queue
        && q.value
    {
        place.push(
            Diagnostic::new(
                &rules::EXTERNAL_QUEUE,
                format!(
                    "service `{service}` has {}, a BentoCloud-only queue that Ray does not have",
                    q.describe()
                ),
            )
            .label("BentoCloud-only setting")
            .help(format!(
                "remove `external_queue` from the traffic settings of `{service}` and rebuild the bento"
            )),
        );
    }
    for d in &unit.dependencies {
        let attribute = d
            .attribute
            .as_deref()
            .map(|a| format!("`{a}` = "))
            .unwrap_or_default();
        if d.deployment.is_some() || d.cluster.is_some() {
            let args: Vec<String> = [("deployment", &d.deployment), ("cluster", &d.cluster)]
                .into_iter()
                .filter_map(|(k, v)| Some(format!("{k}={:?}", v.as_ref()?)))
                .collect();
            place.push(
                Diagnostic::new(
                    &rules::BENTOCLOUD_DEPENDENCY,
                    format!(
                        "service `{service}` depends on a BentoCloud deployment ({attribute}`bentoml.depends({})`), which Ray cannot reach",
                        args.join(", ")
                    ),
                )
                .label("a BentoCloud dependency")
                .help("depend on a service of the bento (a Ray deployment handle) or on a URL, and rebuild the bento"),
            );
        } else if let (None, Some(url)) = (&d.service, &d.url) {
            place.push(
                Diagnostic::new(
                    &rules::URL_DEPENDENCY,
                    format!(
                        "service `{service}` depends on {attribute}`bentoml.depends(url={url:?})`: BentoML's HTTP client calls it, not Ray"
                    ),
                )
                .label("a URL dependency")
                .help("the URL must be reachable from every replica of the service on the Ray cluster"),
            );
        }
    }
}

/// BR319 for services: every batchable API, with or without a batching
/// table, against its service's `max_ongoing_requests` from the spec, else
/// the bento, else Ray's default.
pub fn batch_capacity(
    root: &Node,
    bento: &Bento,
    defaults: &BentoDefaults,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    if bento.kind != BentoKind::Services {
        return;
    }
    let empty = Node {
        span: 0..0,
        kind: NodeKind::Table(Default::default()),
    };
    let bento_span = root.get("bento").map_or(0..0, |n| n.span.clone());
    let batch_default =
        |key: &str| numeric_default(OptionTable::Batching, key, target).unwrap_or(1.0);
    for unit in bento.keyed_units() {
        let Some(methods) = &unit.methods else {
            continue;
        };
        let service = root.get("services").and_then(|s| s.entry(&unit.name));
        let (spec_max, set) = effective_max_ongoing(service.map_or(&empty, |e| &e.value), target);
        let from_bento = defaults
            .service(&unit.name)
            .iter()
            .find(|o| matches!(o.key, "max_ongoing_requests" | "max_concurrent_queries"));
        let (max_ongoing, described) = match (set, from_bento) {
            (None, Some(o)) => (
                o.value.as_f64().unwrap_or(spec_max),
                format!(
                    "`{} = {}` from the bento's `{}` ({})",
                    o.key, o.value, o.setting, o.from
                ),
            ),
            _ => (spec_max, describe_max_ongoing(spec_max, set, target)),
        };
        let tables = root.get("batching").and_then(|b| b.get(&unit.name));
        for method in methods.iter().filter(|m| m.batchable == Some(true)) {
            let table = tables.and_then(|t| t.entry(&method.name));
            let spec_number = |key: &str| {
                table.and_then(|t| match t.value.get(key)?.kind {
                    NodeKind::Integer(i) => Some(i as f64),
                    NodeKind::Float(f) => Some(f),
                    _ => None,
                })
            };
            let Some(size) = spec_number("max_batch_size").or_else(|| {
                method
                    .max_batch_size
                    .as_ref()
                    .and_then(|s| s.value)
                    .map(|n| n as f64)
            }) else {
                continue;
            };
            let concurrent = spec_number("max_concurrent_batches")
                .unwrap_or_else(|| batch_default("max_concurrent_batches"));
            let needed = size * concurrent;
            if max_ongoing >= needed {
                continue;
            }
            let span = set
                .map(|e| e.value.span.clone())
                .or_else(|| table.map(|t| t.key_span.clone()))
                .or_else(|| service.map(|e| e.key_span.clone()))
                .unwrap_or_else(|| bento_span.clone());
            diags.push(
                Diagnostic::new(
                    &rules::BATCHES_NEVER_FILL,
                    format!(
                        "service `{}` takes at most {max_ongoing} requests at once ({described}), fewer than a full batch of `{}` ({needed})",
                        unit.name, method.name
                    ),
                )
                .at(span)
                .label("batches never fill")
                .help(format!(
                    "set `max_ongoing_requests = {needed}` or more in [services.{}] (max_batch_size {size} × max_concurrent_batches {concurrent})",
                    unit.name
                )),
            );
        }
    }
}
