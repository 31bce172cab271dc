//! `bentoray init`: a commented starter spec for a bento, generated from the
//! bento model (`bento::Bento`) and the option declarations (`ray_options!`
//! in `spec::types`, with their defaults for the default Ray target).
//!
//! The spec is a list of [`StarterTable`]s: the cluster and application
//! tables, one deployment table per deployment of the bento (the API
//! server, then each runner), and a commented batching table per batchable
//! method. A new kind of bento (new-style services) adds its deployments
//! in [`deployment_tables`]; rendering does not change.
//!
//! Invariant: the text is a pure function of its inputs, and every name from
//! the bento lands as an escaped TOML key or string, in comments too.

use serde_json::Value;

use crate::bento::{Bento, BentoKind, UnitKind};
use crate::check::{BentoDefaults, BentoOption};
use crate::plan::DEFAULT_IMPORT_PATH;
use crate::spec::ray::{NEWEST_RAY, RayOption, RayVersion};
use crate::spec::types::{
    ApplicationSection, BatchOptions, DeploymentOptions, HttpOptions, LoggingConfig,
    RayActorOptions, RaySection,
};
use crate::spec::{toml_key, toml_string};

/// What the starter spec says about where things are.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The `bento` value: the tag as given, or the bento's path relative to
    /// the spec's directory.
    pub bento: String,
    /// The `bentoml_home` value (relative to the spec's directory), if any.
    pub bentoml_home: Option<String>,
    /// The `#:schema` location.
    pub schema: String,
}

/// One table of the starter spec.
struct StarterTable {
    /// Comment lines above the header.
    about: Vec<String>,
    /// `[service]`, `[runners.iris_clf]`, …
    header: String,
    /// Whether the table itself is commented out (batching tables, which
    /// only apply with `enable_batching = true`).
    commented: bool,
    /// `key = value` lines (TOML), shown as comments: the defaults.
    defaults: Vec<String>,
}

/// The Ray release whose defaults the starter shows: bentoray's default target.
pub const TARGET: RayVersion = NEWEST_RAY;

/// Options shown with their default only together with another option
/// (BR316): left out of the starter, as they mean nothing alone.
const NOT_ALONE: &[&str] = &["placement_group_strategy"];

/// The starter `bentoray.toml` for `bento`.
pub fn render(bento: &Bento, options: &InitOptions) -> String {
    let mut out = String::new();
    out.push_str(&format!("#:schema {}\n", options.schema));
    out.push_str(&format!(
        "# bentoray spec for bento {} (BentoML {}), written by `bentoray init`.\n",
        shown(&bento.tag()),
        plain(&bento.bentoml_version)
    ));
    out.push_str(&format!(
        "# Commented values are the defaults bentoray uses with Ray {TARGET}, its default target;\n\
         # uncomment a line to change it. `bentoray check` checks the spec, `bentoray build` compiles it.\n"
    ));
    out.push_str("# The schema named above: `bentoray schema > bentoray.schema.json`.\n\n");
    // Top-level keys first: below a table header they would belong to it.
    out.push_str(&format!("bento = {}\n", toml_string(&options.bento)));
    match &options.bentoml_home {
        Some(home) => out.push_str(&format!("bentoml_home = {}\n", toml_string(home))),
        None => out
            .push_str("# bentoml_home = \"<store>\"   # default: $BENTOML_HOME, else ~/bentoml\n"),
    }
    for line in top_level_defaults() {
        // A new-style bento's APIs are batched as declared (BR342).
        if bento.kind == BentoKind::Services && line.starts_with("enable_batching ") {
            continue;
        }
        out.push_str(&format!("# {line}\n"));
    }

    let from_bento = crate::check::bento_defaults(bento, TARGET);
    let mut tables = vec![ray_table(&from_bento.cluster), application_table(bento)];
    tables.extend(deployment_tables(bento, &from_bento));
    for table in &tables {
        out.push('\n');
        for line in &table.about {
            out.push_str(&format!("# {line}\n"));
        }
        let prefix = if table.commented { "# " } else { "" };
        out.push_str(&format!("{prefix}{}\n", table.header));
        for line in &table.defaults {
            out.push_str(&format!("# {line}\n"));
        }
    }
    out
}

/// `key = default` for the top-level keys whose schema records a default.
fn top_level_defaults() -> Vec<String> {
    let schema = crate::spec::types::json_schema();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(key, property)| {
            let value = match property.get("default")? {
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::String(s) => toml_string(s),
                _ => return None,
            };
            Some(format!("{} = {value}", toml_key(key)))
        })
        .collect()
}

fn ray_table(from_bento: &[BentoOption]) -> StarterTable {
    let mut defaults = vec![format!("version = {}", toml_string(&TARGET.to_string()))];
    defaults.extend(default_lines(RaySection::OPTIONS));
    defaults.push(inline_with(
        "http_options",
        HttpOptions::OPTIONS,
        from_bento,
    ));
    defaults.push(inline("logging_config", LoggingConfig::OPTIONS));
    let mut about =
        vec!["The target Ray release and Ray Serve's cluster-wide options.".to_string()];
    about.extend(from_bento_lines(from_bento));
    StarterTable {
        about,
        header: "[ray]".into(),
        commented: false,
        defaults,
    }
}

fn application_table(bento: &Bento) -> StarterTable {
    // bentoray's own defaults (the plan's), then Ray's.
    let mut defaults = vec![
        format!("name = {}", toml_string(&bento.name)),
        format!("import_path = {}", toml_string(DEFAULT_IMPORT_PATH)),
    ];
    defaults.extend(default_lines(ApplicationSection::OPTIONS));
    StarterTable {
        about: vec!["The Ray Serve application.".into()],
        header: "[application]".into(),
        commented: false,
        defaults,
    }
}

/// The deployments of the bento, one per deployment unit in bento order
/// (a legacy bento's API server and runners, a new-style bento's
/// services), each with its options' defaults, then the batching tables of
/// their batchable methods and APIs.
fn deployment_tables(bento: &Bento, from_bento: &BentoDefaults) -> Vec<StarterTable> {
    let mut tables = Vec::new();
    let mut batching = Vec::new();
    for unit in &bento.units {
        let key = toml_key(&unit.name);
        let (header, about, noun) = match &unit.kind {
            UnitKind::ApiServer => (
                "[service]".to_string(),
                format!(
                    "The API server: Service {}, deployment {}",
                    shown(&bento.service_name),
                    shown(&format!("bento-svc-{}", bento.service_name))
                ),
                "APIs",
            ),
            UnitKind::Runner { runnable_type, .. } => (
                format!("[runners.{key}]"),
                format!(
                    "Runner {} ({}), deployment {}",
                    shown(&unit.name),
                    shown(runnable_type),
                    shown(&format!("bento-runner-{}", unit.name))
                ),
                "methods",
            ),
            UnitKind::Service { entry } => (
                format!("[services.{key}]"),
                format!(
                    "Service {}{}",
                    shown(&unit.name),
                    if *entry { " (the entry service)" } else { "" }
                ),
                "APIs",
            ),
        };
        let methods = match &unit.methods {
            Some(methods) if methods.is_empty() => format!("no {noun}"),
            Some(methods) => {
                let names: Vec<String> = methods
                    .iter()
                    .map(|m| {
                        let batchable = if m.batchable == Some(true) {
                            " (batchable)"
                        } else {
                            ""
                        };
                        format!("{}{batchable}", shown(&m.name))
                    })
                    .collect();
                format!("{noun}: {}", names.join(", "))
            }
            None => format!(
                "{noun} unknown from the bento ({})",
                plain(&unit.methods_from)
            ),
        };
        // A service's own settings are its defaults (`bentoray plan`
        // shows them too).
        let given = from_bento.service(&unit.name);
        let mut defaults = lines_with(DeploymentOptions::OPTIONS, given);
        defaults.push(inline_with(
            "ray_actor_options",
            RayActorOptions::OPTIONS,
            given,
        ));
        let mut about_lines = vec![format!("{about}; {methods}.")];
        about_lines.extend(from_bento_lines(given));
        tables.push(StarterTable {
            about: about_lines,
            header,
            commented: false,
            defaults,
        });
        // The API server's APIs are not batched by bentoray; runners' methods
        // and services' APIs are.
        if unit.kind == UnitKind::ApiServer {
            continue;
        }
        for method in unit.methods.iter().flat_map(|m| m.iter()) {
            if method.batchable != Some(true) {
                continue;
            }
            let name = shown(&format!("{}.{}", unit.name, method.name));
            let dims = match method.batch_dim {
                Some((input, output)) => format!(" (batch_dim {input} in, {output} out)"),
                None => String::new(),
            };
            let mut defaults = default_lines(BatchOptions::OPTIONS);
            let when = match &unit.kind {
                UnitKind::Service { .. } => {
                    // A service API's own max_batch_size is the default.
                    if let Some(size) = method.max_batch_size.as_ref().and_then(|s| s.value) {
                        for line in &mut defaults {
                            if line.starts_with("max_batch_size = ") {
                                *line = format!("max_batch_size = {size}");
                            }
                        }
                    }
                    "batched as the API declares; these override it"
                }
                _ => "takes effect with `enable_batching = true`",
            };
            batching.push(StarterTable {
                about: vec![format!("Batching of {name}{dims}; {when}.")],
                header: format!("[batching.{key}.{}]", toml_key(&method.name)),
                commented: true,
                defaults,
            });
        }
    }
    tables.extend(batching);
    tables
}

/// The defaults of a table with the bento's values in place of Ray's (and
/// options Ray has no default for, such as `memory`, added in their place).
fn with_bento(options: &[RayOption], given: &[BentoOption]) -> Vec<(&'static str, String)> {
    options
        .iter()
        .filter(|o| o.availability.exists_in(TARGET) && !NOT_ALONE.contains(&o.key))
        .filter_map(|o| {
            let bento = given
                .iter()
                .find(|b| b.key == o.key && b.table == o.table)
                .and_then(|b| toml_of(&b.value));
            let value = bento.or_else(|| Some(toml_value(o.availability.default_in(TARGET)?)))?;
            Some((o.key, value))
        })
        .collect()
}

fn lines_with(options: &[RayOption], given: &[BentoOption]) -> Vec<String> {
    with_bento(options, given)
        .into_iter()
        .map(|(key, value)| format!("{key} = {value}"))
        .collect()
}

fn inline_with(key: &str, options: &[RayOption], given: &[BentoOption]) -> String {
    let fields: Vec<String> = with_bento(options, given)
        .into_iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!("{key} = {{ {} }}", fields.join(", "))
}

/// A mapped value as TOML: a number or a string.
fn toml_of(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(toml_string(s)),
        _ => None,
    }
}

/// Comment lines saying which defaults come from the bento, and from what.
fn from_bento_lines(given: &[BentoOption]) -> Vec<String> {
    given
        .iter()
        .map(|o| {
            format!(
                "From the bento: {}{} from `{}` ({}).",
                if o.table == crate::spec::ray::OptionTable::ActorOptions {
                    "ray_actor_options."
                } else {
                    ""
                },
                o.key,
                plain(&o.setting),
                plain(&o.from)
            )
        })
        .collect()
}

/// `key = default` for every option of a table that exists in [`TARGET`]
/// and has a recorded default there.
fn default_lines(options: &[RayOption]) -> Vec<String> {
    defaults(options)
        .into_iter()
        .map(|(key, value)| format!("{key} = {value}"))
        .collect()
}

/// A nested table's defaults as one inline table line.
fn inline(key: &str, options: &[RayOption]) -> String {
    let fields: Vec<String> = defaults(options)
        .into_iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!("{key} = {{ {} }}", fields.join(", "))
}

fn defaults(options: &[RayOption]) -> Vec<(&'static str, String)> {
    options
        .iter()
        .filter(|o| o.availability.exists_in(TARGET) && !NOT_ALONE.contains(&o.key))
        .filter_map(|o| Some((o.key, toml_value(o.availability.default_in(TARGET)?))))
        .collect()
}

/// A recorded default as a TOML value: recorded defaults are TOML literals
/// (`1`, `0.01`, `true`, `""`) or bare words for string values (`EveryNode`).
fn toml_value(default: &str) -> String {
    let is_literal = format!("v = {default}")
        .parse::<toml::Table>()
        .is_ok_and(|t| {
            t.get("v")
                .is_some_and(|v| !v.is_float() || v.as_float().is_some_and(f64::is_finite))
        });
    if is_literal {
        default.to_string()
    } else {
        toml_string(default)
    }
}

/// A name from the bento for a comment, in backticks (see [`plain`]).
fn shown(name: &str) -> String {
    let text = plain(name);
    if text.starts_with('"') {
        text
    } else {
        format!("`{text}`")
    }
}

/// Text from the bento for a comment: as is when it is printable ASCII,
/// else as an escaped TOML string (no newline can end the comment early).
fn plain(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        text.to_string()
    } else {
        toml_string(text)
    }
}
