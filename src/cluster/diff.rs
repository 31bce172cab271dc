//! `bentoray diff`: what deploying the spec's config would change on a live
//! cluster. A pure function of the config bentoray builds
//! (`serve_yaml::to_value`) and the live `ServeInstanceDetails`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::live::ServeInstance;
use crate::emit::HASH_ENV_VAR;

/// One option that differs, by dotted path (`ray_actor_options.num_cpus`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    Added {
        path: String,
        new: Value,
    },
    Changed {
        path: String,
        old: Value,
        new: Value,
    },
    /// `stays`: the value that stays in force after the deploy (Ray before
    /// 2.60 keeps a removed override); `None`: Ray restores the default.
    Removed {
        path: String,
        old: Value,
        stays: Option<Value>,
    },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Added { path, .. }
            | Change::Changed { path, .. }
            | Change::Removed { path, .. } => path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppVerdict {
    /// Not on the cluster: deploying adds it.
    Added,
    /// On the cluster with another config: deploying replaces it.
    Replaced,
    /// On the cluster with exactly this config.
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentDiff {
    pub name: String,
    pub changes: Vec<Change>,
}

/// `--format json` prints this object (plus `cluster` and `diagnostics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub app: String,
    pub verdict: AppVerdict,
    /// Application fields (route_prefix, import_path, runtime_env, args).
    pub app_changes: Vec<Change>,
    /// Whether the entrypoint's hash differs (the module was rebuilt).
    pub entrypoint_changed: bool,
    pub deployments: Vec<DeploymentDiff>,
    /// Top-level options (proxy_location, http_options): Ray applies them
    /// only when Serve first starts.
    pub frozen_changes: Vec<Change>,
    /// Other applications a `serve deploy` of the spec's serve.yaml would
    /// delete (`bentoray deploy` keeps them).
    pub deleted_by_serve_deploy: Vec<String>,
    /// `serve.run` applications, which neither deletes.
    pub imperative_apps: Vec<String>,
    /// The cluster keeps removed overrides in force (Ray before 2.60).
    pub keeps_removed_overrides: bool,
}

impl Diff {
    /// Whether deploying changes anything for this application.
    pub fn is_empty(&self) -> bool {
        self.verdict == AppVerdict::Unchanged
    }

    /// Removed options that would stay in force: (deployment, change).
    pub fn stale_overrides(&self) -> impl Iterator<Item = (&str, &Change)> {
        self.deployments.iter().flat_map(|d| {
            d.changes
                .iter()
                .filter(|c| matches!(c, Change::Removed { stays: Some(_), .. }))
                .map(move |c| (d.name.as_str(), c))
        })
    }
}

/// Compares the config bentoray would deploy (`desired`: a
/// `ServeDeploySchema` with one application) with the cluster's.
/// `keeps_removed_overrides`: the cluster is a Ray before 2.60.
pub fn diff(desired: &Value, live: &ServeInstance, keeps_removed_overrides: bool) -> Diff {
    let app = desired["applications"][0]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let name = app
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let live_app = live.applications.get(&name);
    let live_config = live_app.and_then(|a| a.deployed_app_config.clone());

    let mut deleted_by_serve_deploy = Vec::new();
    let mut imperative_apps = Vec::new();
    for (other, a) in &live.applications {
        if *other == name {
            continue;
        }
        if a.is_declarative() {
            deleted_by_serve_deploy.push(other.clone());
        } else {
            imperative_apps.push(other.clone());
        }
    }

    let frozen_changes = frozen(desired, live);
    let Some(old) = live_config else {
        let deployments = desired_deployments(&app)
            .into_iter()
            .map(|(n, options)| DeploymentDiff {
                name: n,
                changes: flatten("", &Value::Object(options))
                    .into_iter()
                    .map(|(path, new)| Change::Added { path, new })
                    .collect(),
            })
            .collect();
        return Diff {
            // A `serve.run` application of that name is replaced too.
            verdict: if live_app.is_some() {
                AppVerdict::Replaced
            } else {
                AppVerdict::Added
            },
            app: name,
            app_changes: Vec::new(),
            entrypoint_changed: false,
            deployments,
            frozen_changes,
            deleted_by_serve_deploy,
            imperative_apps,
            keeps_removed_overrides,
        };
    };

    // Application fields other than deployments; the hash is reported as
    // "entrypoint changed" rather than as an env var.
    let strip = |m: &Map<String, Value>| {
        let mut m = m.clone();
        m.shift_remove("deployments");
        m.shift_remove("name");
        m
    };
    let mut app_changes = compare(
        &Value::Object(strip(&old)),
        &Value::Object(strip(&app)),
        None,
    );
    let hash_path = format!("runtime_env.env_vars.{HASH_ENV_VAR}");
    let entrypoint_changed = app_changes.iter().any(|c| c.path() == hash_path);
    app_changes.retain(|c| c.path() != hash_path);

    let old_deployments = desired_deployments(&old);
    let new_deployments = desired_deployments(&app);
    let effective = |d: &str| {
        live_app
            .and_then(|a| a.deployments.get(d))
            .and_then(|d| d.deployment_config.clone())
    };
    let mut deployments = Vec::new();
    let mut names: Vec<String> = new_deployments.iter().map(|(n, _)| n.clone()).collect();
    for (n, _) in &old_deployments {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    for d in names {
        let empty = Map::new();
        let before = old_deployments
            .iter()
            .find(|(n, _)| *n == d)
            .map_or(&empty, |(_, o)| o);
        let after = new_deployments
            .iter()
            .find(|(n, _)| *n == d)
            .map_or(&empty, |(_, o)| o);
        let in_force =
            keeps_removed_overrides.then(|| effective(&d).map_or(Value::Null, Value::Object));
        let changes = compare(
            &Value::Object(before.clone()),
            &Value::Object(after.clone()),
            in_force.as_ref(),
        );
        if !changes.is_empty() {
            deployments.push(DeploymentDiff { name: d, changes });
        }
    }
    let verdict = if app_changes.is_empty() && !entrypoint_changed && deployments.is_empty() {
        AppVerdict::Unchanged
    } else {
        AppVerdict::Replaced
    };
    Diff {
        app: name,
        verdict,
        app_changes,
        entrypoint_changed,
        deployments,
        frozen_changes,
        deleted_by_serve_deploy,
        imperative_apps,
        keeps_removed_overrides,
    }
}

/// `deployments[*]` of an application config as (name, options).
fn desired_deployments(app: &Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
    app.get("deployments")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    let mut options = d.as_object()?.clone();
                    let name = options.shift_remove("name")?.as_str()?.to_string();
                    Some((name, options))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Top-level options the spec sets that differ from the cluster's (Ray
/// ignores them once Serve runs).
fn frozen(desired: &Value, live: &ServeInstance) -> Vec<Change> {
    let mut out = Vec::new();
    for (key, current) in [
        ("proxy_location", &live.proxy_location),
        ("http_options", &live.http_options),
    ] {
        let (Some(want), Some(Value::Object(_) | Value::String(_))) = (desired.get(key), current)
        else {
            continue;
        };
        let have = current.as_ref().expect("matched");
        // Only the fields the spec sets; the live value lists every field.
        for (path, new) in flatten(key, want) {
            let old = lookup(have, path.strip_prefix(key).unwrap_or(""));
            match old {
                Some(old) if same(old, &new) => {}
                Some(old) => out.push(Change::Changed {
                    path,
                    old: old.clone(),
                    new,
                }),
                None => out.push(Change::Added { path, new }),
            }
        }
    }
    out
}

/// Leaves of `value` by dotted path under `prefix`: objects are descended
/// into; arrays and scalars are leaves.
fn flatten(prefix: &str, value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    fn walk(path: String, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(p, v, out);
                }
            }
            _ => out.push((path, value.clone())),
        }
    }
    walk(prefix.to_string(), value, &mut out);
    out
}

/// The value at a dotted path (`.a.b` or `a.b`).
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, k| v.get(k))
}

/// Equal as Ray reads them: `1` and `1.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Option-by-option differences between two configs; `in_force` is the
/// live effective config, when removed options stay in force.
fn compare(old: &Value, new: &Value, in_force: Option<&Value>) -> Vec<Change> {
    let before = flatten("", old);
    let after = flatten("", new);
    let mut out = Vec::new();
    for (path, new_value) in &after {
        match before.iter().find(|(p, _)| p == path) {
            Some((_, old_value)) if same(old_value, new_value) => {}
            Some((_, old_value)) => out.push(Change::Changed {
                path: path.clone(),
                old: old_value.clone(),
                new: new_value.clone(),
            }),
            // A leaf that was a table (or the reverse) shows as removed + added.
            None => out.push(Change::Added {
                path: path.clone(),
                new: new_value.clone(),
            }),
        }
    }
    for (path, old_value) in &before {
        if after.iter().any(|(p, _)| p == path) {
            continue;
        }
        let stays = in_force.map(|live| lookup(live, path).cloned().unwrap_or(old_value.clone()));
        out.push(Change::Removed {
            path: path.clone(),
            old: old_value.clone(),
            stays,
        });
    }
    out
}

/// The diff as text for people (stdout of `bentoray diff`).
pub fn render(diff: &Diff, address: &str, ray_version: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cluster {address} (Ray {ray_version})");
    match diff.verdict {
        AppVerdict::Added => {
            let _ = writeln!(out, "application `{}`: added", diff.app);
        }
        AppVerdict::Replaced => {
            let _ = writeln!(out, "application `{}`: replaced", diff.app);
        }
        AppVerdict::Unchanged => {
            let _ = writeln!(out, "application `{}`: no change", diff.app);
        }
    }
    if diff.entrypoint_changed {
        let _ = writeln!(
            out,
            "  entrypoint: rebuilt (new SHA-256; every replica restarts)"
        );
    }
    for c in &diff.app_changes {
        let _ = writeln!(out, "  {}", line(c, false));
    }
    for d in &diff.deployments {
        let _ = writeln!(out, "  deployment `{}`:", d.name);
        for c in &d.changes {
            let _ = writeln!(out, "    {}", line(c, diff.keeps_removed_overrides));
        }
    }
    for c in &diff.frozen_changes {
        let _ = writeln!(
            out,
            "  {} (not applied: Ray applies it only when Serve first starts)",
            line(c, false)
        );
    }
    for other in &diff.deleted_by_serve_deploy {
        let _ = writeln!(
            out,
            "application `{other}`: kept by `bentoray deploy`; `serve deploy` of serve.yaml would DELETE it"
        );
    }
    for other in &diff.imperative_apps {
        let _ = writeln!(
            out,
            "application `{other}`: deployed with serve.run; left as it is"
        );
    }
    out
}

fn line(c: &Change, keeps_removed: bool) -> String {
    match c {
        Change::Added { path, new } => format!("+ {path} = {}", json(new)),
        Change::Changed { path, old, new } => {
            format!("~ {path}: {} -> {}", json(old), json(new))
        }
        Change::Removed {
            path,
            old,
            stays: Some(stays),
        } if keeps_removed => format!(
            "- {path} (was {}): STAYS {} in force on this Ray (before 2.60 a removed override is kept; set it explicitly)",
            json(old),
            json(stays)
        ),
        Change::Removed { path, old, .. } => {
            format!("- {path} (was {}; back to the default)", json(old))
        }
    }
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(apps: Value) -> ServeInstance {
        super::super::live::parse(&json!({ "applications": apps })).unwrap()
    }

    fn desired(deployments: Value) -> Value {
        json!({"applications": [{
            "name": "iris", "route_prefix": "/iris", "import_path": "bento_ray:app",
            "runtime_env": {"env_vars": {HASH_ENV_VAR: "aa"}},
            "deployments": deployments,
        }]})
    }

    fn deployed(deployments: Value, hash: &str) -> Value {
        json!({
            "status": "RUNNING", "source": "declarative",
            "deployed_app_config": {
                "name": "iris", "route_prefix": "/iris", "import_path": "bento_ray:app",
                "runtime_env": {"env_vars": {HASH_ENV_VAR: hash}},
                "deployments": deployments,
            },
            "deployments": {"bento-runner-iris_clf": {
                "status": "HEALTHY",
                "deployment_config": {"name": "bento-runner-iris_clf", "num_replicas": 2, "max_ongoing_requests": 7},
            }},
        })
    }

    #[test]
    fn new_app_is_added_and_other_declarative_apps_would_be_deleted() {
        let cluster = live(json!({
            "other": {"status": "RUNNING", "source": "declarative", "deployed_app_config": {"name": "other"}},
            "by_hand": {"status": "RUNNING", "source": "imperative", "deployed_app_config": null},
        }));
        let d = diff(
            &desired(json!([{"name": "bento-runner-iris_clf", "num_replicas": 2}])),
            &cluster,
            false,
        );
        assert_eq!(d.verdict, AppVerdict::Added);
        assert_eq!(d.deleted_by_serve_deploy, vec!["other"]);
        assert_eq!(d.imperative_apps, vec!["by_hand"]);
        assert_eq!(
            d.deployments[0].changes,
            vec![Change::Added {
                path: "num_replicas".into(),
                new: json!(2)
            }]
        );
    }

    #[test]
    fn an_imperative_app_of_that_name_is_replaced() {
        let cluster = live(json!({
            "iris": {"status": "RUNNING", "source": "imperative", "deployed_app_config": null},
        }));
        let d = diff(&desired(json!([])), &cluster, false);
        assert_eq!(d.verdict, AppVerdict::Replaced);
        assert!(d.imperative_apps.is_empty());
    }

    #[test]
    fn same_config_is_unchanged() {
        let ds = json!([{"name": "bento-runner-iris_clf", "num_replicas": 2, "ray_actor_options": {"num_cpus": 1.0}}]);
        let cluster = live(json!({ "iris": deployed(
            json!([{"name": "bento-runner-iris_clf", "num_replicas": 2, "ray_actor_options": {"num_cpus": 1}}]),
            "aa") }));
        let d = diff(&desired(ds), &cluster, false);
        assert_eq!(d.verdict, AppVerdict::Unchanged, "{d:?}");
        assert!(d.is_empty());
    }

    #[test]
    fn changed_added_removed_and_kept_overrides() {
        let cluster = live(json!({ "iris": deployed(
            json!([{"name": "bento-runner-iris_clf", "num_replicas": 2, "max_ongoing_requests": 7}]),
            "old") }));
        let want = desired(json!([{"name": "bento-runner-iris_clf", "num_replicas": 3,
            "ray_actor_options": {"num_cpus": 0.5}}]));
        let d = diff(&want, &cluster, true);
        assert_eq!(d.verdict, AppVerdict::Replaced);
        assert!(d.entrypoint_changed);
        assert!(d.app_changes.is_empty());
        assert_eq!(
            d.deployments[0].changes,
            vec![
                Change::Changed {
                    path: "num_replicas".into(),
                    old: json!(2),
                    new: json!(3)
                },
                Change::Added {
                    path: "ray_actor_options.num_cpus".into(),
                    new: json!(0.5)
                },
                Change::Removed {
                    path: "max_ongoing_requests".into(),
                    old: json!(7),
                    stays: Some(json!(7))
                },
            ]
        );
        assert_eq!(d.stale_overrides().count(), 1);
        // Ray 2.60 restores removed options.
        let d = diff(&want, &cluster, false);
        assert_eq!(d.stale_overrides().count(), 0);
    }

    #[test]
    fn frozen_http_options_are_reported() {
        let mut cluster = live(json!({}));
        cluster.http_options = Some(json!({"host": "127.0.0.1", "port": 8000, "root_path": ""}));
        let mut want = desired(json!([]));
        want["http_options"] = json!({"host": "127.0.0.1", "port": 9000});
        let d = diff(&want, &cluster, false);
        assert_eq!(
            d.frozen_changes,
            vec![Change::Changed {
                path: "http_options.port".into(),
                old: json!(8000),
                new: json!(9000)
            }]
        );
    }
}
