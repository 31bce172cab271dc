//! `bentoray diff`, `deploy` and `status`: the spec against a live Ray
//! cluster, through the dashboard's REST API. Beside the CLI: it runs the
//! stages (check → plan → emit) and no stage depends on it.
//!
//! - `diff`: what deploying would change (applications added, replaced and
//!   — with `serve deploy` — deleted; options changed, added and removed;
//!   removed overrides that stay in force before Ray 2.60).
//! - `deploy`: check, build, and PUT a config that keeps every other
//!   declarative application as it is on the cluster.
//! - `status`: the application's state; failures as diagnostics at the
//!   spec table that configured the failing deployment.

pub mod client;
pub mod diff;
pub mod live;
pub mod status;
pub mod versions;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::check::{self, Checked};
use crate::diagnostic::{self, Diagnostic, FileDiagnostics, SourceFile};
use crate::emit;
use crate::plan::{self, Plan};
use client::{ClusterError, Dashboard};
use live::ServeInstance;

/// Exit codes (the CLI's): 0 ok, 1 the spec or the deployment failed, 2 the
/// cluster could not be reached or read.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNREACHABLE: u8 = 2;

/// Per-call timeout of every request to the dashboard.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How the command reports (from the CLI's global flags).
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub color: bool,
    /// `--format json`: diagnostics as JSON on stdout.
    pub json: bool,
}

/// The dashboard address: `--address`, else `$RAY_DASHBOARD_ADDRESS`, else
/// Ray's default.
pub fn address(flag: Option<&str>) -> String {
    match flag {
        Some(a) => a.to_string(),
        None => std::env::var("RAY_DASHBOARD_ADDRESS")
            .ok()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| client::DEFAULT_ADDRESS.to_string()),
    }
}

/// A checked spec, its plan, the config bentoray deploys, the files it
/// builds (its spanned tree, for placing cluster findings, is `checked.tree`).
struct Prepared {
    checked: Checked,
    plan: Plan,
    files: Vec<emit::OutputFile>,
    config: Value,
    file: SourceFile,
    spec_dir: PathBuf,
    /// `check`'s warnings, for the JSON object (human output printed them).
    check_diags: Vec<Diagnostic>,
}

/// Checks the spec; `None` on errors (reported). Its warnings are printed
/// now (human) or kept for the command's JSON object.
fn prepare(spec_path: &Path, out: Output) -> Option<Prepared> {
    let name = display(spec_path);
    let mut result = check::check_file(spec_path, &name);
    result.stop_if_unbuildable();
    // Errors and warnings: notes are `check`'s business.
    let shown: Vec<Diagnostic> = result
        .report
        .diagnostics
        .iter()
        .filter(|d| d.severity() != diagnostic::Severity::Note)
        .cloned()
        .collect();
    if result.checked.is_none() {
        emit_report(&result.report.file, shown, Map::new(), out);
        return None;
    }
    let check_diags = if out.json {
        shown
    } else {
        emit_report(&result.report.file, shown, Map::new(), out);
        Vec::new()
    };
    let checked = result.checked?;
    let plan = plan::lower(&checked, &plan::spec_name(spec_path));
    let files = emit::files(&plan);
    let python = files
        .iter()
        .find(|f| f.name.ends_with(".py"))
        .map(|f| f.contents.as_str())
        .unwrap_or_default();
    let config = emit::serve_yaml::to_value(&plan, &emit::entrypoint_hash(python));
    Some(Prepared {
        checked,
        plan,
        files,
        config,
        file: result.report.file,
        check_diags,
        spec_dir: spec_path.parent().unwrap_or(Path::new("")).to_path_buf(),
    })
}

/// Connects and reads the cluster's Ray version, refusing one older than
/// the REST API bentoray reads.
fn connect(address: &str) -> Result<(Dashboard, String), ClusterError> {
    let dashboard = Dashboard::new(address, CALL_TIMEOUT)?;
    let version = dashboard.ray_version()?;
    if client::major_minor(&version).is_some_and(|v| v < client::MIN_RAY) {
        return Err(ClusterError::TooOld { version });
    }
    Ok((dashboard, version))
}

/// Connects and reads the cluster's version and Serve state.
fn read_cluster(address: &str) -> Result<(Dashboard, String, ServeInstance), ClusterError> {
    let (dashboard, version) = connect(address)?;
    let live = read_serve(&dashboard)?;
    Ok((dashboard, version, live))
}

fn read_serve(dashboard: &Dashboard) -> Result<ServeInstance, ClusterError> {
    let url = format!("{}/api/serve/applications/", dashboard.base);
    let value = dashboard.serve_details()?;
    live::parse(&value).map_err(|why| ClusterError::NotRay { url, why })
}

fn cluster_error(e: &ClusterError) -> u8 {
    eprintln!("bentoray: {e}");
    EXIT_UNREACHABLE
}

/// Whether the cluster keeps removed overrides in force (Ray before 2.60).
fn keeps_removed_overrides(live: &ServeInstance, version: &str) -> bool {
    match live.restores_unset_config_options {
        Some(restores) => !restores,
        None => client::major_minor(version).is_some_and(|v| v < (2, 60)),
    }
}

/// Prints the command's findings: human diagnostics on stderr, or with
/// `--format json` one object on stdout, `body` plus `diagnostics` (the
/// objects of `check --format json`). Returns whether any is an error.
fn emit_report(
    file: &SourceFile,
    diags: Vec<Diagnostic>,
    body: Map<String, Value>,
    out: Output,
) -> bool {
    let report = FileDiagnostics::new(file.clone(), diags);
    if out.json {
        let rendered = diagnostic::render_json(std::slice::from_ref(&report));
        let diagnostics: Value =
            serde_json::from_str(&rendered).unwrap_or(Value::Array(Vec::new()));
        let mut body = body;
        body.insert("diagnostics".into(), diagnostics);
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Object(body)).expect("JSON serializes")
        );
    } else if !report.diagnostics.is_empty() {
        eprint!("{}", diagnostic::render_human(&report, out.color));
        eprintln!("{}", diagnostic::summary_line(&report));
    }
    report.has_errors()
}

/// [`emit_report`] for a prepared spec: its check warnings come along.
fn report(p: &Prepared, diags: Vec<Diagnostic>, body: Map<String, Value>, out: Output) -> bool {
    let mut all = p.check_diags.clone();
    all.extend(diags);
    emit_report(&p.file, all, body, out)
}

/// The JSON object of a diff.
fn diff_body(d: &diff::Diff, address: &str, version: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert(
        "cluster".into(),
        serde_json::json!({"address": address, "ray_version": version}),
    );
    if let Ok(Value::Object(m)) = serde_json::to_value(d) {
        body.extend(m);
    }
    body
}

/// The diff and the findings that go with it (version verdicts, overrides
/// that stay in force).
fn findings(p: &Prepared, live: &ServeInstance, version: &str) -> (diff::Diff, Vec<Diagnostic>) {
    let keeps = keeps_removed_overrides(live, version);
    let d = diff::diff(&p.config, live, keeps);
    let mut diags = versions::verdicts(
        &p.file.text,
        &p.checked.tree,
        &p.checked,
        &p.plan,
        version,
        &p.spec_dir,
    );
    diags.extend(versions::stale_overrides(
        &d,
        &p.plan,
        &p.checked.tree,
        &p.checked,
    ));
    diags.extend(route_conflicts(p, live));
    (d, diags)
}

/// BR386: another application on the cluster already serves this route
/// prefix (Ray would reject the whole config, or fail this application).
fn route_conflicts(p: &Prepared, live: &ServeInstance) -> Vec<Diagnostic> {
    let app = &p.plan.serve.application;
    let at = ["application", "service"]
        .iter()
        .find_map(|t| p.checked.tree.get(t).and_then(|n| n.get("route_prefix")))
        .map(|n| n.span.clone())
        .or_else(|| {
            p.checked
                .tree
                .entry("application")
                .map(|e| e.key_span.clone())
        })
        .unwrap_or_else(|| p.checked.bento_span.clone());
    live.applications
        .iter()
        .filter(|(name, other)| {
            **name != app.name && other.route_prefix.as_deref() == Some(app.route_prefix.as_str())
        })
        .map(|(name, _)| {
            Diagnostic::new(
                &crate::diagnostic::rules::ROUTE_PREFIX_TAKEN,
                format!(
                    "route prefix `{}` is already served by application `{name}` on the cluster",
                    app.route_prefix
                ),
            )
            .at(at.clone())
            .label(format!("`{}` serves here", app.name))
            .help(format!(
                "give `{}` another `[application] route_prefix`; Ray rejects two applications on one prefix",
                app.name
            ))
        })
        .collect()
}

/// What `diff` and `deploy` share: the checked spec, the cluster, the diff
/// (printed for people) and the findings. `Err`: the exit code, reported.
struct Compared {
    p: Prepared,
    dashboard: Dashboard,
    version: String,
    live: ServeInstance,
    diff: diff::Diff,
    diags: Vec<Diagnostic>,
}

fn compare(spec_path: &Path, address: &str, out: Output) -> Result<Compared, u8> {
    let p = prepare(spec_path, out).ok_or(EXIT_FAILED)?;
    let (dashboard, version, live) = read_cluster(address).map_err(|e| cluster_error(&e))?;
    let (diff, diags) = findings(&p, &live, &version);
    if !out.json {
        print!("{}", diff::render(&diff, &dashboard.base, &version));
    }
    Ok(Compared {
        p,
        dashboard,
        version,
        live,
        diff,
        diags,
    })
}

/// `bentoray diff`.
pub fn diff_command(spec_path: &Path, address: &str, out: Output) -> u8 {
    let c = match compare(spec_path, address, out) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body = diff_body(&c.diff, &c.dashboard.base, &c.version);
    if report(&c.p, c.diags, body, out) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// `bentoray deploy`.
pub fn deploy_command(
    spec_path: &Path,
    address: &str,
    output: Option<&Path>,
    dry_run: bool,
    out: Output,
) -> u8 {
    let Compared {
        p,
        dashboard,
        version,
        live,
        diff: d,
        diags,
    } = match compare(spec_path, address, out) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut body = diff_body(&d, &dashboard.base, &version);
    // Errors stop here; otherwise the findings are reported once, after
    // the submission, with whether it happened.
    if diags.iter().any(Diagnostic::is_error) {
        body.insert("submitted".into(), Value::Bool(false));
        report(&p, diags, body, out);
        eprintln!("bentoray: nothing deployed");
        return EXIT_FAILED;
    }
    if dry_run {
        body.insert("submitted".into(), Value::Bool(false));
        report(&p, diags, body, out);
        return EXIT_OK;
    }
    let finish = |submitted: bool, code: u8| {
        let mut body = body.clone();
        body.insert("submitted".into(), Value::Bool(submitted));
        report(&p, diags.clone(), body, out);
        code
    };
    // Where the module is written, and how the nodes reach it.
    let working_dir = p
        .plan
        .serve
        .application
        .runtime_env
        .as_ref()
        .and_then(|e| e.get("working_dir"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let local = working_dir
        .as_deref()
        .and_then(|w| w.strip_prefix("local://"))
        .map(PathBuf::from);
    if working_dir.is_none() {
        eprintln!(
            "bentoray: the spec sets no [application] runtime_env.working_dir, so the cluster's nodes cannot import `{}`; \
             set working_dir = \"local:///abs/dir\" (a directory on every node; build there with -o) or a remote URI \
             (upload the built files there first); nothing deployed",
            p.plan.serve.application.import_path
        );
        return finish(false, EXIT_FAILED);
    }
    let temp;
    let dir: PathBuf = match (output, &local) {
        (Some(o), Some(l)) if std::path::absolute(o).ok().as_deref() != Some(l.as_path()) => {
            eprintln!(
                "bentoray: -o {} is not the spec's working_dir local://{}: the nodes would import another module; nothing deployed",
                o.display(),
                l.display()
            );
            return finish(false, EXIT_FAILED);
        }
        (Some(o), _) => o.to_path_buf(),
        (None, Some(l)) => l.clone(),
        (None, None) => match tempfile::Builder::new().prefix("bentoray-deploy").tempdir() {
            Ok(t) => {
                temp = t;
                temp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("bentoray: cannot create a temporary directory: {e}");
                return finish(false, EXIT_UNREACHABLE);
            }
        },
    };
    if let Err(e) =
        emit::write::refuse_to_overwrite_inputs(&dir, &p.files, spec_path, &p.checked.bento.path)
            .and_then(|_| emit::write::write_atomically(&dir, &p.files).map(|_| ()))
    {
        eprintln!("bentoray: {e}; nothing deployed");
        return finish(false, EXIT_UNREACHABLE);
    }
    eprintln!(
        "bentoray: built {} in {}",
        p.files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        display(&dir)
    );
    if local.is_none() {
        eprintln!(
            "bentoray: working_dir is {}: the nodes import the module from there; upload {}'s files to it \
             (the entrypoint's SHA-256 check fails the deploy if the upload is not this build)",
            working_dir.as_deref().unwrap_or_default(),
            display(&dir)
        );
    }
    let merged = merge(&p.config, &live);
    if let Err(e) = dashboard.put_applications(&merged) {
        return match e {
            ClusterError::Rejected {
                status: 400, body, ..
            } => {
                eprintln!(
                    "bentoray: Ray rejected the config: {}",
                    client::snippet(&body, 4000)
                );
                finish(false, EXIT_FAILED)
            }
            other => finish(false, cluster_error(&other)),
        };
    }
    let kept = merged["applications"].as_array().map_or(0, Vec::len) - 1;
    eprintln!(
        "bentoray: submitted application `{}` to {} ({kept} other application{} kept as {}); `bentoray status --wait 300` follows it",
        p.plan.serve.application.name,
        dashboard.base,
        if kept == 1 { "" } else { "s" },
        if kept == 1 { "it is" } else { "they are" },
    );
    finish(true, EXIT_OK)
}

/// The whole-cluster config to PUT: every declarative application on the
/// cluster as it was deployed, this one added or replaced in place; the
/// cluster's top-level options where the spec sets none (so a running
/// Serve is not told different ones), its target_capacity kept.
pub fn merge(desired: &Value, live: &ServeInstance) -> Value {
    let ours = desired["applications"][0].clone();
    let name = ours["name"].as_str().unwrap_or_default().to_string();
    let mut top: Map<String, Value> = desired.as_object().cloned().unwrap_or_default();
    top.shift_remove("applications");
    for (key, value) in [
        ("proxy_location", &live.proxy_location),
        ("http_options", &live.http_options),
        ("target_capacity", &live.target_capacity),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_null())
            && !top.contains_key(key)
        {
            top.insert(key.to_string(), v.clone());
        }
    }
    let mut apps = Vec::new();
    let mut placed = false;
    for (other, app) in &live.applications {
        if *other == name {
            apps.push(ours.clone());
            placed = true;
        } else if app.is_declarative()
            && let Some(config) = &app.deployed_app_config
        {
            apps.push(Value::Object(config.clone()));
        }
    }
    if !placed {
        apps.push(ours);
    }
    top.insert("applications".into(), Value::Array(apps));
    Value::Object(top)
}

/// `bentoray status`.
pub fn status_command(spec_path: &Path, address: &str, wait: Option<u64>, out: Output) -> u8 {
    let Some(p) = prepare(spec_path, out) else {
        return EXIT_FAILED;
    };
    let dashboard = match connect(address) {
        Ok((d, _)) => d,
        Err(e) => return cluster_error(&e),
    };
    let deadline = wait.map(|s| Instant::now() + Duration::from_secs(s));
    let interactive = std::io::stderr().is_terminal();
    let mut last_line = String::new();
    let live = loop {
        let live = match read_serve(&dashboard) {
            Ok(l) => l,
            Err(e) => return cluster_error(&e),
        };
        let s = status::status(&p.plan, &live);
        let done = !matches!(s.phase, status::Phase::Pending | status::Phase::Missing);
        let Some(deadline) = deadline.filter(|_| !done) else {
            break live;
        };
        if Instant::now() >= deadline {
            break live;
        }
        // Progress: one rewritten line on a terminal, a line per change otherwise.
        let line = status::progress_line(&s);
        if interactive {
            eprint!("\r\x1b[2K{line}");
        } else if line != last_line {
            eprintln!("{line}");
        }
        last_line = line;
        let _ = std::io::stderr().flush();
        std::thread::sleep(Duration::from_secs(1).min(deadline - Instant::now()));
    };
    if interactive && !last_line.is_empty() {
        eprintln!();
    }
    let s = status::status(&p.plan, &live);
    if !out.json {
        print!("{}", status::render(&s));
    }
    let failures = status::failures(
        &p.plan,
        &live,
        &p.checked.tree,
        p.checked.bento_span.clone(),
    );
    let body = match serde_json::to_value(&s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    report(&p, failures, body, out);
    match s.phase {
        status::Phase::Running => EXIT_OK,
        status::Phase::Failed => EXIT_FAILED,
        status::Phase::Pending => {
            if let Some(secs) = wait {
                eprintln!("bentoray: `{}` is not RUNNING after {secs} s", s.app);
            }
            for message in status::pending_messages(&p.plan, &live) {
                eprintln!("  {message}");
            }
            EXIT_FAILED
        }
        status::Phase::Missing => {
            eprintln!(
                "bentoray: application `{}` is not on the cluster at {}; `bentoray deploy` deploys it",
                s.app, dashboard.base
            );
            EXIT_FAILED
        }
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
