//! Stage 2: the bento. Resolves the spec's `bento` value (a tag in a BentoML
//! store, or a bento directory) and learns its runners and each runner's
//! methods from `bento.yaml` and the models' `model.yaml` signatures.
//!
//! Invariant: this stage knows nothing about spans; it reports problems as
//! [`BentoProblem`]s that the check stage places in the spec.

pub mod archive;
pub mod python;
mod services;
pub mod settings;
pub mod tag;
mod yaml_depth;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diagnostic::{Rule, rules};
use crate::input::{self, METADATA_CAP};
pub use tag::Tag;

/// A loaded bento: its deployment units and what each can be called with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Bento {
    /// Bento name from `bento.yaml`.
    pub name: String,
    /// Exact version that was loaded (tags are pinned to it).
    pub version: String,
    /// `service:svc` import string.
    pub service: String,
    /// Legacy: the Service's own name (`bentoml.Service("<name>")`), which
    /// names the API server deployment `bento-svc-<name>`, usually the bento
    /// name. New-style: the entry service (`entry_service`).
    pub service_name: String,
    /// Where `service_name` came from, for the plan and for readers.
    pub service_name_source: &'static str,
    pub bentoml_version: String,
    pub kind: BentoKind,
    /// Directory the bento was read from.
    #[serde(skip)]
    pub path: PathBuf,
    /// Every deployment unit: legacy bentos have the API server then the
    /// runners in bento order; new-style bentos their services in
    /// `bento.yaml` order.
    pub units: Vec<Unit>,
    /// API names, for reference.
    pub apis: Vec<String>,
    /// Position in `units` of each unit a spec table can name (runners, or
    /// services) by name: specs may configure every unit.
    #[serde(skip)]
    keyed: HashMap<String, usize>,
}

/// Which BentoML API built the bento.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BentoKind {
    /// A runner-based `bentoml.Service` (BentoML 1.0/1.1, `bentoml.legacy`).
    Runners,
    /// `@bentoml.service` classes (BentoML 1.2+).
    Services,
}

impl BentoKind {
    /// The spec table of per-unit deployment options.
    pub fn section(self) -> &'static str {
        match self {
            BentoKind::Runners => "runners",
            BentoKind::Services => "services",
        }
    }

    /// What a unit named in that table is called in messages.
    pub fn unit_noun(self) -> &'static str {
        match self {
            BentoKind::Runners => "runner",
            BentoKind::Services => "service",
        }
    }

    /// What a unit's callables are called in messages.
    pub fn method_noun(self) -> &'static str {
        match self {
            BentoKind::Runners => "method",
            BentoKind::Services => "API",
        }
    }
}

impl Bento {
    fn new(mut bento: Bento) -> Bento {
        let kind = bento.kind;
        let mut keyed = HashMap::with_capacity(bento.units.len());
        for (i, u) in bento.units.iter().enumerate() {
            if u.is_keyed(kind) {
                // The first of two same-named units wins, as a scan would.
                keyed.entry(u.name.clone()).or_insert(i);
            }
        }
        bento.keyed = keyed;
        bento
    }

    /// `name:version`, the tag that pins exactly this bento.
    pub fn tag(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    /// The unit a `[runners.<name>]` / `[services.<name>]` or
    /// `[batching.<name>]` table names.
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.keyed.get(name).and_then(|&i| self.units.get(i))
    }

    /// The units spec tables can name, in bento order.
    pub fn keyed_units(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.is_keyed(self.kind))
    }

    /// The runners of a legacy bento, in bento order.
    pub fn runners(&self) -> impl Iterator<Item = &Unit> {
        self.units
            .iter()
            .filter(|u| matches!(u.kind, UnitKind::Runner { .. }))
    }
}

/// A deployment unit: a legacy runner, the legacy API server, or a
/// new-style service. Each becomes one Ray Serve deployment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unit {
    pub name: String,
    pub kind: UnitKind,
    /// Its methods (runners) or APIs (services, the API server); `None`
    /// when they cannot be known.
    /// Shared by the runners of one model: a bento may have very many.
    pub methods: Option<Arc<[Method]>>,
    /// Where `methods` came from, or why they are unknown.
    pub methods_from: Cow<'static, str>,
    /// Tags of the models it uses, from `bento.yaml`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The bento's own deployment settings of a service (`resources`,
    /// `traffic`, `workers`, ...), each with where it came from.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, Sourced<serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UnitKind {
    /// The legacy Service's API server (`[service]`).
    ApiServer,
    Runner {
        runnable_type: String,
        /// The methods come from the model's signatures, which the native
        /// entrypoint may rely on; a custom runnable's methods are read from
        /// its source for checking only (the entrypoint takes them from the
        /// loaded runner).
        from_metadata: bool,
    },
    Service {
        /// The entry service (`entry_service`), the HTTP ingress.
        entry: bool,
    },
}

impl Unit {
    fn is_keyed(&self, kind: BentoKind) -> bool {
        match self.kind {
            UnitKind::ApiServer => false,
            UnitKind::Runner { .. } => kind == BentoKind::Runners,
            UnitKind::Service { .. } => kind == BentoKind::Services,
        }
    }

    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.as_deref()?.iter().find(|m| m.name == name)
    }

    /// The methods the native entrypoint may take as given (model
    /// signatures); `None` means it reads them from the loaded runner.
    pub fn metadata_methods(&self) -> Option<&[Method]> {
        match self.kind {
            UnitKind::Runner {
                from_metadata: true,
                ..
            } => self.methods.as_deref(),
            _ => None,
        }
    }
}

/// A callable of a unit: a runner method or a service API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Method {
    pub name: String,
    /// `None`: not a literal in the source (see `unknown`).
    pub batchable: Option<bool>,
    /// `(input, output)` batch dimensions; `None`: not a literal.
    pub batch_dim: Option<(i64, i64)>,
    /// A service API's batching defaults (`max_batch_size`,
    /// `max_latency_ms`), from its decorator or BentoML's defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch_size: Option<Sourced<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<Sourced<f64>>,
    /// HTTP route of a service API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// A generator: streams its results.
    pub streaming: bool,
    /// `@bentoml.task`.
    pub task: bool,
    /// `async def`; `None` when not read from source.
    pub is_async: Option<bool>,
    /// Where it is declared: `src/service.py:5`, a model signature, ...
    pub origin: Cow<'static, str>,
    /// Arguments that are not literals: `(argument, expression)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<(String, String)>,
}

/// A setting from the bento with where it came from; `value` is `None` when
/// it is not a literal in the source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sourced<T> {
    pub value: Option<T>,
    pub from: Cow<'static, str>,
}

/// A `bentoml.depends(...)` of a service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dependency {
    /// The class attribute that holds it (from the source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// An in-bento service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// Something wrong with the bento or its metadata.
#[derive(Debug, Clone)]
pub struct BentoProblem {
    pub rule: &'static Rule,
    pub message: String,
    pub help: Option<String>,
    /// The unit (runner or service) the problem is about, if any. (Boxed
    /// strings keep the problem small: it is returned in `Result`s.)
    pub unit: Option<Box<str>>,
    /// The method or API the problem is about, if any: the problem only
    /// matters where that method's batching table is.
    pub method: Option<Box<str>>,
    /// A `bento` value that fixes it (the did-you-mean tag), if any.
    pub replacement: Option<Box<str>>,
}

impl BentoProblem {
    fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        BentoProblem {
            rule,
            message: message.into(),
            help: None,
            unit: None,
            method: None,
            replacement: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Result of loading: the bento (when it could be read) and problems found.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bento: Option<Bento>,
    pub problems: Vec<BentoProblem>,
}

/// Where to find bentos named by tag.
#[derive(Debug, Clone)]
pub struct StoreRoot {
    pub path: PathBuf,
    /// How the root was chosen, for messages.
    pub origin: &'static str,
}

/// Picks the store root: the spec's `bentoml_home` (relative to the spec's
/// directory), else `$BENTOML_HOME`, else `~/bentoml` (BentoML's rule).
pub fn store_root(spec_dir: &Path, bentoml_home: Option<&str>) -> StoreRoot {
    if let Some(home) = bentoml_home {
        return StoreRoot {
            path: spec_dir.join(home),
            origin: "`bentoml_home` in the spec",
        };
    }
    if let Some(env) = std::env::var_os("BENTOML_HOME").filter(|v| !v.is_empty()) {
        return StoreRoot {
            path: PathBuf::from(env),
            origin: "$BENTOML_HOME",
        };
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    StoreRoot {
        path: home.join("bentoml"),
        origin: "the default ~/bentoml",
    }
}

/// Whether the `bento` value is a path rather than a tag. Tags cannot
/// contain `/`, so anything with a path separator (or `.`/`..`) is a path.
pub fn looks_like_path(value: &str) -> bool {
    value.contains('/') || value.contains('\\') || value == "." || value == ".."
}

/// Loads the bento named by the spec's `bento` value.
pub fn load(value: &str, spec_dir: &Path, store: &StoreRoot) -> Loaded {
    load_for(value, spec_dir, store, &|_| true)
}

/// Which custom runners' methods the caller needs (by runner name): they
/// are read from the Python sources, which are parsed only when some are
/// needed. A framework runner's methods (from model.yaml) and a new-style
/// bento's services are always read.
pub type WantsMethods<'a> = &'a dyn Fn(&str) -> bool;

/// [`load`], reading custom runnables only for the runners `wanted` names.
pub fn load_for(value: &str, spec_dir: &Path, store: &StoreRoot, wanted: WantsMethods) -> Loaded {
    let mut problems = Vec::new();
    let dir = if looks_like_path(value) || value.ends_with(".bento") {
        let dir = spec_dir.join(value);
        if let Some(problem) = latest_pointer(&dir, value) {
            problems.push(problem);
            return Loaded {
                bento: None,
                problems,
            };
        }
        let meta = fs::metadata(&dir);
        if meta.as_ref().is_ok_and(|m| !m.is_dir()) {
            // A file (or a FIFO, a device…): the archive reader says which.
            return load_archive(&dir, store, wanted);
        }
        // `exists`, not `is_file`: a bento.yaml that is not a regular file
        // is reported as such when it is read.
        if !dir.join("bento.yaml").exists() {
            let what = if meta.is_ok() {
                "has no bento.yaml"
            } else {
                "does not exist"
            };
            problems.push(
                BentoProblem::new(
                    &rules::BENTO_NOT_FOUND,
                    format!("bento directory `{}` {what}", dir.display()),
                )
                .help("point `bento` at a built bento directory (the one holding bento.yaml), or use a tag"),
            );
            return Loaded {
                bento: None,
                problems,
            };
        }
        dir
    } else {
        let tag = match Tag::parse(value) {
            Ok(tag) => tag,
            Err(why) => {
                problems.push(
                    BentoProblem::new(&rules::INVALID_TAG, format!("invalid bento tag: {why}"))
                        .help("a tag is `name` or `name:version`, e.g. `iris_classifier:latest`; a path must contain `/`, e.g. `./my_bento`"),
                );
                return Loaded {
                    bento: None,
                    problems,
                };
            }
        };
        match resolve_tag(&tag, store) {
            Ok(dir) => dir,
            Err(problem) => {
                problems.push(problem);
                return Loaded {
                    bento: None,
                    problems,
                };
            }
        }
    };
    let from_directory = looks_like_path(value) || value.ends_with(".bento");
    let bento = read_bento(&dir, &store.path, wanted, &mut problems);
    if from_directory && let Some(b) = &bento {
        problems.push(directory_note(b, &dir));
    }
    Loaded { bento, problems }
}

/// The entrypoint loads the bento by tag from a store, never from the
/// directory bentoray read.
fn directory_note(bento: &Bento, dir: &Path) -> BentoProblem {
    // `<store>/bentos/<name>/<version>`: that store can serve it as is.
    let store = Some(dir.to_path_buf())
        .filter(|d| d.file_name().is_some_and(|v| *v == *bento.version.as_str()))
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .filter(|d| d.file_name().is_some_and(|n| *n == *bento.name.as_str()))
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .filter(|d| d.file_name().is_some_and(|b| b == "bentos"))
        .and_then(|d| d.parent().map(Path::to_path_buf));
    let help = match store {
        Some(store) => format!(
            "it is in the store {}: set `BENTOML_HOME` to that store where Ray runs, or import the bento into the store Ray uses",
            store.display()
        ),
        None => format!(
            "put it into the store Ray uses, as `$BENTOML_HOME/bentos/{}/{}` (or `bentoml import` an export of it there)",
            bento.name, bento.version
        ),
    };
    BentoProblem::new(
        &rules::BENTO_DIRECTORY,
        format!(
            "bento `{}` is read from a directory; Ray loads bentos by tag from the BentoML store where it runs",
            bento.tag()
        ),
    )
    .help(help)
}

/// `bento` naming a store's `bentos/<name>/latest` file: a pointer holding
/// the newest version's name, not a bento or an archive.
fn latest_pointer(path: &Path, value: &str) -> Option<BentoProblem> {
    if !path.is_file() || path.file_name()? != "latest" {
        return None;
    }
    let name_dir = path.parent()?;
    let version = input::read_text(path, METADATA_CAP)
        .ok()?
        .trim()
        .to_string();
    let name = name_dir.file_name()?.to_str()?;
    let version_dir = Path::new(value)
        .parent()
        .unwrap_or(Path::new(""))
        .join(&version);
    let store = name_dir.parent().and_then(Path::parent);
    let shown_store = Path::new(value)
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let in_store = store.is_some_and(|s| s.join("bentos").join(name).is_dir());
    Some(
        BentoProblem::new(
            &rules::BENTO_NOT_FOUND,
            format!(
                "`{value}` is the `latest` pointer of bento `{name}` in a BentoML store (it names version `{version}`), not a bento"
            ),
        )
        .help(if in_store && !version.is_empty() {
            format!(
                "use the tag with that store: `bento = \"{name}:latest\"` and `bentoml_home = \"{}\"`, or the version's directory: `bento = \"{}\"`",
                shown_store.display(),
                version_dir.display()
            )
        } else {
            format!("use the tag `{name}:latest` with `bentoml_home` set to the store")
        }),
    )
}

/// Loads a `.bento` export: its metadata is extracted into a temporary
/// directory and read like a bento directory.
fn load_archive(archive: &Path, store: &StoreRoot, wanted: WantsMethods) -> Loaded {
    let mut problems = Vec::new();
    let broken = |why: String| {
        BentoProblem::new(
            &rules::BROKEN_BENTO,
            format!("cannot read bento archive {}: {why}", archive.display()),
        )
        .help("re-export the bento with `bentoml export <tag> <file>.bento`")
    };
    let tmp = match tempfile::Builder::new()
        .prefix("bentoray-archive-")
        .tempdir()
    {
        Ok(tmp) => tmp,
        Err(e) => {
            problems.push(broken(format!("no temporary directory: {e}")));
            return Loaded {
                bento: None,
                problems,
            };
        }
    };
    if let Err(why) = archive::extract_metadata(archive, tmp.path()) {
        problems.push(broken(why));
        return Loaded {
            bento: None,
            problems,
        };
    }
    let mut bento = read_bento(tmp.path(), &store.path, wanted, &mut problems);
    if let Some(b) = bento.as_mut() {
        b.path = archive.to_path_buf();
        problems.push(
            BentoProblem::new(
                &rules::BENTO_ARCHIVE,
                format!(
                    "bento `{}` comes from an export archive; Ray loads bentos by tag from each node's store",
                    b.tag()
                ),
            )
            .help(format!(
                "run `bentoml import {}` where the application is deployed (every node, or the image) before `serve deploy`",
                archive.display()
            )),
        );
    }
    Loaded { bento, problems }
}

/// Finds `bentos/<name>/<version>` in the store.
fn resolve_tag(tag: &Tag, store: &StoreRoot) -> Result<PathBuf, BentoProblem> {
    let bentos = store.path.join("bentos");
    let searched = format!("{} (from {})", bentos.display(), store.origin);
    let name_dir = bentos.join(&tag.name);
    if !store.path.is_dir() {
        return Err(BentoProblem::new(
            &rules::BENTO_NOT_FOUND,
            format!(
                "bento `{}` cannot be looked up: the store {} (from {}) does not exist",
                tag.name,
                store.path.display(),
                store.origin
            ),
        )
        .help(match store.origin {
            o if o.starts_with("`bentoml_home`") => "`bentoml_home` is relative to the spec's directory: point it at a BentoML store (the directory holding `bentos/`)",
            o if o.starts_with('$') => "point $BENTOML_HOME at a BentoML store (the directory holding `bentos/`), or set `bentoml_home` in the spec",
            _ => "build or import the bento (`bentoml build`, `bentoml import`), or set `bentoml_home` to the store that holds it",
        }));
    }
    if !name_dir.is_dir() {
        let names = list_dirs(&bentos);
        let mut problem = BentoProblem::new(
            &rules::BENTO_NOT_FOUND,
            format!("bento `{}` not found in store {searched}", tag.name),
        );
        problem = match (names.is_empty(), closest(&tag.name, &names)) {
            (true, _) => problem.help(
                "the store has no bentos; run `bentoml build`, import a .bento with `bentoml import`, or set `bentoml_home`",
            ),
            (false, Some(best)) => {
                let mut fixed = problem.help(format!(
                    "did you mean `{best}`? bentos in the store: {}",
                    names.join(", ")
                ));
                fixed.replacement = Some(
                    match &tag.version {
                        Some(version) => format!("{best}:{version}"),
                        None => best.to_string(),
                    }
                    .into(),
                );
                fixed
            }
            (false, None) => problem.help(format!("bentos in the store: {}", names.join(", "))),
        };
        return Err(problem);
    }
    let versions = list_dirs(&name_dir);
    if tag.wants_latest() {
        let latest = read_optional(&name_dir.join("latest"))?
            .map(|s| s.trim().to_string())
            .filter(|v| name_dir.join(v).is_dir());
        // BentoML rebuilds a missing or stale `latest` from the newest
        // creation_time; do the same.
        let chosen = latest.or_else(|| newest_by_creation_time(&name_dir, &versions));
        return match chosen {
            Some(v) => Ok(name_dir.join(v)),
            None => Err(BentoProblem::new(
                &rules::BENTO_NOT_FOUND,
                format!("bento `{}` has no versions in store {searched}", tag.name),
            )
            .help("rebuild the bento with `bentoml build`")),
        };
    }
    let wanted = tag.version.as_deref().unwrap_or_default();
    if versions.iter().any(|v| v == wanted) {
        return Ok(name_dir.join(wanted));
    }
    let matches: Vec<&String> = versions.iter().filter(|v| v.starts_with(wanted)).collect();
    match matches.as_slice() {
        [one] => Ok(name_dir.join(one)),
        [] => Err(BentoProblem::new(
            &rules::BENTO_NOT_FOUND,
            format!(
                "no version of `{}` matches `{wanted}` in store {searched}",
                tag.name
            ),
        )
        .help(if versions.is_empty() {
            "the bento has no versions; rebuild it with `bentoml build`".to_string()
        } else {
            format!("versions in the store: {}", versions.join(", "))
        })),
        many => Err(BentoProblem::new(
            &rules::AMBIGUOUS_VERSION,
            format!(
                "version prefix `{wanted}` matches {} versions of `{}` in store {searched}",
                many.len(),
                tag.name
            ),
        )
        .help(format!(
            "write more of the version; candidates: {}",
            many.iter()
                .map(|v| format!("{}:{v}", tag.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn list_dirs(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    out.sort();
    out
}

fn newest_by_creation_time(name_dir: &Path, versions: &[String]) -> Option<String> {
    versions
        .iter()
        .filter_map(|v| {
            let text = input::read_text(&name_dir.join(v).join("bento.yaml"), METADATA_CAP).ok()?;
            let info: BentoYaml = parse_bento_yaml(&text).ok()?;
            Some((info.creation_time.unwrap_or_default(), v.clone()))
        })
        .max()
        .map(|(_, v)| v)
}

/// The closest name within a small edit distance, if any.
pub fn closest<'a>(wanted: &str, candidates: &'a [String]) -> Option<&'a str> {
    let wanted_chars = CharCounts::of(wanted);
    candidates
        .iter()
        .filter_map(|c| {
            let limit = (c.len().max(wanted.len()) / 3).max(1);
            // Cheap lower bounds first: most candidates are far off, and the
            // full distance costs far more than these.
            if wanted_chars.lower_bound(&CharCounts::of(c)) > limit {
                return None;
            }
            let d = strsim::damerau_levenshtein(wanted, c);
            (d <= limit).then_some((d, c))
        })
        .min()
        .map(|(_, c)| c.as_str())
}

/// Character counts of an ASCII name, for a lower bound on the
/// Damerau-Levenshtein distance between two names.
struct CharCounts {
    len: usize,
    /// `None` for names with non-ASCII characters (no bound then).
    counts: Option<[u16; 128]>,
}

impl CharCounts {
    fn of(name: &str) -> Self {
        let counts = name.is_ascii().then(|| {
            let mut counts = [0u16; 128];
            for b in name.bytes() {
                counts[usize::from(b)] = counts[usize::from(b)].saturating_add(1);
            }
            counts
        });
        CharCounts {
            len: name.chars().count(),
            counts,
        }
    }

    /// No edit sequence is shorter than the length difference, and each
    /// edit (insert, delete, substitute, transpose) changes the character
    /// counts by at most 2 in total.
    fn lower_bound(&self, other: &CharCounts) -> usize {
        let by_len = self.len.abs_diff(other.len);
        match (&self.counts, &other.counts) {
            (Some(a), Some(b)) => {
                let diff: usize = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| usize::from(x.abs_diff(*y)))
                    .sum();
                by_len.max(diff.div_ceil(2))
            }
            _ => by_len,
        }
    }
}

// ------------------------------------------------------------ bento.yaml

#[derive(Debug, Deserialize)]
struct BentoYaml {
    #[serde(default)]
    service: String,
    name: String,
    version: String,
    #[serde(default)]
    bentoml_version: String,
    #[serde(default)]
    creation_time: Option<String>,
    #[serde(default)]
    runners: Vec<RunnerYaml>,
    #[serde(default)]
    apis: Vec<ApiYaml>,
    /// Present (and non-empty) for new-style `@bentoml.service` bentos.
    #[serde(default)]
    services: Vec<services::ServiceYaml>,
    /// The entry service's schema (new-style), with its routes.
    #[serde(default)]
    schema: Option<services::SchemaYaml>,
    /// BentoML 1.2+ writes the Service name here, also for legacy services.
    #[serde(default)]
    entry_service: Option<String>,
    #[serde(default)]
    spec: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RunnerYaml {
    name: String,
    #[serde(default)]
    runnable_type: String,
    #[serde(default)]
    models: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ApiYaml {
    name: String,
}

#[derive(Debug, Deserialize)]
struct ModelYaml {
    #[serde(default)]
    module: String,
    #[serde(default)]
    signatures: BTreeMap<String, SignatureYaml>,
}

#[derive(Debug, Deserialize)]
struct SignatureYaml {
    #[serde(default)]
    batchable: bool,
    #[serde(default)]
    batch_dim: Option<BatchDimYaml>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BatchDimYaml {
    Same(i64),
    Pair(i64, i64),
}

/// Runnable classes whose methods are the model's signatures (one method
/// per signature key), by `runnable_type` as BentoML writes it. The PyTorch
/// family's runnable is a dynamically created class named `NewClass`.
const SIGNATURE_RUNNABLES: &[&str] = &[
    "CatBoostRunnable",
    "Detectron2Runnable",
    "DiffusersRunnable",
    "EasyOCRRunnable",
    "FastAIRunnable",
    "FlaxRunnable",
    "KerasRunnable",
    "LightGBMRunnable",
    "MLflowPyfuncRunnable",
    "NewClass",
    "ONNXRunnable",
    "PicklableRunnable",
    "SklearnRunnable",
    "TensorflowRunnable",
    "TransformersRunnable",
    "XGBoostRunnable",
];

/// Why a YAML file that BentoML should have written cannot be used: the
/// rule (broken, or nested too deep) and the reason.
type YamlError = (&'static Rule, String);

/// Parses YAML that BentoML wrote, after a linear check of its nesting.
fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    if let Some(line) = yaml_depth::too_deep_at(text) {
        return Err((
            &rules::BENTO_YAML_TOO_DEEP,
            format!(
                "flow collections nested deeper than {} levels at line {line}",
                yaml_depth::MAX_YAML_FLOW_DEPTH
            ),
        ));
    }
    serde_norway::from_str(text).map_err(|e| {
        let why = e.to_string();
        // serde_norway's own limit on block nesting (128 levels).
        let rule = if why.contains("recursion limit exceeded") {
            &rules::BENTO_YAML_TOO_DEEP
        } else {
            &rules::BROKEN_BENTO
        };
        (rule, why)
    })
}

/// Above this size a bento.yaml's `runners` list is read in chunks: the YAML
/// reader holds every event of a document at once (about 100 bytes each),
/// which for 200,000 runners is 200 MB.
const CHUNKED_BENTO_YAML: usize = 1024 * 1024;
const RUNNERS_PER_CHUNK: usize = 4096;

fn parse_bento_yaml(text: &str) -> Result<BentoYaml, YamlError> {
    if text.len() > CHUNKED_BENTO_YAML
        && let Some(info) = parse_runners_in_chunks(text)
    {
        return Ok(info);
    }
    parse_yaml(text)
}

/// Reads a bento.yaml laid out as BentoML writes it (a block-style top-level
/// `runners:` whose items start with `- ` at column 0) with each chunk of
/// runner items as a document of its own. `None` for any other layout, or
/// when anything fails to parse: the caller then parses the whole document,
/// which also gives the exact error.
fn parse_runners_in_chunks(text: &str) -> Option<BentoYaml> {
    // Anchors, aliases and tags could reach across chunks.
    if text.contains(['&', '*', '!']) || yaml_depth::too_deep_at(text).is_some() {
        return None;
    }
    let key = if text.starts_with("runners:\n") {
        0
    } else {
        text.find("\nrunners:\n")? + 1
    };
    let items = key + "runners:\n".len();
    let mut item_starts = Vec::new();
    let mut end = text.len();
    let mut pos = items;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = &text[pos..line_end];
        if line.starts_with("- ") || line.trim_end() == "-" {
            item_starts.push(pos);
        } else if !(line.starts_with(' ') || line.starts_with('#') || line.trim().is_empty()) {
            end = pos;
            break;
        }
        pos = line_end;
    }
    if item_starts.first() != Some(&items) {
        return None;
    }
    let rest = format!("{}runners: []\n{}", &text[..key], &text[end..]);
    let mut info: BentoYaml = serde_norway::from_str(&rest).ok()?;
    if !info.runners.is_empty() {
        return None;
    }
    for chunk in item_starts.chunks(RUNNERS_PER_CHUNK) {
        let from = chunk[0];
        let to = item_starts
            .get(item_starts.partition_point(|&s| s <= chunk[chunk.len() - 1]))
            .copied()
            .unwrap_or(end);
        let runners: Vec<RunnerYaml> = serde_norway::from_str(&text[from..to]).ok()?;
        info.runners.extend(runners);
    }
    Some(info)
}

/// Reads and parses a YAML file that BentoML wrote.
fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let text =
        input::read_text(path, METADATA_CAP).map_err(|e| (&rules::BROKEN_BENTO, e.to_string()))?;
    parse_yaml(&text)
}

/// A metadata file that may be missing (`None`); any other failure (not a
/// regular file, too large, not UTF-8) is a broken bento.
fn read_optional(path: &Path) -> Result<Option<String>, BentoProblem> {
    match input::read_text(path, METADATA_CAP) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(broken_bento(format!("cannot read {}: {e}", path.display()))),
    }
}

/// A `bento.yaml` that BentoML could not have written.
fn broken_bento(message: String) -> BentoProblem {
    unreadable_yaml(&rules::BROKEN_BENTO, message)
}

fn unreadable_yaml(rule: &'static Rule, message: String) -> BentoProblem {
    BentoProblem::new(rule, message).help("rebuild the bento with `bentoml build`")
}

fn read_bento(
    dir: &Path,
    store: &Path,
    wanted: WantsMethods,
    problems: &mut Vec<BentoProblem>,
) -> Option<Bento> {
    let yaml_path = dir.join("bento.yaml");
    let text = input::read_text(&yaml_path, METADATA_CAP)
        .map_err(|e| (&rules::BROKEN_BENTO, e.to_string()));
    let info: BentoYaml = match text.and_then(|t| parse_bento_yaml(&t)) {
        Ok(info) => info,
        Err((rule, why)) => {
            problems.push(unreadable_yaml(
                rule,
                format!("cannot read {}: {why}", yaml_path.display()),
            ));
            return None;
        }
    };
    let kind = bento_kind(&info);
    // BentoML validates runner names like tags; a bento.yaml that breaks the
    // rule was not written by BentoML, and its names must not reach the
    // generated files.
    for r in &info.runners {
        if let Err(why) = tag::validate_part("runner name", &r.name) {
            problems.push(
                BentoProblem::new(
                    &rules::BROKEN_BENTO,
                    format!(
                        "{} lists an invalid runner name: {why}",
                        yaml_path.display()
                    ),
                )
                .help("rebuild the bento with `bentoml build`"),
            );
            return None;
        }
    }
    if let Err(why) =
        tag::validate_part("name", &info.name).and(tag::validate_part("version", &info.version))
    {
        problems.push(broken_bento(format!(
            "{} has an invalid bento tag: {why}",
            yaml_path.display()
        )));
        return None;
    }
    let entry_module = info.service.split(':').next().unwrap_or_default();
    // The Python sources are read (each file parsed once) only when
    // something must be learnt from them: services, custom runnables.
    let custom_wanted = info
        .runners
        .iter()
        .any(|r| !SIGNATURE_RUNNABLES.contains(&r.runnable_type.as_str()) && wanted(&r.name));
    let mut sources = (bento_kind(&info) == BentoKind::Services || custom_wanted).then(|| {
        let runnables: Vec<&str> = info
            .runners
            .iter()
            .filter(|r| !SIGNATURE_RUNNABLES.contains(&r.runnable_type.as_str()) && wanted(&r.name))
            .map(|r| r.runnable_type.as_str())
            .collect();
        let sources = python::Sources::read(dir, entry_module, &runnables);
        if let Some(p) = services::unreadable_sources(&sources) {
            problems.push(p);
        }
        sources
    });
    let (units, service_name, service_name_source) = match (kind, &sources) {
        (BentoKind::Services, Some(sources)) => {
            let entry = services::entry_service(&info.entry_service, &info.services, &yaml_path);
            let entry = match entry {
                Ok(entry) => entry,
                Err(problem) => {
                    problems.push(problem);
                    return None;
                }
            };
            let routes = info.schema.as_ref().map(|s| s.routes.as_slice());
            let units = services::units(&info.services, &entry, routes, sources, problems);
            (units, entry, "entry_service in bento.yaml")
        }
        _ => {
            let (service_name, service_name_source) = match service_name(&info, dir) {
                Ok(found) => found,
                Err(problem) => {
                    problems.push(problem);
                    return None;
                }
            };
            let mut units = vec![Unit {
                name: service_name.clone(),
                kind: UnitKind::ApiServer,
                methods: Some(
                    info.apis
                        .iter()
                        .map(|a| services::plain_method(&a.name, "apis in bento.yaml"))
                        .collect(),
                ),
                methods_from: "apis in bento.yaml".into(),
                models: Vec::new(),
                config: IndexMap::new(),
                dependencies: Vec::new(),
            }];
            // Runners often share a model: each model.yaml is read once.
            let mut models = HashMap::new();
            for r in &info.runners {
                let sources = sources.as_mut().filter(|_| wanted(&r.name));
                units.push(runner_unit(r, dir, store, sources, &mut models, problems));
            }
            (units, service_name, service_name_source)
        }
    };
    Some(Bento::new(Bento {
        service_name,
        service_name_source,
        name: info.name,
        version: info.version,
        service: info.service,
        bentoml_version: info.bentoml_version,
        kind,
        path: dir.to_path_buf(),
        units,
        apis: info.apis.into_iter().map(|a| a.name).collect(),
        keyed: HashMap::new(),
    }))
}

fn runner_unit(
    runner: &RunnerYaml,
    bento_dir: &Path,
    store: &Path,
    sources: Option<&mut python::Sources>,
    models: &mut HashMap<String, ModelLookup>,
    problems: &mut Vec<BentoProblem>,
) -> Unit {
    let framework = SIGNATURE_RUNNABLES.contains(&runner.runnable_type.as_str());
    let (methods, methods_from): (_, Cow<'static, str>) = match (framework, sources) {
        (false, Some(sources)) => {
            let (methods, from) = services::runnable_methods(runner, sources, problems);
            (methods.map(Arc::from), from.into())
        }
        // Nothing asked for this custom runner's methods: not read.
        (false, None) => (None, "not read (no spec table needs them)".into()),
        _ => (
            signature_methods(runner, bento_dir, store, models, problems),
            "the model's signatures (model.yaml)".into(),
        ),
    };
    Unit {
        name: runner.name.clone(),
        kind: UnitKind::Runner {
            runnable_type: runner.runnable_type.clone(),
            from_metadata: framework,
        },
        methods,
        methods_from,
        models: runner.models.clone(),
        config: IndexMap::new(),
        dependencies: Vec::new(),
    }
}

/// What a model tag led to: its model.yaml's signatures and module, or why not.
#[derive(Clone)]
enum ModelLookup {
    Found {
        methods: Arc<[Method]>,
        module: String,
    },
    NotFound,
    /// A `latest` pointer that cannot be read.
    Unreadable(BentoProblem),
    Broken {
        path: PathBuf,
        rule: &'static Rule,
        why: String,
    },
}

/// Finds and reads the model.yaml of `model_tag`.
fn lookup_model(model_tag: &str, bento_dir: &Path, store: &Path) -> ModelLookup {
    let (model_name, model_version) = model_tag.split_once(':').unwrap_or((model_tag, "latest"));
    // A bento's own models/ (exports, old bentos) wins over the store, as in BentoML.
    let roots = [bento_dir.join("models"), store.join("models")];
    let mut found = None;
    for root in &roots {
        let name_dir = root.join(model_name);
        let version = if model_version == "latest" {
            match read_optional(&name_dir.join("latest")) {
                Ok(Some(text)) => text.trim().to_string(),
                Ok(None) => continue,
                Err(problem) => return ModelLookup::Unreadable(problem),
            }
        } else {
            model_version.to_string()
        };
        let path = name_dir.join(version).join("model.yaml");
        if path.exists() {
            found = Some(path);
            break;
        }
    }
    let Some(path) = found else {
        return ModelLookup::NotFound;
    };
    match read_yaml::<ModelYaml>(&path) {
        Ok(model) => ModelLookup::Found {
            methods: model
                .signatures
                .into_iter()
                .map(|(name, sig)| Method {
                    batchable: Some(sig.batchable),
                    batch_dim: Some(match sig.batch_dim {
                        Some(BatchDimYaml::Same(d)) => (d, d),
                        Some(BatchDimYaml::Pair(i, o)) => (i, o),
                        None => (0, 0),
                    }),
                    // Not formatted per method: a bento may have very many.
                    ..services::plain_method(&name, "a signature in the model's model.yaml")
                })
                .collect(),
            module: model.module,
        },
        Err((rule, why)) => ModelLookup::Broken { path, rule, why },
    }
}

/// A framework runner's methods: its model's signatures.
fn signature_methods(
    runner: &RunnerYaml,
    bento_dir: &Path,
    store: &Path,
    models: &mut HashMap<String, ModelLookup>,
    problems: &mut Vec<BentoProblem>,
) -> Option<Arc<[Method]>> {
    let [model_tag] = runner.models.as_slice() else {
        let mut p = BentoProblem::new(
            &rules::METHODS_UNKNOWN,
            format!(
                "framework runner `{}` ({}) lists {} models; its methods cannot be known",
                runner.name,
                runner.runnable_type,
                runner.models.len()
            ),
        )
        .help("batching tables for this runner are passed through unchecked: make sure each method name exists and is batchable");
        p.unit = Some(runner.name.as_str().into());
        problems.push(p);
        return None;
    };
    let lookup = models
        .entry(model_tag.clone())
        .or_insert_with(|| lookup_model(model_tag, bento_dir, store));
    let (mut methods, module) = match lookup {
        ModelLookup::Found { methods, module } => (methods.clone(), module.as_str()),
        ModelLookup::NotFound => {
            let mut p = BentoProblem::new(
                &rules::MODEL_NOT_FOUND,
                format!(
                    "model `{model_tag}` of runner `{}` is in neither the bento nor the store {}; its methods cannot be checked",
                    runner.name,
                    store.join("models").display()
                ),
            )
            .help("import the bento with its models (`bentoml import`), or set `bentoml_home` to the store that holds the model");
            p.unit = Some(runner.name.as_str().into());
            problems.push(p);
            return None;
        }
        ModelLookup::Unreadable(problem) => {
            let mut p = problem.clone();
            p.unit = Some(runner.name.as_str().into());
            problems.push(p);
            return None;
        }
        ModelLookup::Broken { path, rule, why } => {
            let mut p = unreadable_yaml(rule, format!("cannot read {}: {why}", path.display()));
            p.unit = Some(runner.name.as_str().into());
            problems.push(p);
            return None;
        }
    };
    // MLflow runnables expose only `predict`, whatever else is signed.
    if runner.runnable_type == "MLflowPyfuncRunnable" {
        methods = methods
            .iter()
            .filter(|m| m.name == "predict")
            .cloned()
            .collect();
    }
    // Diffusers runnables add one fixed method besides the signatures.
    if runner.runnable_type == "DiffusersRunnable" || module == "bentoml.diffusers" {
        let mut with_helper = methods.to_vec();
        with_helper.push(services::plain_method(
            "_replace_scheduler",
            "the Diffusers runnable",
        ));
        methods = with_helper.into();
    }
    Some(methods)
}

/// The Service name, which `bentoml.ray.deployment` uses for the API server
/// deployment (`bento-svc-<svc.name>`). It equals the bento name unless the
/// bentofile renamed the bento. BentoML 1.2+ records it as `entry_service`;
/// older bentos only have it in the service source, as the first string
/// argument of `Service(...)`.
fn service_name(info: &BentoYaml, dir: &Path) -> Result<(String, &'static str), BentoProblem> {
    if let Some(name) = entry_service(info) {
        return Ok((name, "entry_service in bento.yaml"));
    }
    if let Some(name) = read_optional(&dir.join(service_source(info)))?
        .and_then(|text| service_name_in_source(&text))
        .and_then(|n| valid_service_name(&n))
    {
        return Ok((name, "Service(...) in the service source"));
    }
    Ok((info.name.clone(), "the bento name"))
}

/// A Service name as BentoML accepts it (lowered first), if it is one.
fn valid_service_name(name: &str) -> Option<String> {
    let lowered = name.to_lowercase();
    tag::validate_part("service name", &lowered)
        .is_ok()
        .then_some(lowered)
}

/// New-style bentos list services (and BentoML 1.3.10+ writes `spec: 2`
/// for them).
fn bento_kind(info: &BentoYaml) -> BentoKind {
    if !info.services.is_empty() || info.spec == Some(2) {
        BentoKind::Services
    } else {
        BentoKind::Runners
    }
}

/// Whether the Python sources must be read: services and custom
/// runnables are declared there.
fn needs_sources(info: &BentoYaml) -> bool {
    bento_kind(info) == BentoKind::Services
        || info
            .runners
            .iter()
            .any(|r| !SIGNATURE_RUNNABLES.contains(&r.runnable_type.as_str()))
}

/// The usable `entry_service` of bento.yaml (BentoML 1.2+).
fn entry_service(info: &BentoYaml) -> Option<String> {
    info.entry_service.as_deref().and_then(valid_service_name)
}

/// The service's Python source inside the bento (`src/<module path>.py`).
fn service_source(info: &BentoYaml) -> PathBuf {
    let module = info.service.split(':').next().unwrap_or_default();
    Path::new("src").join(format!("{}.py", module.replace('.', "/")))
}

/// What [`read_bento`] reads besides bento.yaml, relative to the bento:
/// each single-model runner's model (`latest`, when the tag says so, and
/// `model.yaml`) and, unless bento.yaml names the Service, the service
/// source. `files_present` tells whether a relative path was found, and
/// `read_latest` reads a `models/<name>/latest` file; the answer is whether
/// everything is there (archives stop reading once it is).
pub(crate) fn metadata_complete(
    bento_yaml: &str,
    files_present: &dyn Fn(&Path) -> bool,
    read_latest: &dyn Fn(&Path) -> Option<String>,
) -> bool {
    let Ok(info) = serde_norway::from_str::<BentoYaml>(bento_yaml) else {
        // read_bento reports it; nothing more is needed.
        return true;
    };
    if entry_service(&info).is_none() && !files_present(&service_source(&info)) {
        return false;
    }
    // Services and custom runnables are read from every `src/**/*.py`,
    // which may come anywhere in the archive: read it to the end (within
    // the archive limits).
    if needs_sources(&info) {
        return false;
    }
    info.runners.iter().all(|r| {
        let [model_tag] = r.models.as_slice() else {
            return true;
        };
        let (name, version) = model_tag.split_once(':').unwrap_or((model_tag, "latest"));
        let name_dir = Path::new("models").join(name);
        let version = if version == "latest" {
            match read_latest(&name_dir.join("latest")) {
                Some(v) => v.trim().to_string(),
                None => return false,
            }
        } else {
            version.to_string()
        };
        files_present(&name_dir.join(version).join("model.yaml"))
    })
}

/// The first string literal passed to `Service(`, positionally or as
/// `name=`. A scan, not a Python parser: it reads literals only.
fn service_name_in_source(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find("Service(") {
        rest = &rest[at + "Service(".len()..];
        let mut args = rest.trim_start();
        if let Some(after) = args.strip_prefix("name") {
            match after.trim_start().strip_prefix('=') {
                Some(value) => args = value.trim_start(),
                None => continue,
            }
        }
        let quote = args.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = &args[1..];
        if let Some(end) = body.find(quote) {
            return Some(body[..end].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{closest, service_name_in_source};

    #[test]
    fn runners_in_chunks_read_as_the_whole_document() {
        let mut text = String::from("service: service:svc\nname: big\nversion: v1\nrunners:\n");
        for i in 0..10_000 {
            match i % 4 {
                0 => text.push_str(&format!("- name: r{i}\n  runnable_type: SklearnRunnable\n  models: ['m{i}:v1']\n")),
                1 => text.push_str(&format!("-\n  name: \"r{i}\"\n  models:\n  - m:v1\n\n# a comment\n")),
                2 => text.push_str(&format!("- runnable_type: X\n  name: r{i} # trailing\n  embedded: false\n  resource_config: null\n")),
                _ => text.push_str(&format!("- {{name: r{i}, models: []}}\n")),
            }
        }
        text.push_str("apis:\n- name: predict\nentry_service: big\n");
        let chunked = super::parse_runners_in_chunks(&text).expect("BentoML's layout");
        let whole: super::BentoYaml = serde_norway::from_str(&text).unwrap();
        assert_eq!(format!("{chunked:?}"), format!("{whole:?}"));
        assert_eq!(chunked.runners.len(), 10_000);
        // Other layouts are left to the whole-document reader.
        assert!(super::parse_runners_in_chunks("runners:\n  - name: a\n").is_none());
        assert!(super::parse_runners_in_chunks("runners: [{name: a}]\n").is_none());
        assert!(super::parse_runners_in_chunks("runners:\n- &a {name: a}\n- *a\n").is_none());
        // A broken item fails the chunked read.
        assert!(
            super::parse_runners_in_chunks("name: b\nversion: v\nrunners:\n- name: [\n").is_none()
        );
    }

    #[test]
    fn closest_skips_only_names_beyond_the_limit() {
        let names: Vec<String> = [
            "num_replicas",
            "max_ongoing_requests",
            "ray_actor_options",
            "predict",
            "prédict",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(closest("num_replica", &names), Some("num_replicas"));
        assert_eq!(closest("nmu_replicas", &names), Some("num_replicas"));
        assert_eq!(
            closest("max_ongiong_requests", &names),
            Some("max_ongoing_requests")
        );
        assert_eq!(closest("perdict", &names), Some("predict"));
        assert_eq!(closest("prèdict", &names), Some("predict"));
        assert_eq!(closest("unknown_option_00001", &names), None);
        // Agrees with the plain search on every pair.
        for wanted in [
            "num_rep",
            "predicts",
            "ray_actor_option",
            "x",
            "max_ongoing",
        ] {
            let plain = names
                .iter()
                .map(|c| (strsim::damerau_levenshtein(wanted, c), c))
                .filter(|(d, c)| *d <= (c.len().max(wanted.len()) / 3).max(1))
                .min()
                .map(|(_, c)| c.as_str());
            assert_eq!(closest(wanted, &names), plain, "{wanted}");
        }
    }

    #[test]
    fn finds_the_service_name_literal() {
        let src = "import bentoml\nsvc = bentoml.Service(\"Iris_API\", runners=[r])\n";
        assert_eq!(service_name_in_source(src).as_deref(), Some("Iris_API"));
        let named = "svc = Service(\n    name='fraud',\n    runners=[r],\n)";
        assert_eq!(service_name_in_source(named).as_deref(), Some("fraud"));
        assert_eq!(
            service_name_in_source("svc = Service(NAME, runners=[])"),
            None
        );
    }
}
