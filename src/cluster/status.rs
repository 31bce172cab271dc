//! `bentoray status`: the application's and each deployment's state on the
//! cluster, and every failure as a diagnostic at the spec table that
//! configured the failing deployment. Pure functions of the live
//! `ServeInstanceDetails`, the plan and the spanned spec.

use std::fmt::Write as _;
use std::ops::Range;

use super::live::{LiveApplication, ServeInstance};
use crate::diagnostic::{Diagnostic, rules};
use crate::plan::{Plan, UnitRole};
use crate::spec::spanned::{Node, Segment};

/// Where the application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Running,
    /// Still deploying (or not started, or being deleted).
    Pending,
    /// `DEPLOY_FAILED` or `UNHEALTHY`.
    Failed,
    /// Not on the cluster.
    Missing,
}

/// One deployment's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeploymentLine {
    pub name: String,
    pub status: String,
    pub running: usize,
    pub target: Option<u64>,
    /// Distinct nodes its running replicas are on.
    pub nodes: usize,
    /// The spec table that configures it (`[runners.iris_clf]`).
    pub table: Option<String>,
}

/// `--format json` prints this object (plus `diagnostics`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub app: String,
    pub phase: Phase,
    pub app_status: Option<String>,
    pub deployments: Vec<DeploymentLine>,
}

pub fn phase_of(app: Option<&LiveApplication>) -> Phase {
    match app.map(|a| a.status.as_str()) {
        None => Phase::Missing,
        Some("RUNNING") => Phase::Running,
        Some("DEPLOY_FAILED" | "UNHEALTHY") => Phase::Failed,
        Some(_) => Phase::Pending,
    }
}

/// The spec table (as a path) that configures a Ray deployment of the plan.
pub fn table_path(plan: &Plan, deployment: &str) -> Option<Vec<String>> {
    let unit = plan
        .entrypoint
        .units
        .iter()
        .find(|u| u.deployment == deployment)?;
    Some(match unit.role {
        UnitRole::ApiServer => vec!["service".to_string()],
        UnitRole::Runner => vec!["runners".to_string(), unit.name.clone()],
        UnitRole::Service { .. } => vec!["services".to_string(), unit.name.clone()],
    })
}

/// `[runners.iris_clf]`, with TOML quoting where a key needs it.
pub fn table_name(path: &[String]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|p| {
            if !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                p.clone()
            } else {
                serde_json::to_string(p).unwrap_or_default()
            }
        })
        .collect();
    format!("[{}]", parts.join("."))
}

pub fn status(plan: &Plan, live: &ServeInstance) -> Status {
    let app_name = &plan.serve.application.name;
    let app = live.applications.get(app_name);
    let deployments = app
        .map(|a| {
            a.deployments
                .iter()
                .map(|(name, d)| {
                    let mut nodes: Vec<&str> = d
                        .replicas
                        .iter()
                        .filter(|r| r.state == "RUNNING")
                        .filter_map(|r| r.node_id.as_deref())
                        .collect();
                    nodes.sort_unstable();
                    nodes.dedup();
                    DeploymentLine {
                        name: name.clone(),
                        status: d.status.clone(),
                        running: d.running_replicas(),
                        target: d.target_num_replicas,
                        nodes: nodes.len(),
                        table: table_path(plan, name).map(|p| table_name(&p)),
                    }
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // In the plan's (the bento's) order; others after, as Ray lists them.
    let mut deployments = deployments;
    let rank = |d: &DeploymentLine| {
        plan.entrypoint
            .units
            .iter()
            .position(|u| u.deployment == d.name)
            .unwrap_or(usize::MAX)
    };
    deployments.sort_by_key(rank);
    Status {
        app: app_name.clone(),
        phase: phase_of(app),
        app_status: app.map(|a| a.status.clone()),
        deployments,
    }
}

/// The status as text (stdout), one line per deployment.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    match &s.app_status {
        None => {
            let _ = writeln!(out, "application `{}`: not deployed on this cluster", s.app);
        }
        Some(st) => {
            let _ = writeln!(out, "application `{}`: {st}", s.app);
        }
    }
    let width = s
        .deployments
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0);
    for d in &s.deployments {
        let target = d.target.map_or("?".to_string(), |t| t.to_string());
        let nodes = match d.nodes {
            0 => String::new(),
            1 => " on 1 node".to_string(),
            n => format!(" on {n} nodes"),
        };
        let table = d
            .table
            .as_deref()
            .map_or(String::new(), |t| format!("  {t}"));
        let _ = writeln!(
            out,
            "  {:<width$}  {:<9} {}/{} replicas{nodes}{table}",
            d.name, d.status, d.running, target
        );
    }
    out
}

/// A one-line summary for the progress display while waiting.
pub fn progress_line(s: &Status) -> String {
    let mut line = format!(
        "{}: {}",
        s.app,
        s.app_status.as_deref().unwrap_or("not deployed")
    );
    for d in &s.deployments {
        let target = d.target.map_or("?".to_string(), |t| t.to_string());
        let _ = write!(line, "  {} {}/{}", d.name, d.running, target);
    }
    line
}

/// What Ray says about deployments that are not healthy yet (e.g. replicas
/// that cannot be scheduled), each with the table that configures it.
pub fn pending_messages(plan: &Plan, live: &ServeInstance) -> Vec<String> {
    let Some(app) = live.applications.get(&plan.serve.application.name) else {
        return Vec::new();
    };
    let mut out: Vec<String> = app
        .deployments
        .iter()
        .filter(|(_, d)| d.status != "HEALTHY" && !d.message.trim().is_empty())
        .map(|(name, d)| {
            let table =
                table_path(plan, name).map_or(String::new(), |p| format!(" ({})", table_name(&p)));
            format!(
                "`{name}`{table} is {}: {}",
                d.status,
                one_line(&strip_ansi(&d.message))
            )
        })
        .collect();
    if out.is_empty() && !app.message.trim().is_empty() {
        out.push(format!(
            "`{}`: {}",
            plan.serve.application.name,
            one_line(&strip_ansi(&app.message))
        ));
    }
    out
}

fn one_line(text: &str) -> String {
    super::client::snippet(text, 600)
}

/// Every failure of the application as a diagnostic in the spec: a failed
/// deployment at the table that configured it (BR381), an application that
/// failed before its deployments existed at `[application]` (BR382). Ray's
/// message is the help text.
pub fn failures(
    plan: &Plan,
    live: &ServeInstance,
    root: &Node,
    bento_span: Range<usize>,
) -> Vec<Diagnostic> {
    let app_name = &plan.serve.application.name;
    let Some(app) = live.applications.get(app_name) else {
        return Vec::new();
    };
    if phase_of(Some(app)) != Phase::Failed {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, d) in &app.deployments {
        if !matches!(d.status.as_str(), "UNHEALTHY" | "DEPLOY_FAILED") {
            continue;
        }
        let path = table_path(plan, name);
        let entry = path.as_ref().and_then(|p| {
            let segments: Vec<Segment> = p.iter().cloned().map(Segment::Key).collect();
            root.entry_at_path(&segments)
        });
        let table = path.as_deref().map(table_name);
        let mut diag = Diagnostic::new(
            &rules::DEPLOYMENT_FAILED,
            format!(
                "deployment `{name}` of application `{app_name}` is {} on the cluster",
                d.status
            ),
        );
        diag = match (entry, &table) {
            (Some(e), Some(t)) => diag
                .at(e.key_span.clone())
                .label(format!("{t} configures `{name}`")),
            (None, Some(t)) => diag.at(bento_span.clone()).label(format!(
                "`{name}` comes from this bento; the spec has no {t} table, so it runs with Ray's defaults"
            )),
            (None, None) => diag.at(bento_span.clone()).label(format!(
                "`{name}` is not a deployment of this spec's plan (was the bento rebuilt?)"
            )),
            (Some(_), None) => unreachable!("an entry implies a path"),
        };
        out.push(diag.help(ray_says(&d.message)));
    }
    if out.is_empty() {
        let entry = root.entry("application");
        let diag = Diagnostic::new(
            &rules::APPLICATION_FAILED,
            format!(
                "application `{app_name}` is {} on the cluster before any deployment failed",
                app.status
            ),
        );
        let diag = match entry {
            Some(e) => diag
                .at(e.key_span.clone())
                .label("[application] configures it"),
            None => diag
                .at(bento_span)
                .label("this bento's application (the spec has no [application] table)"),
        };
        out.push(diag.help(ray_says(&app.message)));
    }
    out
}

/// Ray's message for the help text: the first line and, for a traceback,
/// its last lines (where the exception is), with a cap.
fn ray_says(message: &str) -> String {
    let plain = strip_ansi(message);
    let lines: Vec<&str> = plain.trim().lines().collect();
    let text = if lines.len() > 14 {
        format!("{}\n…\n{}", lines[0], lines[lines.len() - 12..].join("\n"))
    } else {
        lines.join("\n")
    };
    let text = if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    };
    format!("Ray says: {}", super::client::snippet_lines(&text, 4000))
}

/// `text` without ANSI escape sequences (Ray colours its tracebacks) and
/// other control characters but line breaks.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, then one final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else if c == '\n' || !c.is_control() {
            out.push(c);
        } else if c == '\t' {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            super::strip_ansi("\x1b[36mray::X\x1b[39m (pid=1)\r\nnext\tline"),
            "ray::X (pid=1)\nnext line"
        );
    }
}
