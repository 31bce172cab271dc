//! Semantic rules: the checks a schema cannot express (cross-field rules,
//! facts from the bento, Ray Serve's deploy-time checks). They read the
//! spanned tree directly so they still run, and point at the right place,
//! when other parts of the spec have schema errors.

use std::fmt;

use crate::bento::Bento;
use crate::diagnostic::{Diagnostic, rules};
use crate::spec::spanned::{Entry, Node, NodeKind};

/// A Ray release `MAJOR.MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RayVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for RayVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl serde::Serialize for RayVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Oldest Ray release bentoray targets (the oldest `bentoml.ray` works with).
pub const OLDEST_RAY: RayVersion = RayVersion { major: 2, minor: 6 };
/// Newest Ray release bentoray knows; the default target.
pub const NEWEST_RAY: RayVersion = RayVersion {
    major: 2,
    minor: 60,
};

/// Runs every semantic rule. Returns the target Ray version, or `None` when
/// `[ray] version` is invalid.
pub fn check(
    root: &Node,
    bento: Option<&Bento>,
    diags: &mut Vec<Diagnostic>,
) -> Option<RayVersion> {
    let version = ray_version(root, diags);
    batching_rules(root, bento, diags);
    let mut deployment_tables: Vec<(String, &Node)> = Vec::new();
    if let Some(service) = root.get("service") {
        deployment_tables.push(("[service]".into(), service));
    }
    for runner in root.get("runners").map(Node::entries).unwrap_or_default() {
        deployment_tables.push((format!("[runners.{}]", runner.key), &runner.value));
    }
    for (_, table) in &deployment_tables {
        autoscaling_rules(table, diags);
    }
    route_prefix_rules(root, diags);
    import_path_rule(root, diags);
    version
}

fn ray_version(root: &Node, diags: &mut Vec<Diagnostic>) -> Option<RayVersion> {
    let Some(node) = root.get("ray").and_then(|r| r.get("version")) else {
        return Some(NEWEST_RAY);
    };
    let text = node.as_str()?;
    // A malformed value is already reported by the schema's pattern.
    let (major, minor) = text.split_once('.')?;
    let parsed = RayVersion {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    };
    if parsed < OLDEST_RAY || parsed > NEWEST_RAY {
        diags.push(
            Diagnostic::new(
                &rules::UNKNOWN_RAY_VERSION,
                format!("bentoray does not know Ray {parsed}; it targets Ray {OLDEST_RAY} to {NEWEST_RAY}"),
            )
            .at(node.span.clone())
            .label("unknown Ray release")
            .help(format!(
                "pick a version from {OLDEST_RAY} to {NEWEST_RAY}, or remove `version` to target {NEWEST_RAY}"
            )),
        );
        return None;
    }
    Some(parsed)
}

fn batching_rules(root: &Node, bento: Option<&Bento>, diags: &mut Vec<Diagnostic>) {
    let Some(batching) = root.entry("batching") else {
        return;
    };
    let enabled = matches!(
        root.get("enable_batching").map(|n| &n.kind),
        Some(NodeKind::Bool(true))
    );
    if !enabled && !batching.value.entries().is_empty() {
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
    for runner_entry in batching.value.entries() {
        let Some(methods) = bento
            .runner(&runner_entry.key)
            .and_then(|r| r.methods.as_ref())
        else {
            continue;
        };
        for method_entry in runner_entry.value.entries() {
            let Some(method) = methods.iter().find(|m| m.name == method_entry.key) else {
                continue; // unknown methods are reported by the schema
            };
            if !method.batchable {
                let batchable: Vec<&str> = methods
                    .iter()
                    .filter(|m| m.batchable)
                    .map(|m| m.name.as_str())
                    .collect();
                let others = if batchable.is_empty() {
                    format!("runner `{}` has no batchable method", runner_entry.key)
                } else {
                    format!(
                        "batchable methods of `{}`: {}",
                        runner_entry.key,
                        batchable.join(", ")
                    )
                };
                diags.push(
                    Diagnostic::new(
                        &rules::NOT_BATCHABLE,
                        format!(
                            "method `{}` of runner `{}` is not batchable",
                            method.name, runner_entry.key
                        ),
                    )
                    .at(method_entry.key_span.clone())
                    .label("signature has `batchable: false`")
                    .help(format!(
                        "remove this table, or save the model with a batchable `{}` signature; {others}",
                        method.name
                    )),
                );
            }
        }
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
    let auto = &autoscaling.value;
    let min = int(auto.entry("min_replicas"));
    let initial = int(auto.entry("initial_replicas"));
    let max = int(auto.entry("max_replicas"));
    // Ray's defaults when a bound is unset: min 1, max 1 (or 100 with "auto";
    // only explicit values are compared, to avoid false errors).
    let mut bound_error = |entry: &Entry, message: String| {
        diags.push(
            Diagnostic::new(&rules::AUTOSCALING_BOUNDS, message)
                .at(entry.value.span.clone())
                .label("out of order")
                .help("Ray Serve requires min_replicas ≤ initial_replicas ≤ max_replicas"),
        );
    };
    if let (Some((lo, _)), Some((hi, hi_entry))) = (min, max)
        && hi < lo
    {
        bound_error(
            hi_entry,
            format!("max_replicas ({hi}) must be ≥ min_replicas ({lo})"),
        );
    }
    if let (Some((lo, _)), Some((init, init_entry))) = (min, initial)
        && init < lo
    {
        bound_error(
            init_entry,
            format!("initial_replicas ({init}) must be ≥ min_replicas ({lo})"),
        );
    }
    if let (Some((init, init_entry)), Some((hi, _))) = (initial, max)
        && init > hi
    {
        bound_error(
            init_entry,
            format!("initial_replicas ({init}) must be ≤ max_replicas ({hi})"),
        );
    }
}

/// Ray Serve's `validate_route_prefix` (2.39+): starts with `/`, no
/// trailing `/` unless exactly `/`, no `{` or `}`.
pub fn route_prefix_problem(prefix: &str) -> Option<&'static str> {
    if !prefix.starts_with('/') {
        Some("must start with `/`")
    } else if prefix.len() > 1 && prefix.ends_with('/') {
        Some("must not end with `/` (unless it is exactly `/`)")
    } else if prefix.contains(['{', '}']) {
        Some("must not contain `{` or `}`")
    } else {
        None
    }
}

fn route_prefix_rules(root: &Node, diags: &mut Vec<Diagnostic>) {
    let app = root
        .get("application")
        .and_then(|a| a.entry("route_prefix"));
    let service = root.get("service").and_then(|s| s.entry("route_prefix"));
    for entry in [app, service].into_iter().flatten() {
        let Some(prefix) = entry.value.as_str() else {
            continue;
        };
        if let Some(problem) = route_prefix_problem(prefix) {
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
}

/// Python keywords: an import path part may not be one.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
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
    let ok = path
        .split_once(':')
        .is_some_and(|(module, var)| is_python_identifier(module) && is_python_identifier(var));
    if !ok {
        diags.push(
            Diagnostic::new(
                &rules::IMPORT_PATH,
                format!("import path {path:?} is not `<module>:<variable>`"),
            )
            .at(node.span.clone())
            .label("expected e.g. \"bento_ray:app\"")
            .help("both parts must be Python identifiers without dots; bentoray writes `<module>.py` into the output directory"),
        );
    }
}
