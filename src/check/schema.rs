//! Schema validation: validates the spec with the `jsonschema` crate against
//! the spec's generic JSON Schema (whose runner tables share one subschema,
//! so compiling it costs the same for any bento), checks runner and method
//! names against the loaded bento, and maps every error back to the span of
//! the offending key or value.

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::{Value, json};

use crate::bento::{Bento, closest};
use crate::diagnostic::{Diagnostic, Rule, rules};
use crate::spec::ray::{OptionTable, RayVersion};
use crate::spec::spanned::{Node, NodeKind, Segment, dotted};
use crate::spec::types::OPTION_TABLES;

/// Unit and method names the bento does not have (runners: BR102, BR103;
/// services: BR340, BR341), and batching options written one level too
/// high (`[batching.<unit>] max_batch_size = …`, BR313). Returns the paths
/// whose own schema errors those diagnostics already explain.
fn unknown_names(
    schema: &Value,
    root: &Node,
    bento: &Bento,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Vec<Segment>> {
    let mut explained = Vec::new();
    let key = |k: &str| Segment::Key(k.to_string());
    // The other kind's table is reported whole (BR342), not name by name.
    for section in [bento.kind.section(), "batching"] {
        let path = [key(section)];
        let sub = schema_at(schema, schema, &path);
        for entry in root.get(section).map(Node::entries).unwrap_or_default() {
            if bento.unit(&entry.key).is_none() {
                diags.push(unknown_key(
                    &entry.key,
                    entry.key_span.clone(),
                    &path,
                    sub,
                    schema,
                    Some(bento),
                ));
            }
        }
    }
    for unit_entry in root.get("batching").map(Node::entries).unwrap_or_default() {
        let unit = bento.unit(&unit_entry.key);
        let path = [key("batching"), key(&unit_entry.key)];
        let sub = schema_at(schema, schema, &path);
        for entry in unit_entry.value.entries() {
            let is_option =
                crate::spec::types::find_option(OptionTable::Batching, &entry.key).is_some();
            if is_option && !matches!(entry.value.kind, NodeKind::Table(_)) {
                diags.push(batching_option_too_high(
                    &unit_entry.key,
                    entry,
                    unit,
                    bento,
                ));
                explained.push(vec![path[0].clone(), path[1].clone(), key(&entry.key)]);
                continue;
            }
            let Some(methods) = unit.and_then(|u| u.methods.as_ref()) else {
                continue;
            };
            if !methods.iter().any(|m| m.name == entry.key) {
                diags.push(unknown_key(
                    &entry.key,
                    entry.key_span.clone(),
                    &path,
                    sub,
                    schema,
                    Some(bento),
                ));
            }
        }
    }
    explained
}

/// `[batching.iris_clf] max_batch_size = 5`: the options of a method belong
/// in the method's table.
fn batching_option_too_high(
    unit_name: &str,
    entry: &crate::spec::spanned::Entry,
    unit: Option<&crate::bento::Unit>,
    bento: &Bento,
) -> Diagnostic {
    let (noun, method) = (bento.kind.unit_noun(), bento.kind.method_noun());
    let batchable: Option<Vec<&str>> = unit.and_then(|u| u.methods.as_ref()).map(|ms| {
        ms.iter()
            .filter(|m| m.batchable == Some(true))
            .map(|m| m.name.as_str())
            .collect()
    });
    let placeholder = format!("<{}>", method.to_lowercase());
    let example = batchable
        .as_ref()
        .and_then(|b| b.first().copied())
        .unwrap_or(&placeholder);
    let methods = match &batchable {
        Some(b) if b.is_empty() => format!("{noun} `{unit_name}` has no batchable {method}"),
        Some(b) => format!("batchable {method}s of `{unit_name}`: {}", b.join(", ")),
        None => format!("the {method}s of `{unit_name}` are not known"),
    };
    Diagnostic::new(
        &rules::WRONG_LEVEL,
        format!(
            "`{}` is a batching option of one {method}; it belongs in [batching.{unit_name}.{placeholder}]",
            entry.key
        ),
    )
    .at(entry.key_span.clone())
    .label(format!("move to [batching.{unit_name}.{example}]"))
    .help(format!(
        "batching options are set per {method}: write `[batching.{unit_name}.{example}]` and put `{}` under it; {methods}",
        entry.key
    ))
}

/// The validator of the committed schema (whole, or without the KubeRay
/// definitions for a spec without `[kuberay]`: `types::without_kuberay`;
/// the only two `validate` is given), each compiled once per process: the
/// language server checks on every change, and compiling is about half of
/// a small check.
fn validator(committed: &Value) -> &'static jsonschema::Validator {
    use std::sync::OnceLock;
    static WHOLE: OnceLock<jsonschema::Validator> = OnceLock::new();
    static WITHOUT_KUBERAY: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = if committed.pointer("/definitions/KubeRaySection").is_some() {
        &WHOLE
    } else {
        &WITHOUT_KUBERAY
    };
    cell.get_or_init(|| match jsonschema::draft7::new(committed) {
        Ok(v) => v,
        // The schema is generated by us; failing to compile it is a bug.
        Err(e) => panic!("bentoray's own schema does not compile: {e}"),
    })
}

/// Validates `instance` against the committed schema and returns one
/// diagnostic per problem.
pub fn validate(
    schema: &Value,
    instance: &Value,
    root: &Node,
    bento: Option<&Bento>,
    target: RayVersion,
) -> Vec<Diagnostic> {
    let validator = validator(schema);
    let mut diags = Vec::new();
    toml_only_types(root, &mut Vec::new(), schema, target, &mut diags);
    let explained = match bento {
        Some(b) => unknown_names(schema, root, b, &mut diags),
        None => Vec::new(),
    };
    for error in validator.iter_errors(instance) {
        // `null` only stands in for values JSON cannot carry (non-finite
        // numbers, datetimes), already reported.
        if error.instance().is_null() {
            continue;
        }
        let path: Vec<Segment> = error
            .instance_path()
            .iter()
            .map(|s| match s {
                LocationSegment::Property(p) => Segment::Key(p.to_string()),
                LocationSegment::Index(i) => Segment::Index(i),
            })
            .collect();
        if explained.contains(&path) {
            continue;
        }
        map_error(error.kind(), &path, schema, root, bento, target, &mut diags);
    }
    diags
}

/// Type errors JSON Schema cannot see, reported at the value. JSON Schema
/// counts `2.0` as an integer, but Ray 2.55+ rejects floats for integer
/// options and older releases truncate them. TOML datetimes, dates and
/// times have no JSON (or Ray) type at all: they reach the JSON value as
/// `null`, and are rejected wherever they appear.
fn toml_only_types(
    node: &Node,
    path: &mut Vec<Segment>,
    schema: &Value,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    match &node.kind {
        NodeKind::Table(table) => {
            for e in table.entries() {
                path.push(Segment::Key(e.key.clone()));
                toml_only_types(&e.value, path, schema, target, diags);
                path.pop();
            }
        }
        NodeKind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                toml_only_types(item, path, schema, target, diags);
                path.pop();
            }
        }
        NodeKind::Datetime(d) => {
            let expected = schema_at(schema, schema, path)
                .map(|sub| describe(schema, sub))
                .unwrap_or_else(|| "a string, number, boolean, array or table".into());
            diags.push(
                Diagnostic::new(
                    &rules::INVALID_TYPE,
                    format!(
                        "{} must be {expected}, found datetime {d}",
                        describe_place(path)
                    ),
                )
                .at(node.span.clone())
                .label("a TOML date/time")
                .help(format!(
                    "Ray Serve's config has no date or time type; quote the value (`\"{d}\"`) if it is meant as a string"
                )),
            );
        }
        NodeKind::Float(f) if f.fract() == 0.0 => {
            let Some(sub) = schema_at(schema, schema, path) else {
                return;
            };
            if accepts_integer_only(schema, sub) {
                diags.push(
                    Diagnostic::new(
                        &rules::INVALID_TYPE,
                        format!(
                            "{} must be {}, found float {f:?}",
                            describe_place(path),
                            describe(schema, sub)
                        ),
                    )
                    .at(node.span.clone())
                    .label("expected integer")
                    .help(format!(
                        "write `{}` without a decimal point; {}",
                        *f as i64,
                        integer_strictness(target)
                    )),
                );
            }
        }
        _ => {}
    }
}

/// What the target release does with a float for an integer option.
pub fn integer_strictness(target: RayVersion) -> String {
    if target >= STRICT_INTEGERS {
        format!("Ray {target} rejects floats for integer options")
    } else {
        format!(
            "Ray {target} silently truncates floats for integer options (2.5 becomes 2); Ray {STRICT_INTEGERS}+ rejects them"
        )
    }
}

/// From this release Ray validates with pydantic v2, which rejects floats
/// with a fraction for integer fields (earlier releases truncate them).
const STRICT_INTEGERS: RayVersion = crate::spec::ray::v(2, 55);

/// Whether a schema takes integers but not other numbers.
fn accepts_integer_only(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
        let types: Vec<&str> = branches
            .iter()
            .filter_map(|b| resolve(root, b).get("type").and_then(Value::as_str))
            .collect();
        return types.contains(&"integer") && !types.contains(&"number");
    }
    s.get("type").and_then(Value::as_str) == Some("integer")
}

fn map_error(
    kind: &ValidationErrorKind,
    path: &[Segment],
    schema: &Value,
    root: &Node,
    bento: Option<&Bento>,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(node) = root.at_path(path) else {
        return;
    };
    let sub = schema_at(schema, schema, path);
    let what = describe_place(path);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for key in unexpected {
                if let Some(entry) = node.entry(key) {
                    diags.push(unknown_key(
                        key,
                        entry.key_span.clone(),
                        path,
                        sub,
                        schema,
                        bento,
                    ));
                }
            }
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            let span = if path.is_empty() {
                0..0
            } else {
                node.span.clone()
            };
            diags.push(
                Diagnostic::new(&rules::MISSING_KEY, format!("missing required key `{key}`"))
                    .at(span)
                    .label(format!("`{key}` is required"))
                    .help(match key {
                        "bento" => {
                            "name the bento to deploy, e.g. `bento = \"iris_classifier:latest\"`"
                                .to_string()
                        }
                        _ => format!("add `{key}`"),
                    }),
            );
        }
        _ => {
            let expected = sub
                .map(|s| describe(schema, s))
                .unwrap_or_else(|| "a valid value".into());
            let rule = classify(kind);
            let found = describe_found(node);
            let message = format!("{what} must be {expected}, found {found}");
            let label = match rule.code {
                c if c == rules::INVALID_TYPE.code => {
                    format!("expected {}", short_type(sub, schema))
                }
                c if c == rules::OUT_OF_RANGE.code => "out of range".to_string(),
                _ => "invalid value".to_string(),
            };
            let mut d = Diagnostic::new(rule, message)
                .at(node.span.clone())
                .label(label);
            // The key's own description first (it says what the key is for),
            // then its type's.
            let help = sub.and_then(|s| {
                s.get("description")
                    .or_else(|| resolve(schema, s).get("description"))
            });
            let float_for_integer = matches!(node.kind, NodeKind::Float(_))
                && sub.is_some_and(|s| accepts_integer_only(schema, s));
            if float_for_integer {
                d = d.help(integer_strictness(target));
            } else if let Some(help) = help.and_then(Value::as_str) {
                d = d.help(help.to_string());
            }
            diags.push(d);
        }
    }
}

/// Picks the rule for a value error. For `anyOf` (e.g. `num_replicas`), the
/// branch whose type matches decides whether it is a range or value problem.
fn classify(kind: &ValidationErrorKind) -> &'static Rule {
    match kind {
        ValidationErrorKind::Type { .. } => &rules::INVALID_TYPE,
        ValidationErrorKind::Minimum { .. }
        | ValidationErrorKind::Maximum { .. }
        | ValidationErrorKind::ExclusiveMinimum { .. }
        | ValidationErrorKind::ExclusiveMaximum { .. } => &rules::OUT_OF_RANGE,
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // A branch that failed for a reason other than its type is the
            // one the user meant.
            let meant = context.iter().find(|errors| {
                !errors
                    .iter()
                    .any(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
            });
            match meant.and_then(|errors| errors.first()) {
                Some(e) => classify(e.kind()),
                None => &rules::INVALID_TYPE,
            }
        }
        _ => &rules::INVALID_VALUE,
    }
}

/// How many valid names a help lists at most.
const LISTED_NAMES: usize = 40;

fn unknown_key(
    key: &str,
    span: std::ops::Range<usize>,
    path: &[Segment],
    sub: Option<&Value>,
    schema: &Value,
    bento: Option<&Bento>,
) -> Diagnostic {
    let segs: Vec<&str> = path
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.as_str(),
            Segment::Index(_) => "",
        })
        .collect();
    // Unit (runner or service) and method names come from the bento, other
    // names from the schema.
    let methods = |unit: &str| {
        bento
            .and_then(|b| b.unit(unit))
            .and_then(|u| u.methods.as_ref())
            .map(|ms| ms.iter().map(|m| m.name.clone()).collect())
    };
    let known: Vec<String> = match (segs.as_slice(), bento) {
        ([section], Some(b)) if *section == b.kind.section() || *section == "batching" => {
            b.keyed_units().map(|u| u.name.clone()).collect()
        }
        (["batching", unit], Some(_)) => methods(unit).unwrap_or_default(),
        _ => sub
            .map(|s| resolve(schema, s))
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default(),
    };
    let mut suggestion = closest(key, &known);
    // `working_directory` for `working_dir`: a runtime_env field that the key
    // starts with is the likely meaning (a plugin name would rarely be one).
    if suggestion.is_none() && path.last() == Some(&Segment::Key("runtime_env".into())) {
        suggestion = known
            .iter()
            .filter(|k| k.len() >= 3 && (key.starts_with(k.as_str()) || k.starts_with(key)))
            .max_by_key(|k| k.len())
            .map(String::as_str);
    }
    // The label carries the suggestion, and the JSON/SARIF fix its edit;
    // the help lists every valid name.
    let key_span = span.clone();
    let did_you_mean = |d: Diagnostic| match suggestion {
        Some(best) => d.suggest(key_span.clone(), crate::spec::toml_key(best)),
        None => d,
    };
    let list = |noun: &str, owner: String| -> String {
        match known.len() {
            0 => format!("{owner} no {noun}"),
            // Bounded, so N unknown runners of a big bento cost O(N), not O(N × runners).
            n if n > LISTED_NAMES => format!(
                "{owner} {noun}: {}, … ({n} in all)",
                known[..LISTED_NAMES].join(", ")
            ),
            _ => format!("{owner} {noun}: {}", known.join(", ")),
        }
    };
    let bento_name = bento.map_or_else(
        || "the bento".to_string(),
        |b| format!("bento `{}`", b.tag()),
    );
    let services = bento.is_some_and(|b| b.kind == crate::bento::BentoKind::Services);
    match segs.as_slice() {
        ["services"] | ["batching"] if services => did_you_mean(Diagnostic::new(&rules::UNKNOWN_SERVICE, format!("unknown service `{key}`"))
            .at(span)
            .label(match suggestion {
                Some(best) => format!("not a service of the bento; did you mean `{best}`?"),
                None => "not a service of the bento".to_string(),
            })
            .help(list("services", format!("{bento_name} has")))),
        ["batching", service] if services => {
            did_you_mean(Diagnostic::new(&rules::UNKNOWN_API, format!("service `{service}` has no API `{key}`"))
                .at(span)
                .label(match suggestion {
                    Some(best) => format!("unknown API; did you mean `{best}`?"),
                    None => "unknown API".to_string(),
                })
                .help(list("APIs", format!("service `{service}` has"))))
        }
        ["services", _] if key == "name" => Diagnostic::new(
            &rules::DEPLOYMENT_NAME,
            format!("{} must not set `name`", describe_table(path)),
        )
        .at(span)
        .label("bentoray names this deployment")
        .help("remove `name`: each service's deployment is named after the service, which is how services find each other"),
        ["runners"] | ["batching"] => did_you_mean(Diagnostic::new(&rules::UNKNOWN_RUNNER, format!("unknown runner `{key}`"))
            .at(span)
            .label(match suggestion {
                Some(best) => format!("not a runner of the bento; did you mean `{best}`?"),
                None => "not a runner of the bento".to_string(),
            })
            .help(list("runners", format!("{bento_name} has")))),
        ["batching", runner] => {
            did_you_mean(Diagnostic::new(&rules::UNKNOWN_METHOD, format!("runner `{runner}` has no method `{key}`"))
                .at(span)
                .label(match suggestion {
                    Some(best) => format!("unknown method; did you mean `{best}`?"),
                    None => "unknown method".to_string(),
                })
                .help(list("methods", format!("runner `{runner}` has"))))
        }
        ["service"] | ["runners", _] if key == "name" => Diagnostic::new(
            &rules::DEPLOYMENT_NAME,
            format!("{} must not set `name`", describe_table(path)),
        )
        .at(span)
        .label("bentoray names this deployment")
        .help(
            "remove `name`: deployments are named `bento-svc-<service>` and `bento-runner-<runner>` as bentoml.ray.deployment names them, so that serve config overrides apply",
        ),
        _ if bentoml_argument(key).is_some() => {
            let (table, example) = bentoml_argument(key).unwrap_or_default();
            Diagnostic::new(
                &rules::UNKNOWN_KEY,
                format!("`{key}` is `bentoml.ray.deployment`'s argument name; bentoray uses {table}"),
            )
            .at(span)
            .label(format!("use {table}"))
            .help(format!(
                "write the options as TOML tables instead of BentoML's dictionary, e.g.\n{example}"
            ))
        }
        // A top-level key in a table; when it is written under a table
        // header (TOML's trap), `table_trap` explains that instead.
        _ if !path.is_empty() && schema.get("properties").and_then(|p| p.get(key)).is_some() => Diagnostic::new(
            &rules::WRONG_LEVEL,
            format!(
                "`{key}` does not belong in {}; it belongs at the top level",
                describe_table(path)
            ),
        )
        .at(span)
        .label("move to the top level")
        .help(if key == "enable_batching" {
            "write `enable_batching = true` before the first table of the spec (it switches batching on for the whole bento, as `bentoml.ray.deployment(enable_batching=True)`)".to_string()
        } else {
            format!("write `{key} = …` before the first table of the spec")
        }),
        _ if home_of(key, path).is_some() => {
            let home = home_of(key, path).unwrap_or_default();
            Diagnostic::new(
                &rules::WRONG_LEVEL,
                format!("`{key}` does not belong in {}; it belongs in {home}", describe_table(path)),
            )
            .at(span)
            .label(format!("move to {home}"))
            .help(format!(
                "Ray Serve silently ignores options at the wrong level; move `{key}` to {home}"
            ))
        }
        [.., "runtime_env"] if suggestion.is_none() => Diagnostic::new(
            &rules::RUNTIME_ENV_PLUGIN,
            format!("`{key}` in [{}] is not a Ray runtime_env field", dotted(path)),
        )
        .at(span)
        .label("a plugin field for Ray")
        .help(format!(
            "Ray ignores it (logging only \"runtime_env field {key} is not recognized by Ray and will be ignored\") unless the cluster installs a runtime_env plugin named `{key}`; runtime_env fields are: {}",
            known.join(", ")
        )),
        [.., "runtime_env"] => did_you_mean(Diagnostic::new(
            &rules::UNKNOWN_KEY,
            format!("unknown key `{key}` in [{}]", dotted(path)),
        ))
        .at(span)
        .label(format!(
            "unknown key; did you mean `{}`?",
            suggestion.unwrap_or_default()
        ))
        .help(format!(
            "Ray would keep `{key}` as a plugin field and ignore it, so the environment would lack it; runtime_env fields are: {}",
            known.join(", ")
        )),
        _ => did_you_mean(Diagnostic::new(
            &rules::UNKNOWN_KEY,
            format!("unknown key `{key}` in {}", describe_table(path)),
        )
        .at(span)
        .label(match suggestion {
            Some(best) => format!("unknown key; did you mean `{best}`?"),
            None => "unknown key".to_string(),
        })
        .help(list("keys", "valid".to_string()).replacen("valid keys", "valid keys are", 1))),
    }
}

/// `bentoml.ray.deployment`'s keyword arguments, which bentoray spells as
/// tables: the table to use and an example.
fn bentoml_argument(key: &str) -> Option<(&'static str, &'static str)> {
    match key {
        "service_deployment_config" => Some(("[service]", "[service]\nnum_replicas = 2")),
        "runners_deployment_config_map" => {
            Some(("[runners.<runner>]", "[runners.iris_clf]\nnum_replicas = 2"))
        }
        "batching_config" => Some((
            "[batching.<runner>.<method>]",
            "[batching.iris_clf.predict]\nmax_batch_size = 32",
        )),
        _ => None,
    }
}

/// Where a Ray option that is unknown at `path` belongs instead, if it is a
/// Ray option of another table: concrete when `path` is inside a deployment.
fn home_of(key: &str, path: &[Segment]) -> Option<String> {
    let deployment: Option<String> = match path {
        [Segment::Key(s), ..] if s == "service" => Some("[service]".into()),
        [Segment::Key(r), Segment::Key(name), ..] if r == "runners" || r == "services" => {
            Some(format!("[{r}.{name}]"))
        }
        _ => None,
    };
    let runner = match path {
        [Segment::Key(r), Segment::Key(name), ..]
            if r == "runners" || r == "services" || r == "batching" =>
        {
            Some(name.as_str())
        }
        _ => None,
    };
    let homes: Vec<OptionTable> = OPTION_TABLES
        .iter()
        .flat_map(|t| t.iter())
        .filter(|o| o.key == key && !o.availability.bentoray_only)
        .map(|o| o.table)
        .collect();
    // Inside a deployment, the deployment's own tables are the likely homes.
    let preferred = [
        OptionTable::Deployment,
        OptionTable::ActorOptions,
        OptionTable::Autoscaling,
        OptionTable::Batching,
        OptionTable::Application,
        OptionTable::Ray,
        OptionTable::HttpOptions,
        OptionTable::Logging,
    ];
    let table = preferred.into_iter().find(|t| homes.contains(t))?;
    Some(match (table, &deployment) {
        (OptionTable::Deployment, Some(d)) => d.clone(),
        (OptionTable::ActorOptions, Some(d)) => format!("`ray_actor_options` of {d}"),
        (OptionTable::Autoscaling, Some(d)) => format!("`autoscaling_config` of {d}"),
        (OptionTable::Batching, _) => match runner {
            Some(r) => format!("[batching.{r}.<method>]"),
            None => OptionTable::Batching.place().to_string(),
        },
        (t, _) => t.place().to_string(),
    })
}

/// `[runners.iris_clf]`, `[service.ray_actor_options]`, or `the top level`.
fn describe_table(path: &[Segment]) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("[{}]", dotted(path))
    }
}

/// `` `runners.iris_clf.num_replicas` `` for messages.
fn describe_place(path: &[Segment]) -> String {
    if path.is_empty() {
        "the spec".to_string()
    } else {
        format!("`{}`", dotted(path))
    }
}

/// Follows `$ref`s (and schemars' one-element `allOf` wrappers) to the
/// schema they name.
pub fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    // Bounded: our schema has no ref cycles through `$ref` alone.
    for _ in 0..8 {
        // schemars writes a described `$ref` as `allOf: [{$ref}]`.
        if let Some([only]) = current
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            current = only;
            continue;
        }
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/definitions/");
                match root.get("definitions").and_then(|d| d.get(name)) {
                    Some(target) => current = target,
                    None => break,
                }
            }
            None => break,
        }
    }
    current
}

/// The subschema that applies at an instance path.
pub fn schema_at<'a>(root: &'a Value, schema: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    let mut current = schema;
    for seg in path {
        let resolved = resolve(root, current);
        current = match seg {
            Segment::Key(k) => resolved
                .get("properties")
                .and_then(|p| p.get(k))
                .or_else(|| {
                    resolved
                        .get("additionalProperties")
                        .filter(|a| a.is_object())
                })?,
            Segment::Index(_) => resolved.get("items")?,
        };
    }
    Some(current)
}

/// What a schema accepts, in words: "an integer ≥ 1 or \"auto\"".
pub fn describe(root: &Value, schema: &Value) -> String {
    let s = resolve(root, schema);
    if let Some(branches) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        // Enum-like oneOf of consts (schemars' documented enums).
        let consts: Vec<String> = branches
            .iter()
            .filter_map(|b| resolve(root, b).get("const").map(literal))
            .collect();
        if consts.len() == branches.len() {
            return one_of(&consts);
        }
        let parts: Vec<String> = branches.iter().map(|b| describe(root, b)).collect();
        return parts.join(" or ");
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return one_of(&values.iter().map(literal).collect::<Vec<_>>());
    }
    if let Some(c) = s.get("const") {
        return literal(c);
    }
    let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
    let min = s.get("minimum").and_then(Value::as_f64);
    let max = s.get("maximum").and_then(Value::as_f64);
    let xmin = s.get("exclusiveMinimum").and_then(Value::as_f64);
    let bounds = match (min, max, xmin) {
        (Some(lo), Some(hi), _) => format!(" from {} to {}", num(lo), num(hi)),
        (Some(lo), None, _) => format!(" ≥ {}", num(lo)),
        (None, None, Some(lo)) => format!(" > {}", num(lo)),
        (None, Some(hi), _) => format!(" ≤ {}", num(hi)),
        _ => String::new(),
    };
    let not_zero = if s.get("not").and_then(|n| n.get("const")) == Some(&json!(0)) {
        " other than 0"
    } else {
        ""
    };
    match ty {
        "integer" => format!("an integer{bounds}{not_zero}"),
        "number" => format!("a number{bounds}"),
        "string" => match s.get("pattern").and_then(Value::as_str) {
            Some(r"^[0-9]+\.[0-9]+$") => "a version such as \"2.60\"".to_string(),
            Some(p) => format!("a string matching `{p}`"),
            None if s.get("minLength").is_some() => "a non-empty string".to_string(),
            None => "a string".to_string(),
        },
        "boolean" => "true or false".to_string(),
        "array" if s.get("minItems").is_some() => "a non-empty array".to_string(),
        "array" => "an array".to_string(),
        "object" if s.get("minProperties").is_some() => "a non-empty table".to_string(),
        "object" => "a table".to_string(),
        _ => "a valid value".to_string(),
    }
}

/// The bare type expected, for labels: "integer", "table", ...
fn short_type(sub: Option<&Value>, root: &Value) -> String {
    let Some(s) = sub.map(|s| resolve(root, s)) else {
        return "another type".into();
    };
    if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
        let names: Vec<String> = branches.iter().map(|b| short_type(Some(b), root)).collect();
        return names.join(" or ");
    }
    match s.get("type").and_then(Value::as_str) {
        Some("object") => "table".into(),
        Some(t) => t.into(),
        None => "another type".into(),
    }
}

fn one_of(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        _ => format!("one of {}", values.join(", ")),
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// "integer 0", "string \"AUTO\"", "a table".
pub fn describe_found(node: &Node) -> String {
    match &node.kind {
        NodeKind::Table(_) => "a table".into(),
        NodeKind::Array(_) => "an array".into(),
        NodeKind::String(s) => format!("string {s:?}"),
        NodeKind::Integer(i) => format!("integer {i}"),
        NodeKind::Float(f) => format!("float {f:?}"),
        NodeKind::Bool(b) => format!("boolean {b}"),
        NodeKind::Datetime(d) => format!("datetime {d}"),
    }
}
