//! The cluster's Ray against the spec's `[ray] version`: the spec is checked
//! again with the cluster's release as the target, and every new error, and
//! every default the spec relies on that differs there, is a BR383 error.
//! Also the removed overrides a Ray before 2.60 keeps in force (BR384).

use std::ops::Range;
use std::path::Path;

use super::diff::{Change, Diff};
use super::status::{table_name, table_path};
use crate::check::{self, Checked, NEWEST_RAY, OLDEST_RAY, RayVersion};
use crate::diagnostic::{Diagnostic, SourceFile, rules};
use crate::plan::Plan;
use crate::spec::ray::{RayOption, v};
use crate::spec::spanned::{Node, Segment};
use crate::spec::types::{BatchOptions, DeploymentOptions, HttpOptions, RayActorOptions};

/// Findings about running the spec on a cluster of Ray `cluster` (the
/// `ray_version` of `/api/version`).
pub fn verdicts(
    text: &str,
    root: &Node,
    checked: &Checked,
    plan: &Plan,
    cluster: &str,
    spec_dir: &Path,
) -> Vec<Diagnostic> {
    let target = checked.ray_version;
    let version_entry = root.get("ray").and_then(|r| r.entry("version"));
    let at = version_entry.map_or(checked.bento_span.clone(), |e| e.value.span.clone());
    let Some((major, minor)) = super::client::major_minor(cluster) else {
        return vec![
            Diagnostic::new(
                &rules::CLUSTER_RAY_UNKNOWN,
                format!("the cluster reports Ray `{cluster}`, which is not a release number"),
            )
            .at(at)
            .label(format!("the spec targets Ray {target}"))
            .help("bentoray cannot tell whether its verdicts hold there"),
        ];
    };
    let running = v(major, minor);
    if running == target {
        return Vec::new();
    }
    if !(OLDEST_RAY..=NEWEST_RAY).contains(&running) {
        return vec![
            Diagnostic::new(
                &rules::CLUSTER_RAY_UNKNOWN,
                format!(
                    "the cluster runs Ray {cluster}, which bentoray does not know (it knows {OLDEST_RAY} to {NEWEST_RAY})"
                ),
            )
            .at(at)
            .label(format!("the spec targets Ray {target}"))
            .help("options and defaults are checked for the spec's target only"),
        ];
    }
    let help = format!(
        "the spec targets Ray {target} ([ray] version) but the cluster runs {cluster}: set `version = \"{running}\"` under [ray] and fix what `bentoray check` then reports, or deploy to a Ray {target} cluster"
    );
    let mut out = Vec::new();
    let retargeted = retarget(text, root, running);
    if retargeted.is_none() {
        out.push(
            Diagnostic::new(
                &rules::CLUSTER_RAY_UNKNOWN,
                format!(
                    "the cluster runs Ray {cluster}, not the spec's target {target}, and bentoray cannot check the spec for it: `ray` is not written as a `[ray]` table"
                ),
            )
            .at(at.clone())
            .help("write `[ray]` as a table with `version = \"…\"` (or check with the cluster's release as the target)"),
        );
    }
    if let Some((retext, back)) = retargeted {
        let again = check::check_source(SourceFile::new("retargeted", retext), spec_dir);
        for d in again.report.diagnostics.iter().filter(|d| d.is_error()) {
            let span = d.span.clone().map_or(at.clone(), |s| back(s, &at));
            let mut diag = Diagnostic::new(
                &rules::CLUSTER_RAY_VERDICT,
                format!("on the cluster's Ray {running}: {}", d.message),
            )
            .at(span)
            .help(help.clone());
            if let Some(label) = &d.label {
                diag = diag.label(label.clone());
            }
            out.push(diag);
        }
    }
    for (option, differs) in defaults_relied_on(plan, target, running) {
        out.push(
            Diagnostic::new(
                &rules::CLUSTER_RAY_VERDICT,
                format!(
                    "`{}` is left to Ray's default, which is {} in Ray {target} but {} in the cluster's {running} ({})",
                    option.key,
                    option.availability.default_in(target).unwrap_or("unset"),
                    option.availability.default_in(running).unwrap_or("unset"),
                    differs.join(", ")
                ),
            )
            .at(at.clone())
            .label("the target Ray release")
            .help(format!("{help}; or set `{}` explicitly", option.key)),
        );
    }
    out
}

type SpanBack = Box<dyn Fn(Range<usize>, &Range<usize>) -> Range<usize>>;

/// The spec text with `[ray] version` set to `running`, and how to map a
/// span of it back to the original. `None` where the spec's `ray` is not a
/// plain table bentoray can add a line to.
fn retarget(text: &str, root: &Node, running: RayVersion) -> Option<(String, SpanBack)> {
    let literal = format!("\"{running}\"");
    let ray = root.entry("ray");
    if let Some(version) = ray.and_then(|r| r.value.entry("version")) {
        let old = version.value.span.clone();
        let new_len = literal.len();
        let retext = format!("{}{}{}", &text[..old.start], literal, &text[old.end..]);
        let back = move |s: Range<usize>, _: &Range<usize>| {
            let map = |p: usize| {
                if p <= old.start {
                    p
                } else if p < old.start + new_len {
                    old.start
                } else {
                    p + old.len() - new_len
                }
            };
            if s.start >= old.start && s.end <= old.start + new_len {
                old.clone()
            } else {
                map(s.start)..map(s.end)
            }
        };
        return Some((retext, Box::new(back)));
    }
    match ray {
        None => {
            let end = text.len();
            let retext = format!("{text}\n[ray]\nversion = {literal}\n");
            let back = move |s: Range<usize>, at: &Range<usize>| {
                if s.end > end { at.clone() } else { s }
            };
            Some((retext, Box::new(back)))
        }
        Some(entry) => {
            // `[ray]` on a line of its own: add the version right below it.
            let line_start = text[..entry.key_span.start]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_end = text[entry.key_span.end..]
                .find('\n')
                .map(|i| entry.key_span.end + i + 1)?;
            let header = text[line_start..line_end].trim();
            let rest = header.strip_prefix("[ray]")?.trim_start();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return None;
            }
            let insert = format!("version = {literal}\n");
            let n = insert.len();
            let retext = format!("{}{}{}", &text[..line_end], insert, &text[line_end..]);
            let back = move |s: Range<usize>, at: &Range<usize>| {
                let map = |p: usize| {
                    if p >= line_end + n {
                        p - n
                    } else {
                        p.min(line_end)
                    }
                };
                if s.start >= line_end && s.end <= line_end + n {
                    at.clone()
                } else {
                    map(s.start)..map(s.end)
                }
            };
            Some((retext, Box::new(back)))
        }
    }
}

/// Options the plan leaves to Ray's default where the default differs
/// between the two releases, with the tables that leave them unset.
fn defaults_relied_on(
    plan: &Plan,
    target: RayVersion,
    running: RayVersion,
) -> Vec<(&'static RayOption, Vec<String>)> {
    let differs = |o: &RayOption| {
        o.availability.exists_in(running)
            && o.availability.default_in(target) != o.availability.default_in(running)
    };
    let mut out = Vec::new();
    // Each option with the tables that leave it to Ray, if any do.
    let mut add = |o: &'static RayOption, unset: Vec<String>| {
        if !unset.is_empty() {
            out.push((o, unset));
        }
    };
    let units = &plan.entrypoint.units;
    let unit_table = |deployment: &str| {
        table_path(plan, deployment).map_or(format!("`{deployment}`"), |p| table_name(&p))
    };
    for o in DeploymentOptions::OPTIONS.iter().filter(|o| differs(o)) {
        let unset = units
            .iter()
            .filter(|u| !u.options.contains_key(o.key))
            .map(|u| unit_table(&u.deployment))
            .collect();
        add(o, unset);
    }
    for o in RayActorOptions::OPTIONS.iter().filter(|o| differs(o)) {
        let unset = units
            .iter()
            .filter(|u| {
                u.options
                    .get("ray_actor_options")
                    .and_then(|a| a.get(o.key))
                    .is_none()
            })
            .map(|u| unit_table(&u.deployment))
            .collect();
        add(o, unset);
    }
    for o in BatchOptions::OPTIONS.iter().filter(|o| differs(o)) {
        let unset = units
            .iter()
            .flat_map(|u| u.methods.iter().flatten().map(move |m| (u, m)))
            .filter(|(_, m)| m.batch.as_ref().is_some_and(|b| !b.contains_key(o.key)))
            .map(|(u, m)| format!("[batching.{}.{}]", u.name, m.name))
            .collect();
        add(o, unset);
    }
    if let Some(http) = plan.serve.http_options.as_ref() {
        for o in HttpOptions::OPTIONS.iter().filter(|o| differs(o)) {
            if http.get(o.key).is_none() {
                add(o, vec!["[ray.http_options]".to_string()]);
            }
        }
    }
    out
}

/// BR384 for every option the spec no longer sets that a Ray before 2.60
/// keeps at its deployed value.
pub fn stale_overrides(
    diff: &Diff,
    plan: &Plan,
    root: &Node,
    checked: &Checked,
) -> Vec<Diagnostic> {
    diff.stale_overrides()
        .filter_map(|(deployment, change)| {
            let Change::Removed {
                path,
                old,
                stays: Some(stays),
            } = change
            else {
                return None;
            };
            let table = table_path(plan, deployment);
            let entry = table.as_ref().and_then(|p| {
                let segments: Vec<Segment> = p.iter().cloned().map(Segment::Key).collect();
                root.entry_at_path(&segments)
            });
            let name = table
                .as_deref()
                .map_or(format!("`{deployment}`"), table_name);
            let span = entry.map_or(checked.bento_span.clone(), |e| e.key_span.clone());
            Some(
                Diagnostic::new(
                    &rules::REMOVED_OVERRIDE_STAYS,
                    format!(
                        "`{path}` is no longer set in {name}, but the cluster keeps it at {stays} (deployed as {old}): Ray before 2.60 does not restore removed options"
                    ),
                )
                .at(span)
                .label(format!("{name} configures `{deployment}`"))
                .help(format!(
                    "set `{path}` in {name} explicitly (to Ray's default to reset it), then deploy"
                )),
            )
        })
        .collect()
}
