//! Version rules: every option (and version-dependent value) in the spec is
//! checked against the target Ray release using the option tables declared
//! in `spec::types`.

use crate::diagnostic::{Diagnostic, rules};
use crate::spec::ray::{OptionTable, RayVersion, VALUE_FEATURES};
use crate::spec::spanned::{Node, NodeKind, Segment, dotted};
use crate::spec::types::find_option;

/// An option table present in the spec.
pub struct TableRef<'a> {
    pub table: OptionTable,
    pub node: &'a Node,
    pub path: Vec<Segment>,
}

impl TableRef<'_> {
    /// `[runners.iris_clf.autoscaling_config]`.
    pub fn name(&self) -> String {
        format!("[{}]", dotted(&self.path))
    }
}

fn key(k: &str) -> Segment {
    Segment::Key(k.to_string())
}

/// Every option table in the spec, with its kind and path.
pub fn option_tables<'a>(root: &'a Node) -> Vec<TableRef<'a>> {
    let mut out = Vec::new();
    let mut push = |table, node: &'a Node, path: Vec<Segment>| {
        if matches!(node.kind, NodeKind::Table(_)) {
            out.push(TableRef { table, node, path });
        }
    };
    if let Some(ray) = root.get("ray") {
        push(OptionTable::Ray, ray, vec![key("ray")]);
        if let Some(h) = ray.get("http_options") {
            push(
                OptionTable::HttpOptions,
                h,
                vec![key("ray"), key("http_options")],
            );
        }
        if let Some(l) = ray.get("logging_config") {
            push(
                OptionTable::Logging,
                l,
                vec![key("ray"), key("logging_config")],
            );
        }
    }
    if let Some(app) = root.get("application") {
        push(OptionTable::Application, app, vec![key("application")]);
        if let Some(l) = app.get("logging_config") {
            push(
                OptionTable::Logging,
                l,
                vec![key("application"), key("logging_config")],
            );
        }
    }
    let runtime_env_at =
        |parent: &'a Node, path: &[Segment]| -> Vec<(OptionTable, &'a Node, Vec<Segment>)> {
            let mut found = Vec::new();
            let Some(env) = parent.get("runtime_env") else {
                return found;
            };
            let mut env_path = path.to_vec();
            env_path.push(key("runtime_env"));
            for (name, table) in [
                ("pip", OptionTable::RuntimeEnvPip),
                ("uv", OptionTable::RuntimeEnvUv),
                ("config", OptionTable::RuntimeEnvConfig),
            ] {
                if let Some(child) = env.get(name) {
                    let mut p = env_path.clone();
                    p.push(key(name));
                    found.push((table, child, p));
                }
            }
            found.insert(0, (OptionTable::RuntimeEnv, env, env_path));
            found
        };
    if let Some(app) = root.get("application") {
        for (table, node, path) in runtime_env_at(app, &[key("application")]) {
            push(table, node, path);
        }
    }
    let mut deployments: Vec<(&Node, Vec<Segment>)> = Vec::new();
    if let Some(service) = root.get("service") {
        deployments.push((service, vec![key("service")]));
    }
    for section in ["runners", "services"] {
        for unit in root.get(section).map(Node::entries).unwrap_or_default() {
            deployments.push((&unit.value, vec![key(section), key(&unit.key)]));
        }
    }
    for (node, path) in deployments {
        push(OptionTable::Deployment, node, path.clone());
        for (name, table) in [
            ("ray_actor_options", OptionTable::ActorOptions),
            ("autoscaling_config", OptionTable::Autoscaling),
            ("logging_config", OptionTable::Logging),
        ] {
            if let Some(child) = node.get(name) {
                let mut p = path.clone();
                p.push(key(name));
                push(table, child, p.clone());
                if table == OptionTable::ActorOptions {
                    for (table, node, path) in runtime_env_at(child, &p) {
                        push(table, node, path);
                    }
                }
            }
        }
    }
    for runner in root.get("batching").map(Node::entries).unwrap_or_default() {
        for method in runner.value.entries() {
            push(
                OptionTable::Batching,
                &method.value,
                vec![key("batching"), key(&runner.key), key(&method.key)],
            );
        }
    }
    out
}

/// Reports options (and values) that the target release does not have.
pub fn check(root: &Node, target: RayVersion, diags: &mut Vec<Diagnostic>) {
    // Tables inside an option that is already reported are not reported again.
    let mut reported: Vec<Vec<Segment>> = Vec::new();
    for table in option_tables(root) {
        if reported.iter().any(|r| table.path.starts_with(r)) {
            continue;
        }
        for entry in table.node.entries() {
            let Some(option) = find_option(table.table, &entry.key) else {
                continue; // unknown keys are the schema's business
            };
            let a = option.availability;
            // `[service] route_prefix` is lowered to the application for every
            // release (BR307), so it never reaches Ray at deployment level.
            let lowered = table.table == OptionTable::Deployment && entry.key == "route_prefix";
            if a.bentoray_only || lowered || a.exists_in(target) {
                if let Some(text) = entry.value.as_str() {
                    value_feature(table.table, &entry.key, text, entry, target, diags);
                }
                continue;
            }
            let place = format!("`{}` in {}", entry.key, table.name());
            let mut path = table.path.clone();
            path.push(key(&entry.key));
            reported.push(path);
            if target < a.since {
                diags.push(
                    Diagnostic::new(
                        &rules::OPTION_TOO_NEW,
                        format!(
                            "{place} requires Ray ≥ {}, but the target is Ray {target}",
                            a.since
                        ),
                    )
                    .at(entry.key_span.clone())
                    .label(format!("new in Ray {}", a.since))
                    .help(format!(
                        "set `[ray] version` to {} or later if the cluster runs it, or remove `{}`",
                        a.since, entry.key
                    )),
                );
            } else if let Some(last) = a.until {
                let help = match a.replaced_by {
                    Some(new) if new.starts_with('[') => format!("use {new} instead"),
                    Some(new) => format!("use `{new}` instead (same meaning)"),
                    None => format!("remove `{}`: Ray has no replacement", entry.key),
                };
                let mut d = Diagnostic::new(
                    &rules::REMOVED_OPTION,
                    format!(
                        "{place} was removed after Ray {last}; Ray {target} would silently ignore it"
                    ),
                )
                .at(entry.key_span.clone())
                .label(match a.replaced_by {
                    Some(new) => format!("removed; use `{}`", new.trim_start_matches("[application] ")),
                    None => "removed".to_string(),
                })
                .help(help);
                // A rename in the same table is a fix (unless the new name is
                // there too, which renaming would define twice).
                if let Some(new) = a.replaced_by.filter(|n| !n.starts_with('['))
                    && table.node.get(new).is_none()
                {
                    d = d.suggest(entry.key_span.clone(), new);
                }
                diags.push(d);
            }
        }
    }
}

fn value_feature(
    table: OptionTable,
    key: &str,
    value: &str,
    entry: &crate::spec::spanned::Entry,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    for f in VALUE_FEATURES {
        if f.table == table && f.key == key && f.value == value && !f.availability.exists_in(target)
        {
            diags.push(
                Diagnostic::new(
                    &rules::OPTION_TOO_NEW,
                    format!(
                        "`{key} = \"{value}\"` requires Ray ≥ {}, but the target is Ray {target}",
                        f.availability.since
                    ),
                )
                .at(entry.value.span.clone())
                .label(format!("new in Ray {}", f.availability.since))
                .help(format!(
                    "set `[ray] version` to {} or later if the cluster runs it, or use another value",
                    f.availability.since
                )),
            );
        }
    }
}
