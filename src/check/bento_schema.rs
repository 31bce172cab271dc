//! The JSON Schema specialised to one bento (`bentoray schema --for SPEC`):
//! the generic schema with the bento's runners or services, and their
//! batchable methods or APIs, as known properties (`additionalProperties:
//! false`), each described in Markdown from the bento (runnable type or
//! service, methods, batchable, batch_dim, the bento's own defaults), so an
//! editor completes them and flags a misspelled one, as `bentoray check`
//! does.
//!
//! Invariant: deterministic (bento order, no paths of this machine), and a
//! spec `bentoray check` accepts is valid under it.

use serde_json::{Map, Value, json};

use crate::bento::{Bento, BentoKind, Method, Unit, UnitKind};
use crate::spec::types;

const DEPLOYMENT_OPTIONS: &str = "#/definitions/DeploymentOptions";
const BATCH_OPTIONS: &str = "#/definitions/BatchOptions";

/// The committed schema, specialised to `bento`.
pub fn for_bento(bento: &Bento) -> Value {
    let mut schema = types::committed_schema();
    let Value::Object(root) = &mut schema else {
        return schema;
    };
    root.insert(
        "$id".into(),
        Value::String(format!("{}:{}", types::SCHEMA_ID, bento.tag())),
    );
    root.insert(
        "title".into(),
        Value::String(format!("bentoray.toml for bento {}", bento.tag())),
    );
    let Some(Value::Object(props)) = root.get_mut("properties") else {
        return schema;
    };
    let (section, other) = match bento.kind {
        BentoKind::Runners => ("runners", "services"),
        BentoKind::Services => ("services", "runners"),
    };
    let noun = bento.kind.unit_noun();

    let units: Map<String, Value> = bento
        .keyed_units()
        .map(|u| {
            (
                u.name.clone(),
                json!({
                    "description": unit_doc(bento, u),
                    "allOf": [{"$ref": DEPLOYMENT_OPTIONS}],
                }),
            )
        })
        .collect();
    let names: Vec<String> = bento.keyed_units().map(|u| code(&u.name)).collect();
    let generic = description(props, section);
    props.insert(
        section.into(),
        json!({
            "type": "object",
            "description": format!(
                "{generic}\n\nBento `{}` has {} {noun}s: {}.",
                bento.tag(),
                names.len(),
                names.join(", ")
            ),
            "properties": units,
            "additionalProperties": false,
        }),
    );
    let generic = description(props, other);
    props.insert(
        other.into(),
        json!({
            "type": "object",
            "description": format!(
                "{generic}\n\nNot for bento `{}`, which is configured with `[{section}.<{noun}>]`.",
                bento.tag()
            ),
            "additionalProperties": false,
        }),
    );
    if bento.kind == BentoKind::Services {
        let generic = description(props, "service");
        props.insert(
            "service".into(),
            json!({
                "type": "object",
                "description": format!(
                    "{generic}\n\nNot for bento `{}`, a new-style bento: its services are `[services.<service>]`.",
                    bento.tag()
                ),
                "additionalProperties": false,
            }),
        );
    } else if let Some(api_server) = bento.units.iter().find(|u| u.kind == UnitKind::ApiServer) {
        props.insert(
            "service".into(),
            json!({
                "description": unit_doc(bento, api_server),
                "allOf": [{"$ref": DEPLOYMENT_OPTIONS}],
            }),
        );
    }

    let mut batching = Map::new();
    for unit in bento.keyed_units() {
        let Some(methods) = unit.methods.as_deref() else {
            batching.insert(
                unit.name.clone(),
                json!({
                    "type": "object",
                    "description": format!(
                        "Batching of {noun} `{}`, whose {}s bentoray cannot know ({}).",
                        unit.name,
                        bento.kind.method_noun(),
                        unit.methods_from
                    ),
                    "additionalProperties": {"$ref": BATCH_OPTIONS},
                }),
            );
            continue;
        };
        // Only batchable callables can be configured (or ones whose
        // `batchable` is not a literal: bentoray warns there).
        let batchable: Map<String, Value> = methods
            .iter()
            .filter(|m| m.batchable != Some(false))
            .map(|m| {
                (
                    m.name.clone(),
                    json!({
                        "description": method_doc(bento, unit, m),
                        "allOf": [{"$ref": BATCH_OPTIONS}],
                    }),
                )
            })
            .collect();
        if batchable.is_empty() {
            continue;
        }
        let listed: Vec<String> = batchable.keys().map(|k| code(k)).collect();
        batching.insert(
            unit.name.clone(),
            json!({
                "type": "object",
                "description": format!(
                    "Batching of {noun} `{}`: its batchable {}s are {}.",
                    unit.name,
                    bento.kind.method_noun(),
                    listed.join(", ")
                ),
                "properties": batchable,
                "additionalProperties": false,
            }),
        );
    }
    let generic = description(props, "batching");
    props.insert(
        "batching".into(),
        json!({
            "type": "object",
            "description": generic,
            "properties": batching,
            "additionalProperties": false,
        }),
    );
    schema
}

fn description(props: &Map<String, Value>, key: &str) -> String {
    props
        .get(key)
        .and_then(|p| p.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Inline code whose fence no backtick inside can close.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Markdown hover text of a unit's table.
fn unit_doc(bento: &Bento, unit: &Unit) -> String {
    let mut lines = Vec::new();
    let (noun, title) = match &unit.kind {
        UnitKind::ApiServer => (
            "APIs",
            format!(
                "**API server** of Service {}, deployment {}.",
                code(&bento.service_name),
                code(&format!("bento-svc-{}", bento.service_name))
            ),
        ),
        UnitKind::Runner { runnable_type, .. } => (
            "Methods",
            format!(
                "**Runner {}** ({}), deployment {}.",
                code(&unit.name),
                code(runnable_type),
                code(&format!("bento-runner-{}", unit.name))
            ),
        ),
        UnitKind::Service { entry } => (
            "APIs",
            format!(
                "**Service {}**{}.",
                code(&unit.name),
                if *entry {
                    " (the entry service: the HTTP ingress)"
                } else {
                    ""
                }
            ),
        ),
    };
    lines.push(title);
    match unit.methods.as_deref() {
        Some([]) => lines.push(format!("{noun}: none.")),
        Some(methods) => {
            let listed: Vec<String> = methods.iter().map(method_summary).collect();
            lines.push(format!("{noun}: {}.", listed.join(", ")));
        }
        None => lines.push(format!("{noun}: unknown ({}).", unit.methods_from)),
    }
    if !unit.models.is_empty() {
        let models: Vec<String> = unit.models.iter().map(|m| code(m)).collect();
        lines.push(format!("Models: {}.", models.join(", ")));
    }
    let config: Vec<String> = unit
        .config
        .iter()
        .map(|(key, sourced)| match &sourced.value {
            Some(v) => format!("`{key}` = {} ({})", code(&v.to_string()), sourced.from),
            None => format!("`{key}` not a literal ({})", sourced.from),
        })
        .collect();
    if !config.is_empty() {
        lines.push(format!("From the bento: {}.", config.join("; ")));
    }
    let dependencies: Vec<String> = unit
        .dependencies
        .iter()
        .filter_map(|d| d.service.as_deref().or(d.url.as_deref()).map(code))
        .collect();
    if !dependencies.is_empty() {
        lines.push(format!("Depends on: {}.", dependencies.join(", ")));
    }
    lines.push("Ray Serve deployment options of this deployment.".into());
    lines.join("\n\n")
}

/// What a method is: batchable, batch_dim, task, streaming.
fn traits(m: &Method) -> Vec<String> {
    let mut traits = Vec::new();
    match m.batchable {
        Some(true) => traits.push("batchable".to_string()),
        Some(false) => {}
        None => traits.push("batchable not a literal".to_string()),
    }
    if let Some((i, o)) = m.batch_dim
        && m.batchable == Some(true)
    {
        traits.push(format!("batch_dim ({i}, {o})"));
    }
    if m.task {
        traits.push("task".into());
    }
    if m.streaming {
        traits.push("streaming".into());
    }
    traits
}

/// `predict` (batchable, batch_dim (0, 0)).
fn method_summary(m: &Method) -> String {
    let traits = traits(m);
    if traits.is_empty() {
        code(&m.name)
    } else {
        format!("{} ({})", code(&m.name), traits.join(", "))
    }
}

/// Markdown hover text of a `[batching.<unit>.<method>]` table.
fn method_doc(bento: &Bento, unit: &Unit, m: &Method) -> String {
    let mut lines = vec![format!(
        "**{}**: {}. Source: {}.",
        code(&format!("{}.{}", unit.name, m.name)),
        traits(m).join(", "),
        m.origin
    )];
    let defaults: Vec<String> = [
        m.max_batch_size
            .as_ref()
            .map(|s| ("max_batch_size", s.value.map(|v| v.to_string()), &s.from)),
        m.max_latency_ms
            .as_ref()
            .map(|s| ("max_latency_ms", s.value.map(|v| v.to_string()), &s.from)),
    ]
    .into_iter()
    .flatten()
    .map(|(key, value, from)| match value {
        Some(v) => format!("`{key}` = {v} ({from})"),
        None => format!("`{key}` not a literal ({from})"),
    })
    .collect();
    if !defaults.is_empty() {
        lines.push(format!("The bento's defaults: {}.", defaults.join("; ")));
    }
    lines.push(match bento.kind {
        BentoKind::Runners => {
            "`serve.batch` options of this method; they take effect with `enable_batching = true`."
                .to_string()
        }
        BentoKind::Services => {
            "`serve.batch` options of this API, over what its decorator declares.".to_string()
        }
    });
    lines.join("\n\n")
}
