//! Stage 3: check. Validates a parsed spec against the schema, its bento's
//! runner and method names plus the semantic rules, collecting *all* diagnostics, and
//! produces the typed spec when there are no errors.
//!
//! Invariant: `Checked` exists only for a spec with no error diagnostics.

pub mod bento_schema;
mod kuberay;
mod mapping;
mod python_modules;
mod runtime_env;
mod schema;
mod semantic;
mod table_trap;
mod versions;

use std::path::Path;

use crate::bento::{self, Bento, BentoProblem};
use crate::diagnostic::{Diagnostic, FileDiagnostics, SourceFile, rules};
use crate::spec::spanned::{self, Node, Segment};
use crate::spec::types::{self, Spec};

pub use crate::spec::ray::{NEWEST_RAY, OLDEST_RAY, RayVersion};
pub use mapping::{BentoDefaults, BentoOption};
pub use schema::{describe, resolve, schema_at};

/// A spec that passed every check, with the bento it was checked against.
#[derive(Debug, Clone)]
pub struct Checked {
    pub spec: Spec,
    pub bento: Bento,
    pub ray_version: RayVersion,
    /// Where the spec names the bento, for diagnostics after checking.
    pub bento_span: std::ops::Range<usize>,
    /// The spec's tree, so that checks after lowering (`plan::capacity`)
    /// point at the spec's keys.
    pub tree: Node,
    /// Ray options the bento's own settings give (new-style services), under
    /// the spec's.
    pub bento_defaults: BentoDefaults,
}

/// Why a checked spec cannot be built, if it cannot; `build` stops before
/// writing anything. For a new-style bento (the native entrypoint; BR342
/// already rejects `entrypoint = "bentoml"` for one): a service whose APIs,
/// or a dependency whose attribute, bentoray could not read from the sources
/// (BR205: the entrypoint is compiled from them), and APIs of services called
/// through handles that are named like Ray's own deployment methods (BR365).
pub fn build_blockers(checked: &Checked) -> Vec<Diagnostic> {
    let bento = &checked.bento;
    if bento.kind != bento::BentoKind::Services
        || checked.spec.entrypoint != types::EntrypointKind::Native
    {
        return Vec::new();
    }
    let at = |d: Diagnostic| d.at(checked.bento_span.clone());
    let mut diags = Vec::new();
    for unit in bento.keyed_units() {
        let entry = matches!(unit.kind, bento::UnitKind::Service { entry: true });
        let Some(apis) = unit.methods.as_deref() else {
            diags.push(at(Diagnostic::new(
                &rules::UNSUPPORTED_BENTO,
                format!("the APIs of service `{}` cannot be read ({}), so bentoray cannot compile its deployment", unit.name, unit.methods_from),
            )
            .label("new-style services")
            .help("the entrypoint calls each API by name and batches the batchable ones: keep the service's class and its `@bentoml.api` methods in the bento's Python sources (`include` in bentofile.yaml)")));
            continue;
        };
        for dependency in &unit.dependencies {
            if let (None, Some(service)) = (&dependency.attribute, &dependency.service) {
                diags.push(at(Diagnostic::new(
                    &rules::UNSUPPORTED_BENTO,
                    format!("service `{}` depends on `{service}`, but bentoray cannot find the class attribute that holds the dependency", unit.name),
                )
                .label("new-style services")
                .help(format!("the entrypoint replaces that attribute with a client of `{service}`'s deployment: write it as `name = bentoml.depends({service})` in the class body of `{}`", unit.name))));
            }
        }
        // The entry service is served through its ASGI app: its APIs are
        // not deployment methods.
        if entry {
            continue;
        }
        for api in apis
            .iter()
            .filter(|a| RAY_DEPLOYMENT_METHODS.contains(&a.name.as_str()))
        {
            diags.push(at(Diagnostic::new(
                &rules::API_NAME_RESERVED_BY_RAY,
                format!("API `{}` of service `{}` ({}) has the name of one of Ray Serve's own deployment methods", api.name, unit.name, api.origin),
            )
            .label("new-style services")
            .help(format!("`{}` is called through a deployment handle, one deployment method per API; Ray Serve reserves {} for itself. Rename the method (clients call it by its new name)", unit.name, RAY_DEPLOYMENT_METHODS.map(|m| format!("`{m}`")).join(", ")))));
        }
    }
    diags
}

/// The Ray option defaults a bento's own settings give on `target`, as if
/// the spec set nothing (what `init` shows); problems are left to `check`.
pub fn bento_defaults(bento: &Bento, target: RayVersion) -> BentoDefaults {
    let empty = Node {
        span: 0..0,
        kind: spanned::NodeKind::Table(Default::default()),
    };
    mapping::map(&empty, bento, target, &mut Vec::new())
}

/// Method names Ray Serve calls on a deployment itself (Ray 2.60:
/// `ray/serve/_private/constants.py`, `replica.py`).
pub const RAY_DEPLOYMENT_METHODS: [&str; 8] = [
    "__call__",
    "__del__",
    "__init__",
    "__serve_build_asgi_app__",
    "check_health",
    "reconfigure",
    "record_replica_metadata",
    "record_routing_stats",
];

#[derive(Debug)]
pub struct CheckOutput {
    pub report: FileDiagnostics,
    /// Present only when the report has no errors.
    pub checked: Option<Checked>,
}

impl CheckOutput {
    /// For commands that build: reports the [`build_blockers`] and drops
    /// `checked` when there are any, so nothing is built.
    pub fn stop_if_unbuildable(&mut self) {
        let blockers = self
            .checked
            .as_ref()
            .map(build_blockers)
            .unwrap_or_default();
        if !blockers.is_empty() {
            self.report.diagnostics.extend(blockers);
            self.checked = None;
        }
    }
}

/// Checks a spec file. `display_name` is how the file is named in output.
pub fn check_file(path: &Path, display_name: &str) -> CheckOutput {
    let text = match crate::input::read_text(path, crate::input::SPEC_CAP) {
        Ok(text) => text,
        Err(e) => return unreadable(display_name, &e.to_string()),
    };
    // An empty parent (a bare file name) keeps relative paths in messages
    // free of a `./` prefix; joining onto it still resolves against the
    // working directory.
    let spec_dir = path.parent().unwrap_or(Path::new(""));
    check_source(SourceFile::new(display_name, text), spec_dir)
}

fn unreadable(name: &str, why: &str) -> CheckOutput {
    let diag = Diagnostic::new(&rules::UNREADABLE_SPEC, format!("cannot read spec: {why}"))
        .help("pass the path of a bentoray.toml (default: ./bentoray.toml)");
    CheckOutput {
        report: FileDiagnostics::new(SourceFile::new(name, ""), vec![diag]),
        checked: None,
    }
}

/// What the check stage asks of the bento stage: the spec's `bento` value,
/// where to look it up, and which custom runners' methods it needs. A
/// caller that keeps bentos between checks (the language server) keys its
/// cache on this.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BentoRequest {
    pub value: String,
    pub spec_dir: std::path::PathBuf,
    pub store: std::path::PathBuf,
    /// How the store was chosen, for messages.
    pub store_origin: &'static str,
    /// `entrypoint = "bentoml"`: every custom runner's methods matter.
    pub all_methods: bool,
    /// The runners with a `[batching.<runner>]` table, in spec order.
    pub batched: Vec<String>,
}

impl BentoRequest {
    /// Loads the bento from disk (what `check` does every run).
    pub fn load(&self) -> bento::Loaded {
        let store = bento::StoreRoot {
            path: self.store.clone(),
            origin: self.store_origin,
        };
        let wanted = |runner: &str| self.all_methods || self.batched.iter().any(|b| b == runner);
        bento::load_for(&self.value, &self.spec_dir, &store, &wanted)
    }
}

/// Checks spec text; relative paths in it resolve against `spec_dir`.
pub fn check_source(file: SourceFile, spec_dir: &Path) -> CheckOutput {
    check_source_with(file, spec_dir, &mut |request| request.load())
}

/// [`check_source`], getting the bento from `load_bento` (which may reuse
/// one loaded before for the same request).
pub fn check_source_with(
    file: SourceFile,
    spec_dir: &Path,
    load_bento: &mut dyn FnMut(&BentoRequest) -> bento::Loaded,
) -> CheckOutput {
    let mut diags = Vec::new();
    let root = match spanned::parse(&file.text) {
        Ok(root) => root,
        Err(syntax) => {
            return CheckOutput {
                report: FileDiagnostics::new(file, syntax),
                checked: None,
            };
        }
    };
    let instance = root.to_json(&mut diags);

    // The bento, when the spec names one.
    let bento = match root.get("bento").and_then(Node::as_str) {
        Some(value) => {
            let home = root.get("bentoml_home").and_then(Node::as_str);
            let store = bento::store_root(spec_dir, home);
            // A custom runner's methods (parsed from Python) matter where
            // its batching is configured, and to `bentoml.ray.deployment`'s
            // multi-method rule.
            let request = BentoRequest {
                value: value.to_string(),
                spec_dir: spec_dir.to_path_buf(),
                store: store.path,
                store_origin: store.origin,
                all_methods: root.get("entrypoint").and_then(Node::as_str) == Some("bentoml"),
                batched: root
                    .get("batching")
                    .map(|b| b.entries().iter().map(|e| e.key.clone()).collect())
                    .unwrap_or_default(),
            };
            let loaded = load_bento(&request);
            for problem in loaded.problems {
                if let Some(d) = place_bento_problem(problem, &root) {
                    diags.push(d);
                }
            }
            if let Some(b) = &loaded.bento
                && !bento::looks_like_path(value)
                && !value.ends_with(".bento")
                && let Some(d) = runtime_store_note(&root, b)
            {
                diags.push(d);
            }
            loaded.bento
        }
        None => None,
    };

    let mut schema = types::committed_schema();
    if root.get("kuberay").is_none() {
        types::without_kuberay(&mut schema);
    }
    // The target as written, for messages that depend on it; an invalid
    // `[ray] version` is reported by the semantic rules.
    let target_hint = root
        .get("ray")
        .and_then(|r| r.get("version"))
        .and_then(Node::as_str)
        .and_then(RayVersion::parse)
        .unwrap_or(NEWEST_RAY);
    diags.extend(schema::validate(
        &schema,
        &instance,
        &root,
        bento.as_ref(),
        target_hint,
    ));
    table_trap::explain(&root, &file.text, &schema, &mut diags);
    let ray_version = semantic::check(&root, bento.as_ref(), &mut diags);
    kuberay::check(&root, &mut diags);
    let bento_defaults = match (&bento, ray_version) {
        (Some(b), Some(target)) => {
            let defaults = mapping::map(&root, b, target, &mut diags);
            mapping::batch_capacity(&root, b, &defaults, target, &mut diags);
            defaults
        }
        _ => BentoDefaults::default(),
    };

    let has_errors = diags.iter().any(Diagnostic::is_error);
    let checked = match (has_errors, bento, ray_version) {
        (false, Some(bento), Some(ray_version)) => match typed_spec(&instance, &root) {
            Ok(spec) => Some(Checked {
                spec,
                bento,
                ray_version,
                bento_span: root.get("bento").map_or(0..0, |n| n.span.clone()),
                tree: root,
                bento_defaults,
            }),
            Err(d) => {
                diags.push(*d);
                None
            }
        },
        (false, _, _) => {
            // No error, yet nothing to build: a bug in bentoray, never a
            // silent success.
            diags.push(Diagnostic::new(
                &rules::UNREADABLE_SPEC,
                "internal error: the spec passed every check but could not be compiled; please report it",
            ));
            None
        }
        _ => None,
    };
    CheckOutput {
        report: FileDiagnostics::new(file, diags),
        checked,
    }
}

/// Deserializes the validated JSON into the typed spec. The schema accepts
/// numbers like `2.0` for integers (JSON Schema counts them as integers);
/// serde does not, and that is reported here at the exact value.
fn typed_spec(instance: &serde_json::Value, root: &Node) -> Result<Spec, Box<Diagnostic>> {
    serde_path_to_error::deserialize::<_, Spec>(instance).map_err(|err| {
        let path: Vec<Segment> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                _ => None,
            })
            .collect();
        let node = root.at_path(&path).unwrap_or(root);
        let schema = types::committed_schema();
        let expected = schema_at(&schema, &schema, &path)
            .map(|s| describe(&schema, s))
            .unwrap_or_else(|| "another value".into());
        Diagnostic::new(
            &rules::INVALID_TYPE,
            format!(
                "`{}` must be {expected}, found {}",
                spanned::dotted(&path),
                schema::describe_found(node)
            ),
        )
        .at(node.span.clone())
        .label("expected an integer")
        .help("write whole numbers without a decimal point (`2`, not `2.0`): Ray 2.55+ rejects floats for integer options")
        .into()
    })
}

/// `bentoml_home` only steers bentoray: the generated entrypoint loads the
/// tag from `BENTOML_HOME` where Ray runs it. Says so at `bentoml_home`,
/// unless the application's runtime_env sets `BENTOML_HOME` itself. bentoray
/// does not emit it: a path on this machine is rarely one on the nodes.
fn runtime_store_note(root: &Node, bento: &Bento) -> Option<Diagnostic> {
    let home = root.get("bentoml_home").filter(|n| n.as_str().is_some())?;
    let set_in_runtime_env = root
        .get("application")
        .and_then(|a| a.get("runtime_env"))
        .and_then(|e| e.get("env_vars"))
        .and_then(|v| v.get("BENTOML_HOME"))
        .is_some();
    if set_in_runtime_env {
        return None;
    }
    let local = root.get("bento_serialization").and_then(Node::as_str) == Some("LOCAL_BENTO");
    let who = if local {
        "every replica loads it from its node's store (`LOCAL_BENTO`)"
    } else {
        "the process that builds the application loads it (`serve run`'s workers, the controller's build task) and ships it to the replicas"
    };
    Some(
        Diagnostic::new(
            &rules::BENTOML_HOME_RUNTIME,
            format!(
                "`bentoml_home` is where bentoray reads `{}`; Ray loads it from `BENTOML_HOME` where it runs (default ~/bentoml)",
                bento.tag()
            ),
        )
        .at(home.span.clone())
        .label("read by bentoray only")
        .help(format!(
            "{who}: run Ray with `BENTOML_HOME` set to a store holding the bento (for a local `serve run`, the absolute path of this `bentoml_home`), or set `[application] runtime_env = {{ env_vars = {{ BENTOML_HOME = \"<store on the nodes>\" }} }}`"
        )),
    )
}

/// Places a bento problem in the spec: at the unit's table when the
/// problem is about a configured runner or service (at its method's batching
/// table when it is about one method), else at the `bento` value.
fn place_bento_problem(problem: BentoProblem, root: &Node) -> Option<Diagnostic> {
    let bento_span = root.get("bento").map(|n| n.span.clone()).unwrap_or(0..0);
    let unit_span = |section: &str, unit: &str| {
        root.get(section)
            .and_then(|t| t.entry(unit))
            .map(|e| e.key_span.clone())
    };
    let method_span = |unit: &str, method: &str| {
        root.get("batching")
            .and_then(|t| t.get(unit))
            .and_then(|t| t.entry(method))
            .map(|e| e.key_span.clone())
    };
    let span = match (&problem.unit, &problem.method, problem.rule.code) {
        // Unknown methods only matter where batching is configured.
        (Some(u), Some(m), _) => method_span(u, m)?,
        (Some(u), None, code) if code == rules::METHODS_UNKNOWN.code => unit_span("batching", u)?,
        (Some(u), None, _) => unit_span("batching", u)
            .or_else(|| unit_span("runners", u))
            .or_else(|| unit_span("services", u))
            .unwrap_or(bento_span),
        (None, _, _) => bento_span,
    };
    let label = if problem.method.is_some() {
        "not known to be batchable"
    } else if problem.rule.code == rules::METHODS_UNKNOWN.code {
        "its methods are unknown"
    } else if problem.rule.code == rules::PYTHON_SOURCE.code {
        "sources partly unreadable"
    } else if problem.rule.code == rules::MODEL_NOT_FOUND.code {
        "model not found"
    } else if problem.rule.code == rules::BENTO_ARCHIVE.code {
        "an export archive"
    } else if problem.rule.code == rules::BENTO_DIRECTORY.code {
        "a directory, loaded by tag at run time"
    } else {
        "this bento"
    };
    let mut d = Diagnostic::new(problem.rule, problem.message)
        .at(span)
        .label(label);
    if let Some(help) = problem.help {
        d = d.help(help);
    }
    if let (Some(value), Some(node)) = (problem.replacement, root.get("bento")) {
        d = d.suggest_edits(
            format!("replace with `{value}`"),
            vec![crate::diagnostic::Edit {
                span: node.span.clone(),
                replacement: crate::spec::toml_string(&value),
            }],
        );
    }
    Some(d)
}
