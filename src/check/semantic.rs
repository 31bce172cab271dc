//! Semantic rules: the checks a schema cannot express (cross-field rules,
//! facts from the bento, Ray Serve's deploy-time checks). They read the
//! spanned tree directly so they still run, and point at the right place,
//! when other parts of the spec have schema errors.

use crate::bento::{Bento, BentoKind, UnitKind};
use crate::diagnostic::{Diagnostic, rules};
use crate::spec::ray::{NEWEST_RAY, OLDEST_RAY, OptionTable, RayVersion, v};
use crate::spec::types::find_option;

use super::{runtime_env, versions};
use crate::spec::spanned::{Entry, Node, NodeKind};

/// Runs every semantic rule. Returns the target Ray version, or `None` when
/// `[ray] version` is invalid (version-dependent rules are then skipped).
pub fn check(
    root: &Node,
    bento: Option<&Bento>,
    diags: &mut Vec<Diagnostic>,
) -> Option<RayVersion> {
    let version = ray_version(root, diags);
    if let Some(bento) = bento {
        bento_kind_rules(root, bento, diags);
    }
    batching_rules(root, bento, diags);
    for table in versions::option_tables(root) {
        match table.table {
            OptionTable::Deployment => {
                user_config_rule(table.node, diags);
                autoscaling_rules(table.node, diags);
                placement_rules(table.node, diags);
                if let Some(target) = version {
                    autoscaling_capacity(table.node, target, diags);
                }
            }
            OptionTable::ActorOptions => resource_rules(table.node, diags),
            _ => {}
        }
    }
    if let Some(target) = version {
        versions::check(root, target, diags);
        runtime_env::check(root, target, diags);
        batch_capacity(root, bento, target, diags);
        bentoml_entrypoint_rules(root, bento, target, diags);
    }
    route_prefix_rules(root, version.unwrap_or(NEWEST_RAY), diags);
    import_path_rule(root, diags);
    // Before 2.53 the flag does not exist (BR312 reports it), so it cannot conflict.
    if version.is_some_and(|t| t >= v(2, 53)) {
        external_scaler_rule(root, diags);
    }
    version
}

fn ray_version(root: &Node, diags: &mut Vec<Diagnostic>) -> Option<RayVersion> {
    let Some(node) = root.get("ray").and_then(|r| r.get("version")) else {
        return Some(NEWEST_RAY);
    };
    let text = node.as_str()?;
    // A value that does not match MAJOR.MINOR is reported by the schema's
    // pattern; one that matches but does not parse (huge numbers) is unknown.
    let parsed = RayVersion::parse(text);
    if !text
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if parsed.is_none_or(|p| p < OLDEST_RAY || p > NEWEST_RAY) {
        let shown = parsed.map_or_else(|| text.to_string(), |p| p.to_string());
        diags.push(
            Diagnostic::new(
                &rules::UNKNOWN_RAY_VERSION,
                format!("bentoray does not know Ray {shown}; it targets Ray {OLDEST_RAY} to {NEWEST_RAY}"),
            )
            .at(node.span.clone())
            .label("unknown Ray release")
            .help(format!(
                "pick a version from {OLDEST_RAY} to {NEWEST_RAY}, or remove `version` to target {NEWEST_RAY}"
            )),
        );
        return None;
    }
    parsed
}

fn batching_rules(root: &Node, bento: Option<&Bento>, diags: &mut Vec<Diagnostic>) {
    let Some(batching) = root.entry("batching") else {
        return;
    };
    // New-style APIs are batched as declared; enable_batching is the legacy
    // switch (and BR342 where it is set on such a bento).
    let legacy = bento.is_none_or(|b| b.kind == BentoKind::Runners);
    let enabled = batching_enabled(root);
    if legacy && !enabled && !batching.value.entries().is_empty() {
        let span = root
            .get("enable_batching")
            .map_or(batching.key_span.clone(), |n| n.span.clone());
        diags.push(
            Diagnostic::new(
                &rules::BATCHING_DISABLED,
                "batching options have no effect while `enable_batching` is false",
            )
            .at(span)
            .label(if root.get("enable_batching").is_some() {
                "batching is disabled here"
            } else {
                "`enable_batching` defaults to false"
            })
            .help("set `enable_batching = true` at the top level, or remove the [batching] tables"),
        );
    }
    let Some(bento) = bento else {
        return;
    };
    let (noun, method_noun) = (bento.kind.unit_noun(), bento.kind.method_noun());
    for unit_entry in batching.value.entries() {
        let Some(unit) = bento.unit(&unit_entry.key) else {
            continue;
        };
        let Some(methods) = unit.methods.as_ref() else {
            continue;
        };
        // A custom runnable's methods are declared in Python, a framework
        // runner's by its model's signatures.
        let declared_in_python = !matches!(
            unit.kind,
            UnitKind::Runner {
                from_metadata: true,
                ..
            }
        );
        for method_entry in unit_entry.value.entries() {
            let Some(method) = methods.iter().find(|m| m.name == method_entry.key) else {
                continue; // unknown methods are reported by the schema
            };
            if method.batchable != Some(false) {
                continue; // batchable, or not a literal (BR206)
            }
            let batchable: Vec<&str> = methods
                .iter()
                .filter(|m| m.batchable == Some(true))
                .map(|m| m.name.as_str())
                .collect();
            let others = if batchable.is_empty() {
                format!("{noun} `{}` has no batchable {method_noun}", unit_entry.key)
            } else {
                format!(
                    "batchable {method_noun}s of `{}`: {}",
                    unit_entry.key,
                    batchable.join(", ")
                )
            };
            let (label, fix) = match bento.kind {
                BentoKind::Services => (
                    format!("declared without `batchable=True` ({})", method.origin),
                    "declare it `@bentoml.api(batchable=True)` (its input is then a list)"
                        .to_string(),
                ),
                BentoKind::Runners if declared_in_python => (
                    format!("declared without `batchable=True` ({})", method.origin),
                    "declare it `@bentoml.Runnable.method(batchable=True)`".to_string(),
                ),
                BentoKind::Runners => (
                    "signature has `batchable: false`".to_string(),
                    format!(
                        "save the model with a batchable `{}` signature",
                        method.name
                    ),
                ),
            };
            diags.push(
                Diagnostic::new(
                    &rules::NOT_BATCHABLE,
                    format!(
                        "{method_noun} `{}` of {noun} `{}` is not batchable",
                        method.name, unit_entry.key
                    ),
                )
                .at(method_entry.key_span.clone())
                .label(label)
                .help(format!("remove this table, or {fix}; {others}")),
            );
        }
    }
}

/// Keys and tables of the other kind of bento (BR342): `[service]`,
/// `[runners]`, `enable_batching` and `entrypoint = "bentoml"` on a
/// new-style bento, `[services]` on a legacy one.
fn bento_kind_rules(root: &Node, bento: &Bento, diags: &mut Vec<Diagnostic>) {
    let tag = bento.tag();
    let services: Vec<&str> = bento.keyed_units().map(|u| u.name.as_str()).collect();
    let example = services.first().copied().unwrap_or("<Service>");
    // (entry, message, fix)
    let misplaced: Vec<(&Entry, String, String)> = match bento.kind {
        BentoKind::Services => [
            ("service", "[service] holds the legacy API server's options"),
            ("runners", "[runners] holds runner options"),
            ("enable_batching", "`enable_batching` is the legacy runner batching switch"),
        ]
        .into_iter()
        .filter_map(|(key, what)| root.entry(key).map(|e| (e, key, what)))
        .map(|(e, key, what)| {
            let fix = if key == "enable_batching" {
                format!("remove it: each API is batched as its `@bentoml.api(batchable=...)` declares, tuned with [batching.{example}.<api>]")
            } else {
                format!("use [services.{example}] for a service's Ray deployment options")
            };
            (
                e,
                format!("{what}, which does not apply to new-style bento `{tag}`: it has services, not runners"),
                fix,
            )
        })
        .chain(
            root.entry("entrypoint")
                .filter(|e| e.value.as_str() == Some("bentoml"))
                .map(|e| {
                    (
                        e,
                        format!("`entrypoint = \"bentoml\"` cannot serve new-style bento `{tag}`: `bentoml.ray.deployment` serves runner-based bentos only"),
                        "remove it: the native entrypoint is the one that will serve services".to_string(),
                    )
                }),
        )
        .collect(),
        BentoKind::Runners => root
            .entry("services")
            .map(|e| {
                (
                    e,
                    format!("[services] holds options of new-style services, which does not apply to legacy bento `{tag}`: it has an API server and runners"),
                    "use [service] for the API server and [runners.<runner>] for a runner".to_string(),
                )
            })
            .into_iter()
            .collect(),
    };
    for (entry, message, fix) in misplaced {
        let applies = match bento.kind {
            BentoKind::Services => format!(
                "[services.<Service>] and [batching.<Service>.<api>] apply to this bento; its services: {}",
                bounded_list(&services)
            ),
            BentoKind::Runners => "[service], [runners.<runner>], [batching.<runner>.<method>] and `enable_batching` apply to this bento".to_string(),
        };
        diags.push(
            Diagnostic::new(&rules::WRONG_BENTO_KIND, message)
                .at(entry.key_span.clone())
                .label(format!(
                    "not for a {} bento",
                    match bento.kind {
                        BentoKind::Services => "new-style",
                        BentoKind::Runners => "runner-based",
                    }
                ))
                .help(format!("{fix}; {applies}")),
        );
    }
}

/// At most 40 names, then how many there are in all.
fn bounded_list(names: &[&str]) -> String {
    const LISTED: usize = 40;
    match names.len() {
        n if n > LISTED => format!("{}, … ({n} in all)", names[..LISTED].join(", ")),
        _ => names.join(", "),
    }
}

fn int(node: Option<&Entry>) -> Option<(i64, &Entry)> {
    let e = node?;
    match e.value.kind {
        NodeKind::Integer(i) => Some((i, e)),
        _ => None,
    }
}

fn autoscaling_rules(table: &Node, diags: &mut Vec<Diagnostic>) {
    let Some(autoscaling) = table.entry("autoscaling_config") else {
        return;
    };
    if let Some((_, replicas)) = int(table.entry("num_replicas")) {
        diags.push(
            Diagnostic::new(
                &rules::REPLICAS_WITH_AUTOSCALING,
                "an integer `num_replicas` cannot be combined with `autoscaling_config`",
            )
            .at(replicas.value.span.clone())
            .label("fixed replica count")
            .help("remove `num_replicas` (autoscaling decides the count), or set `num_replicas = \"auto\"`"),
        );
    }
    // Unset bounds take Ray's defaults: min 1 and max 1, or, with
    // `num_replicas = "auto"`, AutoscalingConfig.default() (min 1, max 100).
    let is_auto = table.get("num_replicas").and_then(Node::as_str) == Some("auto");
    let config = &autoscaling.value;
    let bound = |key: &str, default: Option<i64>| match int(config.entry(key)) {
        Some((n, e)) => Some((n, Some(e))),
        None => default.map(|d| (d, None)),
    };
    let min = bound("min_replicas", Some(1));
    let initial = bound("initial_replicas", None);
    let max = bound("max_replicas", Some(if is_auto { 100 } else { 1 }));
    let show = |key: &str, (n, e): (i64, Option<&Entry>)| match e {
        Some(_) => format!("{key} ({n})"),
        None => format!("{key} (default {n})"),
    };
    let mut out_of_order = |low: (i64, Option<&Entry>),
                            high: (i64, Option<&Entry>),
                            low_key: &str,
                            high_key: &str| {
        if high.0 >= low.0 {
            return;
        }
        // Point at whichever bound the user wrote (prefer the higher one).
        let Some(entry) = high.1.or(low.1) else {
            return;
        };
        diags.push(
            Diagnostic::new(
                &rules::AUTOSCALING_BOUNDS,
                format!("{} must be ≥ {}", show(high_key, high), show(low_key, low)),
            )
            .at(entry.value.span.clone())
            .label("out of order")
            .help("Ray Serve requires min_replicas ≤ initial_replicas ≤ max_replicas; unset bounds default to min 1 and max 1 (100 with num_replicas = \"auto\")"),
        );
    };
    if let (Some(lo), Some(hi)) = (min, max) {
        out_of_order(lo, hi, "min_replicas", "max_replicas");
    }
    if let (Some(lo), Some(init)) = (min, initial) {
        out_of_order(lo, init, "min_replicas", "initial_replicas");
    }
    if let (Some(init), Some(hi)) = (initial, max) {
        out_of_order(init, hi, "initial_replicas", "max_replicas");
    }
}

/// Ray Serve's route prefix check for the target: from 2.39
/// `validate_route_prefix` (starts with `/`, no trailing `/` unless exactly
/// `/`, no `{` or `}`); before, only the leading `/`.
pub fn route_prefix_problem(prefix: &str, target: RayVersion) -> Option<&'static str> {
    if !prefix.starts_with('/') {
        Some("must start with `/`")
    } else if target < v(2, 39) {
        None
    } else if prefix.len() > 1 && prefix.ends_with('/') {
        Some("must not end with `/` (unless it is exactly `/`)")
    } else if prefix.contains(['{', '}']) {
        Some("must not contain `{` or `}`")
    } else {
        None
    }
}

fn route_prefix_rules(root: &Node, target: RayVersion, diags: &mut Vec<Diagnostic>) {
    let app = root
        .get("application")
        .and_then(|a| a.entry("route_prefix"));
    let service = root.get("service").and_then(|s| s.entry("route_prefix"));
    for entry in [app, service].into_iter().flatten() {
        let Some(prefix) = entry.value.as_str() else {
            continue;
        };
        if let Some(problem) = route_prefix_problem(prefix, target) {
            let fixed = format!("/{}", prefix.trim_matches('/').replace(['{', '}'], ""));
            diags.push(
                Diagnostic::new(
                    &rules::ROUTE_PREFIX,
                    format!("route prefix {prefix:?} {problem}"),
                )
                .at(entry.value.span.clone())
                .label(problem)
                .help(format!("use a prefix such as {fixed:?}")),
            );
        }
    }
    match (app, service) {
        (Some(_), Some(service)) => diags.push(
            Diagnostic::new(
                &rules::MISPLACED_ROUTE_PREFIX,
                "`route_prefix` is set in both [application] and [service]",
            )
            .at(service.key_span.clone())
            .label("second route prefix")
            .help("keep only `[application] route_prefix`"),
        ),
        (None, Some(service)) => diags.push(
            Diagnostic::new(
                &rules::ROUTE_PREFIX_LOWERED,
                "`route_prefix` in [service] becomes the application's route prefix",
            )
            .at(service.key_span.clone())
            .label("moved to [application]")
            .help("Ray Serve removed the deployment-level `route_prefix` in 2.39; move it to [application] to silence this note"),
        ),
        _ => {}
    }
    for runner in root.get("runners").map(Node::entries).unwrap_or_default() {
        if let Some(entry) = runner.value.entry("route_prefix") {
            diags.push(
                Diagnostic::new(
                    &rules::MISPLACED_ROUTE_PREFIX,
                    format!("runner `{}` cannot have a route prefix", runner.key),
                )
                .at(entry.key_span.clone())
                .label("runners are not exposed over HTTP")
                .help("set the HTTP route with `[application] route_prefix`"),
            );
        }
    }
    for service in root.get("services").map(Node::entries).unwrap_or_default() {
        if let Some(entry) = service.value.entry("route_prefix") {
            diags.push(
                Diagnostic::new(
                    &rules::MISPLACED_ROUTE_PREFIX,
                    format!("service `{}` cannot have its own route prefix", service.key),
                )
                .at(entry.key_span.clone())
                .label("set on the application")
                .help("the entry service serves every HTTP route under the application's prefix: set `[application] route_prefix`"),
            );
        }
    }
}

/// Python keywords: an import path part may not be one.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names the generated entrypoint defines or imports; the application
/// variable must not rebind them.
const RESERVED_NAMES: &[&str] = &[
    "BENTO_TAG",
    "SERVICE_NAME",
    "LOAD_FROM_LOCAL_STORE",
    "ENABLE_BATCHING",
    "INGRESS_OPTIONS",
    "RUNNERS",
    "asyncio",
    "bentoml",
    "functools",
    "json",
    "logging",
    "os",
    "ray",
    "serve",
    "starlette",
    "typing",
];

/// Whether `s` is a plain ASCII Python identifier that is not a keyword.
pub fn is_python_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&s)
}

fn import_path_rule(root: &Node, diags: &mut Vec<Diagnostic>) {
    let Some(node) = root.get("application").and_then(|a| a.get("import_path")) else {
        return;
    };
    let Some(path) = node.as_str() else {
        return;
    };
    let ok = path.split_once(':').is_some_and(|(module, var)| {
        is_python_identifier(module)
            && is_python_identifier(var)
            && !var.starts_with('_')
            && !RESERVED_NAMES.contains(&var)
    });
    if !ok {
        diags.push(
            Diagnostic::new(
                &rules::IMPORT_PATH,
                format!("import path {path:?} is not `<module>:<variable>`"),
            )
            .at(node.span.clone())
            .label("expected e.g. \"bento_ray:app\"")
            .help("both parts must be Python identifiers without dots, and the variable must not start with `_` or be a name the entrypoint uses (e.g. `serve`, `bentoml`); bentoray writes `<module>.py` into the output directory"),
        );
    } else if let Some((module, what)) = path
        .split_once(':')
        .and_then(|(module, _)| Some((module, super::python_modules::shadowed(module)?)))
    {
        diags.push(
            Diagnostic::new(
                &rules::IMPORT_PATH_SHADOWS,
                format!("module `{module}` of the import path shadows {what}"),
            )
            .at(node.span.clone())
            .label(format!("`{module}.py` would replace `import {module}`"))
            .help("Ray puts the working directory first on sys.path, so the generated module would be imported instead of the real one everywhere in the application; pick another module name, e.g. \"bento_ray:app\""),
        );
    }
}

/// Whether the spec sets `enable_batching = true`.
fn batching_enabled(root: &Node) -> bool {
    matches!(
        root.get("enable_batching").map(|n| &n.kind),
        Some(NodeKind::Bool(true))
    )
}

/// Ray's numeric default for an option on `target`, from the option tables
/// (`None` when the option does not exist there or has no numeric default).
pub(super) fn numeric_default(table: OptionTable, key: &str, target: RayVersion) -> Option<f64> {
    find_option(table, key)
        .filter(|o| o.availability.exists_in(target))
        .and_then(|o| o.availability.default_in(target))
        .and_then(|d| d.parse().ok())
}

/// A number (integer or float) at a key.
fn number<'a>(node: &'a Node, key: &str) -> Option<(f64, &'a Entry)> {
    let e = node.entry(key)?;
    match e.value.kind {
        NodeKind::Integer(i) => Some((i as f64, e)),
        NodeKind::Float(f) => Some((f, e)),
        _ => None,
    }
}

/// Ray's resource precision: at most 4 decimal places.
fn too_precise(x: f64) -> bool {
    let scaled = x * 10_000.0;
    (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0)
}

fn precision_rule(value: f64, entry: &Entry, what: &str, diags: &mut Vec<Diagnostic>) {
    if !too_precise(value) {
        return;
    }
    // Ray rejects non-zero amounts below 0.0001 and silently truncates others.
    let help = if value.abs() < 0.0001 {
        "use 0 or at least 0.0001".to_string()
    } else {
        format!("round to 4 decimal places ({value:.4}); Ray would silently truncate it")
    };
    diags.push(
        Diagnostic::new(
            &rules::RESOURCE_PRECISION,
            format!("{what} {value} has more than 4 decimal places"),
        )
        .at(entry.value.span.clone())
        .label("precision is 0.0001")
        .help(help),
    );
}

fn resource_rules(actor: &Node, diags: &mut Vec<Diagnostic>) {
    for key in ["num_cpus", "num_gpus"] {
        if let Some((value, entry)) = number(actor, key) {
            precision_rule(value, entry, &format!("`{key}`"), diags);
        }
    }
    let Some(resources) = actor.get("resources") else {
        return;
    };
    for entry in resources.entries() {
        if let Some((value, e)) = number(resources, &entry.key) {
            precision_rule(value, e, &format!("resource `{}`", entry.key), diags);
        }
        if entry.key == "CPU" || entry.key == "GPU" {
            let instead = if entry.key == "CPU" {
                "num_cpus"
            } else {
                "num_gpus"
            };
            diags.push(
                Diagnostic::new(
                    &rules::CPU_GPU_RESOURCES,
                    format!("`{}` cannot be a custom resource", entry.key),
                )
                .at(entry.key_span.clone())
                .label(format!("use `{instead}`"))
                .help(format!(
                    "write `{instead} = …` in ray_actor_options instead of resources.{}",
                    entry.key
                )),
            );
        }
    }
}

fn placement_rules(deployment: &Node, diags: &mut Vec<Diagnostic>) {
    let bundles = deployment.entry("placement_group_bundles");
    if let (Some(strategy), None) = (deployment.entry("placement_group_strategy"), bundles) {
        diags.push(
            Diagnostic::new(
                &rules::STRATEGY_WITHOUT_BUNDLES,
                "`placement_group_strategy` needs `placement_group_bundles`",
            )
            .at(strategy.key_span.clone())
            .label("no bundles to place")
            .help("add `placement_group_bundles = [{ CPU = 1 }]` (bundle 0 hosts the replica), or remove the strategy"),
        );
    }
    let Some(bundles) = bundles else {
        return;
    };
    if let Some(per_node) = deployment.entry("max_replicas_per_node") {
        diags.push(
            Diagnostic::new(
                &rules::REPLICAS_PER_NODE_WITH_BUNDLES,
                "`max_replicas_per_node` cannot be combined with `placement_group_bundles`",
            )
            .at(per_node.key_span.clone())
            .label("conflicts with the placement group")
            .help("remove `max_replicas_per_node`, or the placement group (use a STRICT_SPREAD strategy to spread bundles)"),
        );
    }
    // Bundle 0 hosts the replica actor: it must cover the actor's resources.
    let NodeKind::Array(items) = &bundles.value.kind else {
        return;
    };
    let Some(first) = items
        .first()
        .filter(|b| matches!(b.kind, NodeKind::Table(_)))
    else {
        return;
    };
    let actor = deployment.get("ray_actor_options");
    let mut needs: Vec<(String, f64)> = Vec::new();
    // Serve gives a replica 1 CPU when num_cpus is unset.
    let cpus = actor
        .and_then(|a| number(a, "num_cpus"))
        .map_or(1.0, |(n, _)| n);
    needs.push(("CPU".into(), cpus));
    if let Some((gpus, _)) = actor.and_then(|a| number(a, "num_gpus")) {
        needs.push(("GPU".into(), gpus));
    }
    if let Some((memory, _)) = actor.and_then(|a| number(a, "memory")) {
        needs.push(("memory".into(), memory));
    }
    if let Some(resources) = actor.and_then(|a| a.get("resources")) {
        for e in resources.entries() {
            if let Some((n, _)) = number(resources, &e.key) {
                needs.push((e.key.clone(), n));
            }
        }
    }
    for (resource, amount) in needs {
        if amount <= 0.0 {
            continue;
        }
        let has = number(first, &resource).map_or(0.0, |(n, _)| n);
        if has + 1e-9 < amount {
            diags.push(
                Diagnostic::new(
                    &rules::BUNDLE_TOO_SMALL,
                    format!("bundle 0 has {has} {resource}, but each replica needs {amount}"),
                )
                .at(first.span.clone())
                .label(format!("needs {resource} ≥ {amount}"))
                .help(format!(
                    "bundle 0 hosts the replica: give it `{resource} = {amount}` or more{}",
                    if resource == "CPU" && actor.and_then(|a| a.get("num_cpus")).is_none() {
                        " (Serve reserves 1 CPU per replica unless ray_actor_options.num_cpus says otherwise)"
                    } else {
                        ""
                    }
                )),
            );
        }
    }
}

/// The `max_ongoing_requests` a deployment runs with on `target`, and the
/// entry that set it (`None`: Ray's default).
pub(super) fn effective_max_ongoing(
    deployment: &Node,
    target: RayVersion,
) -> (f64, Option<&Entry>) {
    if let Some(option) = find_option(OptionTable::Deployment, "max_ongoing_requests")
        && option.availability.exists_in(target)
        && let Some((n, e)) = number(deployment, "max_ongoing_requests")
    {
        return (n, Some(e));
    }
    if let Some(option) = find_option(OptionTable::Deployment, "max_concurrent_queries")
        && option.availability.exists_in(target)
        && let Some((n, e)) = number(deployment, "max_concurrent_queries")
    {
        return (n, Some(e));
    }
    let auto = deployment.get("num_replicas").and_then(Node::as_str) == Some("auto");
    // Ray 2.10–2.31 used 5 instead of 100 when num_replicas is "auto".
    if auto && target >= v(2, 10) && target < v(2, 32) {
        return (5.0, None);
    }
    let key = if target >= v(2, 10) {
        "max_ongoing_requests"
    } else {
        "max_concurrent_queries"
    };
    (
        numeric_default(OptionTable::Deployment, key, target).unwrap_or(5.0),
        None,
    )
}

pub(super) fn describe_max_ongoing(value: f64, set: Option<&Entry>, target: RayVersion) -> String {
    match set {
        Some(e) => format!("`{} = {value}`", e.key),
        None => format!("Ray {target}'s default of {value}"),
    }
}

fn batch_capacity(
    root: &Node,
    bento: Option<&Bento>,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    let kind = bento.map_or(BentoKind::Runners, |b| b.kind);
    // Services: `mapping::batch_capacity`, with the bento's defaults.
    // Runners batch only with enable_batching.
    if kind == BentoKind::Services || !batching_enabled(root) {
        return;
    }
    let (section, noun) = (kind.section(), kind.unit_noun());
    let batch_default =
        |key: &str| numeric_default(OptionTable::Batching, key, target).unwrap_or(1.0);
    for unit in root.get("batching").map(Node::entries).unwrap_or_default() {
        let methods = bento
            .and_then(|b| b.unit(&unit.key))
            .and_then(|u| u.methods.as_ref());
        let deployment = root.get(section).and_then(|r| r.get(&unit.key));
        let empty = Node {
            span: 0..0,
            kind: NodeKind::Table(Default::default()),
        };
        let (max_ongoing, set) = effective_max_ongoing(deployment.unwrap_or(&empty), target);
        for method in unit.value.entries() {
            let declared = methods.and_then(|ms| ms.iter().find(|m| m.name == method.key));
            // Non-batchable methods are not wrapped with serve.batch (BR301).
            if methods.is_some() && declared.is_none_or(|m| m.batchable == Some(false)) {
                continue;
            }
            // A service API's own max_batch_size is the default over Ray's.
            let bento_size = declared
                .and_then(|m| m.max_batch_size.as_ref())
                .and_then(|s| s.value)
                .map(|n| n as f64);
            let size = number(&method.value, "max_batch_size")
                .map(|(n, _)| n)
                .or(bento_size)
                .unwrap_or_else(|| batch_default("max_batch_size"));
            let concurrent = number(&method.value, "max_concurrent_batches")
                .map_or(batch_default("max_concurrent_batches"), |(n, _)| n);
            let needed = size * concurrent;
            if max_ongoing >= needed {
                continue;
            }
            let span = set.map_or(method.key_span.clone(), |e| e.value.span.clone());
            diags.push(
                Diagnostic::new(
                    &rules::BATCHES_NEVER_FILL,
                    format!(
                        "{noun} `{}` takes at most {max_ongoing} requests at once ({}), fewer than a full batch of `{}` ({needed})",
                        unit.key,
                        describe_max_ongoing(max_ongoing, set, target),
                        method.key
                    ),
                )
                .at(span)
                .label("batches never fill")
                .help(format!(
                    "set `max_ongoing_requests = {needed}` or more in [{section}.{}] (max_batch_size {size} × max_concurrent_batches {concurrent})",
                    unit.key
                )),
            );
        }
    }
}

fn autoscaling_capacity(deployment: &Node, target: RayVersion, diags: &mut Vec<Diagnostic>) {
    let auto = deployment.get("num_replicas").and_then(Node::as_str) == Some("auto");
    let autoscaling = deployment.get("autoscaling_config");
    if autoscaling.is_none() && !auto {
        return;
    }
    let explicit = autoscaling.and_then(|a| {
        [
            "target_ongoing_requests",
            "target_num_ongoing_requests_per_replica",
        ]
        .into_iter()
        .filter(|k| {
            find_option(OptionTable::Autoscaling, k)
                .is_some_and(|o| o.availability.exists_in(target))
        })
        .find_map(|k| number(a, k))
    });
    let (goal, goal_entry) = match explicit {
        Some((n, e)) => (n, Some(e)),
        None => {
            let key = if target >= v(2, 10) {
                "target_ongoing_requests"
            } else {
                "target_num_ongoing_requests_per_replica"
            };
            (
                numeric_default(OptionTable::Autoscaling, key, target).unwrap_or(2.0),
                None,
            )
        }
    };
    let (max_ongoing, set) = effective_max_ongoing(deployment, target);
    if max_ongoing >= goal {
        return;
    }
    let span = set
        .map(|e| e.value.span.clone())
        .or_else(|| goal_entry.map(|e| e.value.span.clone()))
        .unwrap_or_else(|| deployment.span.clone());
    diags.push(
        Diagnostic::new(
            &rules::AUTOSCALING_NEVER_HAPPENS,
            format!(
                "replicas take at most {max_ongoing} requests at once ({}), below the autoscaling target of {goal} per replica",
                describe_max_ongoing(max_ongoing, set, target)
            ),
        )
        .at(span)
        .label("autoscaling never triggers")
        .help(format!(
            "set `max_ongoing_requests` about 20–50% above the target, e.g. {}",
            (goal * 1.3).ceil()
        )),
    );
}

fn external_scaler_rule(root: &Node, diags: &mut Vec<Diagnostic>) {
    let Some(flag) = root
        .get("application")
        .and_then(|a| a.entry("external_scaler_enabled"))
    else {
        return;
    };
    if !matches!(flag.value.kind, NodeKind::Bool(true)) {
        return;
    }
    for table in versions::option_tables(root) {
        if table.table != OptionTable::Deployment {
            continue;
        }
        let scaler = table
            .node
            .entry("autoscaling_config")
            .map(|e| e.key_span.clone())
            .or_else(|| {
                table
                    .node
                    .entry("num_replicas")
                    .filter(|e| e.value.as_str() == Some("auto"))
                    .map(|e| e.value.span.clone())
            });
        if let Some(span) = scaler {
            diags.push(
                Diagnostic::new(
                    &rules::EXTERNAL_SCALER_AUTOSCALING,
                    format!("{} autoscales, but `external_scaler_enabled` is true", table.name()),
                )
                .at(span)
                .label("autoscaling here")
                .help("with an external scaler Ray forbids autoscaling: remove autoscaling from this deployment, or set `external_scaler_enabled = false`"),
            );
        }
    }
}

/// `entrypoint = "bentoml"`: the Ray releases `bentoml.ray.deployment` runs
/// on, and where its two known bugs will bite.
fn bentoml_entrypoint_rules(
    root: &Node,
    bento: Option<&Bento>,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(entry) = root.entry("entrypoint") else {
        return;
    };
    if entry.value.as_str() != Some("bentoml") {
        return;
    }
    // bentoml.ray imports ray.serve._private.http_util.BufferedASGISender,
    // which exists in Ray 2.6 and 2.7 only.
    if !(v(2, 6)..=v(2, 7)).contains(&target) {
        let why = if target > v(2, 7) {
            format!("it imports a private Ray class that Ray {target} no longer has (bentoml#4270)")
        } else {
            format!("it imports a private Ray class that Ray {target} does not have yet")
        };
        diags.push(
            Diagnostic::new(
                &rules::BENTOML_ENTRYPOINT_RAY,
                format!("`bentoml.ray.deployment` cannot run on Ray {target}: {why}"),
            )
            .at(entry.value.span.clone())
            .label("works on Ray 2.6–2.7 only")
            .help("set `[ray] version = \"2.7\"` if the cluster runs Ray 2.6/2.7 (with Python ≤ 3.10), or use `entrypoint = \"native\"`"),
        );
    }
    // A new-style bento cannot be served this way at all (BR342).
    let Some(bento) = bento.filter(|b| b.kind == BentoKind::Runners) else {
        return;
    };
    let table_span = |section: &str, runner: &str| {
        root.get(section)
            .and_then(|t| t.entry(runner))
            .map(|e| e.key_span.clone())
    };
    for runner in bento.runners() {
        let Some(methods) = runner.methods.as_ref().filter(|m| m.len() > 1) else {
            continue;
        };
        let last = methods.last().map(|m| m.name.as_str()).unwrap_or_default();
        let span = table_span("runners", &runner.name)
            .or_else(|| table_span("batching", &runner.name))
            .unwrap_or_else(|| entry.value.span.clone());
        let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
        diags.push(
            Diagnostic::new(
                &rules::BENTOML_BUG_A,
                format!(
                    "runner `{}` has {} methods ({}); under `bentoml.ray.deployment` every one of them runs `{last}`",
                    runner.name,
                    methods.len(),
                    names.join(", ")
                ),
            )
            .at(span)
            .label("multi-method runner")
            .help("use `entrypoint = \"native\"`, which binds each method to itself"),
        );
    }
    let enabled = batching_enabled(root);
    let first = bento.runners().next().map(|r| r.name.as_str());
    for runner in root.get("batching").map(Node::entries).unwrap_or_default() {
        if !enabled || Some(runner.key.as_str()) == first || runner.value.entries().is_empty() {
            continue;
        }
        diags.push(
            Diagnostic::new(
                &rules::BENTOML_BUG_B,
                format!(
                    "batching options for runner `{}` are lost under `bentoml.ray.deployment`: only the first runner (`{}`) gets its batching config",
                    runner.key,
                    first.unwrap_or_default()
                ),
            )
            .at(runner.key_span.clone())
            .label("Ray defaults apply instead")
            .help("use `entrypoint = \"native\"`, which applies each runner's own batching options"),
        );
    }
}

fn user_config_rule(deployment: &Node, diags: &mut Vec<Diagnostic>) {
    if let Some(entry) = deployment.entry("user_config") {
        diags.push(
            Diagnostic::new(
                &rules::USER_CONFIG_UNSUPPORTED,
                "`user_config` cannot be used: bento deployments have no `reconfigure` method",
            )
            .at(entry.key_span.clone())
            .label("Ray would fail every replica")
            .help("remove `user_config`; Ray Serve requires a `reconfigure` method to receive it"),
        );
    }
}
