//! `bentoray plan`: renders a plan's resolved options, each with its source,
//! as a table per deployment (human) or as the documented JSON document.
//! Reads only the plan.

use serde_json::{Value, json};

use crate::plan::{Plan, Resolved, Source, UnitPlan, UnitRole};

fn role(unit: &UnitPlan) -> &'static str {
    match unit.role {
        UnitRole::ApiServer => "API server",
        UnitRole::Runner => "runner",
        UnitRole::Service { entry: true } => "entry service",
        UnitRole::Service { entry: false } => "service",
    }
}

/// `16`, `"PACK"`: values as JSON, compact.
fn value_text(value: &Value) -> String {
    value.to_string()
}

/// Text from the bento (a source file's name) with control characters
/// escaped, so a table line is one terminal line.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn source_text(source: &Source) -> String {
    printable(&match source {
        Source::Spec { overrides: None } => "spec".into(),
        Source::Spec { overrides: Some(b) } => {
            format!("spec (over the bento's {} in {})", b.setting, b.from)
        }
        Source::Bento { setting } => format!("bento: {} ({})", setting.setting, setting.from),
        Source::RayDefault { release } => format!("Ray {release} default"),
    })
}

/// The batching rows of each batched method, or the spec's tables as they
/// are where the methods are not known (custom runnables).
fn batching(unit: &UnitPlan) -> Vec<(String, Vec<Resolved>)> {
    match &unit.methods {
        Some(methods) => methods
            .iter()
            .filter(|m| m.batch.is_some())
            .map(|m| (m.name.clone(), m.batch_resolved.clone()))
            .collect(),
        None => unit
            .batching
            .iter()
            .map(|(method, options)| {
                let rows = options
                    .iter()
                    .map(|(k, v)| Resolved {
                        option: k.clone(),
                        value: v.clone(),
                        source: Source::Spec { overrides: None },
                    })
                    .collect();
                (method.clone(), rows)
            })
            .collect(),
    }
}

fn table(out: &mut String, indent: &str, rows: &[Resolved]) {
    let option_width = rows
        .iter()
        .map(|r| r.option.chars().count())
        .chain(["option".len()])
        .max()
        .unwrap_or(0);
    let values: Vec<String> = rows.iter().map(|r| value_text(&r.value)).collect();
    let value_width = values
        .iter()
        .map(|v| v.chars().count())
        .chain(["value".len()])
        .max()
        .unwrap_or(0);
    out.push_str(&format!(
        "{indent}{:<option_width$}  {:<value_width$}  source\n",
        "option", "value"
    ));
    for (row, value) in rows.iter().zip(&values) {
        out.push_str(&format!(
            "{indent}{:<option_width$}  {:<value_width$}  {}\n",
            row.option,
            value,
            source_text(&row.source)
        ));
    }
}

/// One block per deployment: option, value, source.
pub fn human(plan: &Plan) -> String {
    let kind = match plan.entrypoint.bento_kind {
        crate::bento::BentoKind::Runners => "runners",
        crate::bento::BentoKind::Services => "new-style services",
    };
    let mut out = format!(
        "Plan of {} for bento {} ({kind}) on Ray {}\n",
        printable(&plan.spec_name),
        plan.bento_tag,
        plan.ray_version
    );
    out.push_str("\nCluster-wide http_options\n");
    table(&mut out, "  ", &plan.http_options);
    for unit in &plan.entrypoint.units {
        out.push_str(&format!(
            "\n{} `{}`: deployment `{}`\n",
            role(unit),
            printable(&unit.name),
            printable(&unit.deployment)
        ));
        table(&mut out, "  ", &unit.resolved);
        for (method, rows) in batching(unit) {
            out.push_str(&format!(
                "  batching of `{}` (serve.batch)\n",
                printable(&method)
            ));
            table(&mut out, "    ", &rows);
        }
    }
    out
}

fn rows_json(rows: &[Resolved]) -> Value {
    serde_json::to_value(rows).unwrap_or(Value::Null)
}

/// The documented JSON document (see the README's `bentoray plan`).
pub fn json(plan: &Plan, diagnostics: Value) -> Value {
    let deployments: Vec<Value> = plan
        .entrypoint
        .units
        .iter()
        .map(|unit| {
            let batching: Vec<Value> = batching(unit)
                .into_iter()
                .map(|(method, rows)| json!({"method": method, "options": rows_json(&rows)}))
                .collect();
            json!({
                "name": unit.name,
                "deployment": unit.deployment,
                "role": role(unit),
                "options": rows_json(&unit.resolved),
                "batching": batching,
            })
        })
        .collect();
    json!({
        "spec": plan.spec_name,
        "bento": plan.bento_tag,
        "bento_kind": plan.entrypoint.bento_kind,
        "ray_version": plan.ray_version,
        "http_options": rows_json(&plan.http_options),
        "deployments": deployments,
        "diagnostics": diagnostics,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::printable("src/a\nb.py:3"), "src/a\\nb.py:3");
        assert_eq!(super::printable("\u{1b}[31m"), "\\u{1b}[31m");
        assert_eq!(super::printable("plain é"), "plain é");
    }
}
