//! runtime_env rules: what Ray Serve does with a `runtime_env` beyond its
//! types (which the schema checks). `working_dir` and `py_modules` must be
//! URIs of the target release (the serve config schema), remote packages must
//! be archives and fields that exclude each other must not meet (Ray's
//! `RuntimeEnv`, when the controller starts the build task and the replicas).
//! A replica runs in the application's runtime_env with its own keys on top,
//! so exclusions are checked on that merge. Facts: `spec::ray::uri`.

use crate::diagnostic::{Diagnostic, rules};
use crate::spec::ray::{RayVersion, uri};
use crate::spec::spanned::{Entry, Node, NodeKind};

/// Runs the runtime_env rules for the application and every deployment.
pub fn check(root: &Node, target: RayVersion, diags: &mut Vec<Diagnostic>) {
    let app_env = root
        .get("application")
        .and_then(|a| a.get("runtime_env"))
        .filter(|n| matches!(n.kind, NodeKind::Table(_)));
    if let Some(env) = app_env {
        env_rules(env, None, "[application] runtime_env", target, diags);
    }
    let mut deployments: Vec<(String, &Node)> = Vec::new();
    if let Some(service) = root.get("service") {
        deployments.push(("[service]".into(), service));
    }
    for section in ["runners", "services"] {
        for unit in root.get(section).map(Node::entries).unwrap_or_default() {
            deployments.push((format!("[{section}.{}]", unit.key), &unit.value));
        }
    }
    for (name, deployment) in deployments {
        let env = deployment
            .get("ray_actor_options")
            .and_then(|a| a.get("runtime_env"))
            .filter(|n| matches!(n.kind, NodeKind::Table(_)));
        if let Some(env) = env {
            let place = format!("the runtime_env of {name}");
            env_rules(env, app_env, &place, target, diags);
        }
    }
}

fn env_rules(
    env: &Node,
    parent: Option<&Node>,
    place: &str,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(dir) = env.entry("working_dir")
        && let Some(value) = dir.value.as_str()
    {
        uri_rule(value, &dir.value, "working_dir", target, diags);
    }
    if let Some(modules) = env.get("py_modules")
        && let NodeKind::Array(items) = &modules.kind
    {
        for item in items {
            if let Some(value) = item.as_str() {
                uri_rule(value, item, "py_modules", target, diags);
            }
        }
    }
    for table in ["pip", "uv"] {
        if let Some(entry) = env.entry(table)
            && matches!(entry.value.kind, NodeKind::Table(_))
            && entry.value.get("packages").is_none()
        {
            diags.push(
                Diagnostic::new(
                    &rules::MISSING_KEY,
                    format!("the `{table}` table of {place} has no `packages`"),
                )
                .at(entry.value.span.clone())
                .label("`packages` is required")
                .help(format!(
                    "add `packages = [\"…\"]` (Ray rejects a `{table}` table without it)"
                )),
            );
        }
    }
    conflict_rules(env, parent, place, target, diags);
}

/// The keys a process started with `env` on top of `parent` sees, each with
/// the entry that set it (the child's wins, as in Ray's
/// `override_runtime_envs_except_env_vars`).
fn merged<'a>(env: &'a Node, parent: Option<&'a Node>) -> Vec<(&'a Entry, bool)> {
    let mut keys: Vec<(&Entry, bool)> = env.entries().iter().map(|e| (e, true)).collect();
    for e in parent.map(Node::entries).unwrap_or_default() {
        if env.entry(&e.key).is_none() {
            keys.push((e, false));
        }
    }
    keys
}

fn conflict_rules(
    env: &Node,
    parent: Option<&Node>,
    place: &str,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    let keys = merged(env, parent);
    let from = |own: bool| {
        if own {
            ""
        } else {
            " (from [application] runtime_env)"
        }
    };
    // Report at a key this table wrote; one that is only inherited was
    // reported with the application.
    let managers: Vec<&(&Entry, bool)> = keys
        .iter()
        .filter(|(e, _)| e.key == "pip" || e.key == "conda" || (e.key == "uv" && target >= uri::UV))
        .collect();
    if managers.len() > 1
        && let Some((at, _)) = managers.iter().rev().find(|(_, own)| *own)
    {
        let names: Vec<String> = managers
            .iter()
            .map(|(e, own)| format!("`{}`{}", e.key, from(*own)))
            .collect();
        diags.push(
            Diagnostic::new(
                &rules::RUNTIME_ENV_CONFLICT,
                format!("{place} sets {}: Ray allows only one", names.join(" and ")),
            )
            .at(at.key_span.clone())
            .label("second package manager")
            .help("keep one of `pip`, `conda` and `uv`; to use pip inside conda, list the pip packages in the conda environment's `dependencies`"),
        );
    }
    for image in ["image_uri", "container"] {
        let Some((image_entry, own)) = keys.iter().find(|(e, _)| e.key == image) else {
            continue;
        };
        if !own {
            continue;
        }
        let with_env_vars = target >= uri::IMAGE_WITH_ENV_VARS;
        let mut others: Vec<String> = keys
            .iter()
            .filter(|(e, _)| {
                e.key != image && e.key != "config" && (with_env_vars || e.key != "env_vars")
            })
            .map(|(e, own)| format!("`{}`{}", e.key, from(*own)))
            .collect();
        if !with_env_vars && !keys.iter().any(|(e, _)| e.key == "env_vars") {
            others.push("`env_vars` (bentoray always writes the entrypoint hash there)".into());
        }
        if others.is_empty() {
            continue;
        }
        let allowed = if with_env_vars {
            "`config` and `env_vars`"
        } else {
            "`config` (and `env_vars` from Ray 2.40)"
        };
        diags.push(
            Diagnostic::new(
                &rules::RUNTIME_ENV_CONFLICT,
                format!(
                    "`{image}` in {place} cannot be combined with {} on Ray {target}",
                    others.join(", ")
                ),
            )
            .at(image_entry.key_span.clone())
            .label(format!("only with {allowed}"))
            .help(if with_env_vars {
                format!("Ray runs the worker inside the image, so it allows only {allowed} beside `{image}`: bake the rest into the image")
            } else {
                format!("Ray {target} allows only `config` beside `{image}`, but the serve config always carries `env_vars`: target Ray 2.40 or later (`[ray] version`), or bake the environment into the cluster's image")
            }),
        );
    }
}

/// Reports a `working_dir` / `py_modules` value that the target's serve
/// config rejects.
fn uri_rule(
    value: &str,
    node: &Node,
    field: &str,
    target: RayVersion,
    diags: &mut Vec<Diagnostic>,
) {
    let Some((problem, label, help)) = uri_problem(value, field, target) else {
        return;
    };
    diags.push(
        Diagnostic::new(
            &rules::RUNTIME_ENV_URI,
            format!("`{field}` {value:?} {problem}"),
        )
        .at(node.span.clone())
        .label(label)
        .help(help),
    );
}

/// Why Ray `target` rejects `value` as a `working_dir` (or `py_modules`
/// entry) in a serve config: `(problem, label, help)`.
fn uri_problem(value: &str, field: &str, target: RayVersion) -> Option<(String, String, String)> {
    let py_modules = field == "py_modules";
    let local_since = scheme_since("local").unwrap_or(target);
    let package_help = if py_modules {
        "upload the module as a `.zip` or `.whl` package and give its URI, e.g. `s3://bucket/mylib.zip`"
    } else {
        "upload the directory (with the generated module) as a `.zip` and give its URI, e.g. `s3://bucket/out.zip`, or put the module on every node's PYTHONPATH"
    };
    let local_hint = if target >= local_since {
        format!(
            "; for a directory already on every node write `local:///abs/dir` (Ray {local_since}+)"
        )
    } else {
        format!(
            "; `local:///abs/dir` for a directory already on every node needs Ray {local_since}+"
        )
    };
    let Some(scheme) = scheme_of(value) else {
        return Some((
            "is a local path; serve configs take only URIs here".into(),
            "a path, not a URI".into(),
            format!(
                "Ray rejects local paths in a serve config's runtime_env (`serve deploy` sends no files): {package_help}{local_hint}"
            ),
        ));
    };
    let known: Vec<&str> = uri::SCHEMES
        .iter()
        .filter(|(_, since)| *since <= target)
        .map(|(s, _)| *s)
        .collect();
    match scheme_since(&scheme) {
        None => {
            return Some((
                format!("has the scheme `{scheme}://`, which Ray does not know"),
                "unknown URI scheme".into(),
                format!(
                    "Ray {target} takes {}: {package_help}",
                    schemes_list(&known)
                ),
            ));
        }
        Some(since) if since > target => {
            return Some((
                format!("needs Ray ≥ {since} (`{scheme}://` URIs), but the target is Ray {target}"),
                format!("new in Ray {since}"),
                format!(
                    "set `[ray] version` to {since} or later if the cluster runs it; Ray {target} takes {}",
                    schemes_list(&known)
                ),
            ));
        }
        Some(_) => {}
    }
    let path = value.split(['?', '#']).next().unwrap_or(value);
    if scheme == "local" {
        let rest = value
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("local://"))
            .map(|_| &value[8..]);
        let problem = match rest {
            None => Some("must start with `local://`"),
            Some(p) if !p.starts_with('/') => {
                Some("must name an absolute path (`local:///abs/dir`)")
            }
            Some(p) if uri::LOCAL_NOT_ARCHIVE.iter().any(|ext| p.ends_with(ext)) => Some(
                "must name a directory, not an archive (a `local://` directory is used in place)",
            ),
            Some(_) => None,
        }?;
        return Some((
            problem.to_string(),
            "invalid local:// URI".into(),
            "write `local:///abs/dir` for a directory that exists on every node (e.g. baked into the image)".into(),
        ));
    }
    if uri::is_remote(&scheme, target) {
        let extensions = uri::extensions(py_modules, target);
        if !extensions.iter().any(|ext| path.ends_with(ext)) {
            return Some((
                format!(
                    "is not a package: Ray {target} takes only {} files for remote `{field}` URIs",
                    extensions.join(", ")
                ),
                "not an archive".into(),
                package_help.to_string(),
            ));
        }
    }
    None
}

/// The URI scheme as Python's `urlparse` finds it (lowercased), or `None`
/// for a plain path.
fn scheme_of(value: &str) -> Option<String> {
    let (scheme, _) = value.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

fn scheme_since(scheme: &str) -> Option<RayVersion> {
    uri::SCHEMES
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, since)| *since)
}

fn schemes_list(schemes: &[&str]) -> String {
    schemes
        .iter()
        .map(|s| format!("`{s}://`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::uri_problem;
    use crate::spec::ray::v;

    fn rejected(value: &str, field: &str, major: u32, minor: u32) -> bool {
        uri_problem(value, field, v(major, minor)).is_some()
    }

    #[test]
    fn paths_are_never_uris() {
        for path in ["./out", "/abs/out", "out", "../lib", "C"] {
            assert!(rejected(path, "working_dir", 2, 60), "{path}");
            assert!(rejected(path, "py_modules", 2, 31), "{path}");
        }
    }

    #[test]
    fn local_uris_need_2_60_an_absolute_directory() {
        assert!(!rejected("local:///srv/app", "working_dir", 2, 60));
        assert!(!rejected("LOCAL:///srv/app", "working_dir", 2, 60));
        assert!(rejected("local:///srv/app", "working_dir", 2, 57));
        assert!(rejected("local://srv/app", "working_dir", 2, 60));
        assert!(rejected("local:/srv/app", "working_dir", 2, 60));
        assert!(rejected("local:///srv/app.zip", "py_modules", 2, 60));
    }

    #[test]
    fn remote_packages_are_archives_of_the_release() {
        assert!(!rejected("s3://b/out.zip", "working_dir", 2, 31));
        assert!(rejected("s3://b/out", "working_dir", 2, 31));
        assert!(rejected("https://x/out.tar.gz", "working_dir", 2, 31));
        assert!(!rejected("https://x/out.tar.gz", "working_dir", 2, 60));
        assert!(!rejected("https://x/out.whl", "working_dir", 2, 31));
        assert!(rejected("https://x/out.whl", "working_dir", 2, 60));
        assert!(!rejected(
            "https://x/m-1.0-py3-none-any.whl",
            "py_modules",
            2,
            60
        ));
        assert!(!rejected(
            "https://x/out.zip?token=a.b",
            "working_dir",
            2,
            60
        ));
        // Ray-managed uploads: extension checked from 2.60 only.
        assert!(!rejected("gcs://_ray_pkg_abc", "working_dir", 2, 31));
        assert!(rejected("gcs://_ray_pkg_abc", "working_dir", 2, 60));
    }

    #[test]
    fn schemes_by_release() {
        assert!(rejected("ftp://x/out.zip", "working_dir", 2, 60));
        assert!(rejected("http://x/out.zip", "working_dir", 2, 55));
        assert!(!rejected("http://x/out.zip", "working_dir", 2, 56));
        assert!(rejected("azure://c/out.zip", "working_dir", 2, 46));
        assert!(!rejected("azure://c/out.zip", "working_dir", 2, 50));
    }
}
