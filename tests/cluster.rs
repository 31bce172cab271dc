//! `bentoray diff`, `deploy` and `status` against a fake Ray dashboard: a
//! small HTTP server on 127.0.0.1:0, in this process, answering with
//! responses recorded from Ray 2.60 (tests/fixtures/dashboard/, written by
//! `E2E_RECORD=DIR scripts/e2e.sh` in `cluster` mode) or edits of them. Every
//! wait is bounded (socket timeouts; the CLI's own per-call timeout).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::root;
use serde_json::{Value, json};

/// One answer of the fake dashboard.
#[derive(Clone)]
struct Route {
    method: &'static str,
    path: &'static str,
    status: u16,
    body: String,
}

fn route(method: &'static str, path: &'static str, status: u16, body: impl Into<String>) -> Route {
    Route {
        method,
        path,
        status,
        body: body.into(),
    }
}

/// A fake dashboard; stopped (and its thread joined) when dropped.
struct FakeDashboard {
    address: String,
    stop: Arc<AtomicBool>,
    /// Bodies of the PUT requests received.
    puts: Arc<Mutex<Vec<String>>>,
    /// Every request line received.
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDashboard {
    fn start(routes: Vec<Route>) -> FakeDashboard {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let puts = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, p, r) = (stop.clone(), puts.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &routes, &p, &r),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        });
        FakeDashboard {
            address,
            stop,
            puts,
            requests,
            thread: Some(thread),
        }
    }

    fn puts(&self) -> Vec<Value> {
        self.puts
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_str(b).expect("PUT body is JSON"))
            .collect()
    }
}

impl Drop for FakeDashboard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request (bounded by socket timeouts) and answers it.
fn answer(
    stream: TcpStream,
    routes: &[Route],
    puts: &Mutex<Vec<String>>,
    requests: &Mutex<Vec<String>>,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    requests.lock().unwrap().push(format!("{method} {path}"));
    let found = routes.iter().find(|r| r.method == method && r.path == path);
    let (status, text) = match found {
        Some(r) => {
            if method == "PUT" {
                puts.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            (r.status, r.body.clone())
        }
        None => (404, "404: Not Found".to_string()),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures/dashboard").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn version(v: &str) -> Route {
    route(
        "GET",
        "/api/version",
        200,
        json!({"version": "4", "ray_version": v, "ray_commit": "x", "session_name": "s"})
            .to_string(),
    )
}

fn applications(details: &Value) -> Route {
    route("GET", "/api/serve/applications/", 200, details.to_string())
}

/// A spec for the fixture store's legacy bento (the e2e bento: API server
/// `iris_classifier`, runners `iris_clf` and `echo`), in a fresh directory.
struct Spec {
    dir: tempfile::TempDir,
}

impl Spec {
    fn new(app: &str, extra: &str) -> Spec {
        let dir = tempfile::tempdir().unwrap();
        let store = root().join("tests/fixtures/bentoml-1.4.40-legacy-store");
        let out = dir.path().join("out");
        // As the e2e deployed them: `iris-cluster` on /iris, others on /<name>.
        let prefix = if app == "iris-cluster" {
            "/iris".to_string()
        } else {
            format!("/{app}")
        };
        let text = format!(
            "bento = \"iris_classifier:latest\"\nbentoml_home = {store:?}\n{extra}\n[application]\nname = \"{app}\"\nroute_prefix = \"{prefix}\"\nruntime_env = {{ working_dir = \"local://{}\" }}\n\n[service]\nnum_replicas = 1\n\n[runners.iris_clf]\nnum_replicas = 2\nmax_replicas_per_node = 1\n",
            out.display()
        );
        std::fs::write(dir.path().join("bentoray.toml"), text).unwrap();
        Spec { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("bentoray.toml")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap()
    }

    /// Rewrites the spec with `from` (which it must contain) replaced by `to`.
    fn replace(&self, from: &str, to: &str) {
        let text = self.text();
        assert!(text.contains(from), "no {from:?} in the spec:\n{text}");
        std::fs::write(self.path(), text.replace(from, to)).unwrap();
    }

    fn line_of(&self, needle: &str) -> usize {
        self.text()
            .lines()
            .position(|l| l == needle)
            .expect("line in spec")
            + 1
    }
}

/// Fails showing the whole text unless it contains `needle`.
#[track_caller]
fn assert_has(text: &str, needle: impl AsRef<str>) {
    let needle = needle.as_ref();
    assert!(text.contains(needle), "no {needle:?} in:\n{text}");
}

/// A fake Ray of release `ray` whose Serve state is `details`, accepting PUTs.
fn cluster(ray: &str, details: &Value) -> FakeDashboard {
    FakeDashboard::start(vec![
        version(ray),
        applications(details),
        route("PUT", "/api/serve/applications/", 200, ""),
    ])
}

/// A fake Ray of release `ray` in the state recorded with the e2e's
/// `iris-cluster` and `other` applications running.
fn running_cluster(ray: &str) -> FakeDashboard {
    cluster(ray, &fixture("running/applications.json"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], cwd: &Path) -> Run {
    run_with_env(args, cwd, &[])
}

/// `run` with these environment variables set.
fn run_with_env(args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bentoray"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RAY_DASHBOARD_ADDRESS")
        .env_remove("BENTOML_HOME")
        .envs(vars.iter().copied())
        .output()
        .expect("bentoray runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn cmd(spec: &Spec, command: &str, address: &str, more: &[&str]) -> Run {
    let mut args = vec![command, "bentoray.toml", "--address", address];
    args.extend_from_slice(more);
    run(&args, spec.dir.path())
}

/// The recorded details with the e2e's application renamed to the spec's.
fn details_with(name: &str, from: &str, app: &str) -> Value {
    let mut v = fixture(name);
    let apps = v["applications"].as_object_mut().unwrap();
    if let Some(mut a) = apps.shift_remove(from) {
        if let Some(c) = a["deployed_app_config"].as_object_mut() {
            c.insert("name".into(), json!(app));
        }
        apps.insert(app.to_string(), a);
    }
    v
}

/// The config `app` was deployed with, of its deployment `name`, in details.
fn deployed_config<'a>(details: &'a mut Value, app: &str, name: &str) -> &'a mut Value {
    details["applications"][app]["deployed_app_config"]["deployments"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["name"] == name)
        .expect("the deployment is in the details")
}

// --- reaching the cluster --------------------------------------------------

#[test]
fn unreachable_address_exits_2() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = Spec::new("iris", "");
    let address = format!("http://127.0.0.1:{port}");
    for command in ["status", "diff", "deploy"] {
        let r = cmd(&spec, command, &address, &[]);
        assert_eq!(r.code, 2, "{command}: {}", r.stderr);
        assert_has(
            &r.stderr,
            format!("cannot reach the Ray dashboard at {address}: connection refused"),
        );
    }
}

#[test]
fn environment_variable_names_the_address() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-cluster", "");
    let r = run_with_env(
        &["diff", "bentoray.toml"],
        spec.dir.path(),
        &[("RAY_DASHBOARD_ADDRESS", &fake.address)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        fake.requests
            .lock()
            .unwrap()
            .contains(&"GET /api/version".to_string())
    );
}

#[test]
fn bad_addresses_are_refused_before_any_request() {
    let spec = Spec::new("iris", "");
    for (address, why) in [
        ("https://head:8265", "plain HTTP"),
        ("http://head:8265/api", "no path"),
        ("head:99999", "the port must be a number"),
    ] {
        let r = cmd(&spec, "status", address, &[]);
        assert_eq!(r.code, 2, "{address}");
        assert_has(&r.stderr, "is not a Ray dashboard address");
        assert_has(&r.stderr, why);
    }
}

#[test]
fn a_server_that_is_not_ray_is_named_so() {
    let fake = FakeDashboard::start(vec![route("GET", "/", 200, "<html>hello</html>")]);
    let spec = Spec::new("iris", "");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 2);
    assert_has(
        &r.stderr,
        format!(
            "{}/api/version did not answer as a Ray dashboard: HTTP 404",
            fake.address
        ),
    );
    let fake = FakeDashboard::start(vec![route("GET", "/api/version", 200, "<html>ok</html>")]);
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 2);
    assert_has(&r.stderr, "the answer is not JSON");
}

#[test]
fn wrong_json_names_the_field() {
    let fake = cluster("2.60.0", &json!({"applications": []}));
    let spec = Spec::new("iris", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 2);
    assert_has(
        &r.stderr,
        "unexpected ServeInstanceDetails JSON at `applications`",
    );
}

#[test]
fn ray_too_old_for_the_rest_api() {
    let fake = FakeDashboard::start(vec![version("2.7.2")]);
    let spec = Spec::new("iris", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 2);
    assert_has(&r.stderr, "Ray 2.8 or later is needed");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 2);
    assert_has(
        &r.stderr,
        "the cluster runs Ray 2.7.2, whose dashboard does not serve the Serve REST API",
    );
}

#[test]
fn no_proxy_is_used() {
    // The proxy variables point at a closed port; the request still reaches
    // the dashboard, so they were ignored.
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-cluster", "");
    let closed = "http://127.0.0.1:1";
    let r = run_with_env(
        &["diff", "bentoray.toml", "--address", &fake.address],
        spec.dir.path(),
        &[
            ("http_proxy", closed),
            ("HTTP_PROXY", closed),
            ("ALL_PROXY", closed),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// --- status ----------------------------------------------------------------

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Replaces the fake's address (a random port) and temp paths in output.
fn scrub(text: &str, fake: &FakeDashboard, spec: &Spec) -> String {
    text.replace(&fake.address, "http://127.0.0.1:PORT")
        .replace(&spec.dir.path().display().to_string(), "SPEC_DIR")
        .replace(&root().display().to_string(), "REPO")
}

#[test]
fn status_of_a_running_application() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-cluster", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(
        &r.stdout,
        "bento-runner-iris_clf      HEALTHY   2/2 replicas on 2 nodes  [runners.iris_clf]",
    );
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("cluster__status_running", scrub(&r.stdout, &fake, &spec))
    });
}

#[test]
fn status_of_a_missing_application_exits_1() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("not-there", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 1);
    assert_has(&r.stderr, "application `not-there` is not on the cluster");
}

#[test]
fn deployment_failure_points_at_its_table() {
    let fake = cluster("2.60.0", &fixture("failed/applications.json"));
    let spec = Spec::new("iris-broken", "");
    let r = cmd(&spec, "status", &fake.address, &["--wait", "5"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line = spec.line_of("[runners.iris_clf]");
    assert_has(&r.stderr, "BR381(deployment-failed)");
    assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
    assert_has(&r.stderr, "Ray says:");
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("cluster__status_failed", scrub(&r.stderr, &fake, &spec)));
}

#[test]
fn failure_of_a_deployment_without_a_table_points_at_the_bento() {
    // The echo runner has no [runners.echo] table in this spec.
    let mut details = fixture("failed/applications.json");
    let app = details["applications"]["iris-broken"]
        .as_object_mut()
        .unwrap();
    let deployments = app["deployments"].as_object_mut().unwrap();
    for (name, d) in deployments.iter_mut() {
        d["status"] = json!(if name == "bento-runner-echo" {
            "UNHEALTHY"
        } else {
            "HEALTHY"
        });
        d["message"] = json!(format!("{name} message"));
    }
    let fake = cluster("2.60.0", &details);
    let spec = Spec::new("iris-broken", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_has(&r.stderr, "the spec has no [runners.echo] table");
    assert_has(&r.stderr, "[bentoray.toml:1:");
    assert_has(&r.stderr, "Ray says: bento-runner-echo message");
}

#[test]
fn application_failure_points_at_application() {
    let mut details = fixture("failed/applications.json");
    let app = details["applications"]["iris-broken"]
        .as_object_mut()
        .unwrap();
    app.insert("deployments".into(), json!({}));
    app.insert(
        "message".into(),
        json!("Deploying app 'iris-broken' failed with exception:\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'bento_ray'"),
    );
    let fake = cluster("2.60.0", &details);
    let spec = Spec::new("iris-broken", "");
    let r = cmd(&spec, "status", &fake.address, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line = spec.line_of("[application]");
    assert_has(&r.stderr, "BR382(application-failed)");
    assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
    assert_has(&r.stderr, "No module named 'bento_ray'");
}

#[test]
fn status_wait_gives_up_when_its_time_is_up() {
    let mut details = fixture("running/applications.json");
    details["applications"]["iris-cluster"]["status"] = json!("DEPLOYING");
    let runner =
        &mut details["applications"]["iris-cluster"]["deployments"]["bento-runner-iris_clf"];
    runner["status"] = json!("UPDATING");
    runner["message"] = json!(
        "Deployment 'bento-runner-iris_clf' has 1 replicas that have taken more than 30s to be scheduled. This may be due to waiting for the cluster to auto-scale or for a runtime environment to be installed. Resources required for each replica: {\"CPU\": 0.5, \"no_such_node\": 1}"
    );
    let fake = cluster("2.60.0", &details);
    let spec = Spec::new("iris-cluster", "");
    let t0 = std::time::Instant::now();
    let r = cmd(&spec, "status", &fake.address, &["--wait", "2"]);
    assert_eq!(r.code, 1);
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert_has(&r.stderr, "`iris-cluster` is not RUNNING after 2 s");
    // A progress line (not a terminal: one per change).
    assert_has(&r.stderr, "iris-cluster: DEPLOYING");
    // What Ray says about the deployment still starting, with its table.
    assert_has(
        &r.stderr,
        "`bento-runner-iris_clf` ([runners.iris_clf]) is UPDATING: Deployment 'bento-runner-iris_clf' has 1 replicas that have taken more than 30s to be scheduled.",
    );
}

// --- diff and deploy ------------------------------------------------------

#[test]
fn diff_of_a_new_application_next_to_another() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-new", "");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stdout, "application `iris-new`: added");
    assert_has(
        &r.stdout,
        "application `other`: kept by `bentoray deploy`; `serve deploy` of serve.yaml would DELETE it",
    );
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("cluster__diff_added", scrub(&r.stdout, &fake, &spec)));
}

#[test]
fn deploy_keeps_other_applications_and_diff_then_shows_no_change() {
    let live = fixture("running/applications.json");
    let fake = cluster("2.60.0", &live);
    let spec = Spec::new("iris-new", "");
    let r = cmd(&spec, "deploy", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let puts = fake.puts();
    assert_eq!(puts.len(), 1);
    let apps = puts[0]["applications"].as_array().unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a["name"].as_str().unwrap()).collect();
    let mut live_names: Vec<&str> = live["applications"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    live_names.push("iris-new");
    assert_eq!(names, live_names);
    // Every other application exactly as deployed.
    for a in apps.iter().filter(|a| a["name"] != "iris-new") {
        assert_eq!(
            *a,
            live["applications"][a["name"].as_str().unwrap()]["deployed_app_config"]
        );
    }
    // The cluster's top-level options, so a running Serve is not told others.
    assert_eq!(puts[0]["http_options"], live["http_options"]);
    assert_eq!(puts[0]["proxy_location"], live["proxy_location"]);
    // Built into the spec's local:// working_dir.
    assert!(spec.dir.path().join("out/bento_ray.py").is_file());
    assert!(spec.dir.path().join("out/serve.yaml").is_file());

    // The cluster, now running what was submitted: diff shows no change.
    let mut after = live.clone();
    let ours = apps
        .iter()
        .find(|a| a["name"] == "iris-new")
        .unwrap()
        .clone();
    after["applications"]["iris-new"] = json!({
        "name": "iris-new", "status": "RUNNING", "message": "", "route_prefix": "/iris-new",
        "source": "declarative", "deployed_app_config": ours, "deployments": {},
    });
    let fake2 = cluster("2.60.0", &after);
    let r = cmd(&spec, "diff", &fake2.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stdout, "application `iris-new`: no change\n");
    assert!(!r.stdout.contains("\n  "), "{}", r.stdout);
}

#[test]
fn deploy_dry_run_submits_nothing() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-new", "");
    let r = cmd(&spec, "deploy", &fake.address, &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stdout, "application `iris-new`: added");
    assert!(fake.puts().is_empty());
    assert!(!spec.dir.path().join("out").exists());
}

#[test]
fn deploy_reports_what_ray_rejects() {
    let fake = FakeDashboard::start(vec![
        version("2.60.0"),
        applications(&fixture("running/applications.json")),
        route(
            "PUT",
            "/api/serve/applications/",
            400,
            "1 validation error for ServeDeploySchema",
        ),
    ]);
    let spec = Spec::new("iris-new", "");
    let r = cmd(&spec, "deploy", &fake.address, &[]);
    assert_eq!(r.code, 1);
    assert_has(&r.stderr, "Ray rejected the config: 1 validation error");
}

#[test]
fn deploy_needs_a_working_dir_the_nodes_can_reach() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-new", "");
    spec.replace("runtime_env = { working_dir = ", "# ");
    let r = cmd(&spec, "deploy", &fake.address, &[]);
    assert_eq!(r.code, 1);
    assert_has(&r.stderr, "sets no [application] runtime_env.working_dir");
    assert!(fake.puts().is_empty());
}

#[test]
fn replaced_application_lists_changed_added_and_removed_options() {
    let spec = Spec::new("iris-cluster", "");
    // The live config sets what the spec no longer does, and otherwise.
    let mut live = details_with("running/applications.json", "iris-cluster", "iris-cluster");
    let runner = deployed_config(&mut live, "iris-cluster", "bento-runner-iris_clf");
    runner["max_ongoing_requests"] = json!(7);
    runner["num_replicas"] = json!(3);
    let fake = cluster("2.60.0", &live);
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stdout, "application `iris-cluster`: replaced");
    assert_has(&r.stdout, "~ num_replicas: 3 -> 2");
    assert_has(
        &r.stdout,
        "- max_ongoing_requests (was 7; back to the default)",
    );
}

#[test]
fn removed_override_stays_before_2_60() {
    let spec = Spec::new("iris-cluster", "[ray]\nversion = \"2.59\"\n");
    // local:// needs 2.60; a remote URI for the module instead.
    let text = spec.text();
    let start = text.find("runtime_env = ").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!(
        "{}runtime_env = {{ working_dir = \"s3://bucket/out.zip\" }}{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(spec.path(), text).unwrap();
    let mut live = fixture("running/applications.json");
    live.as_object_mut()
        .unwrap()
        .shift_remove("restores_unset_config_options");
    deployed_config(&mut live, "iris-cluster", "bento-runner-iris_clf")["max_ongoing_requests"] =
        json!(7);
    let fake = cluster("2.59.0", &live);
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stdout, "- max_ongoing_requests (was 7): STAYS");
    assert_has(&r.stderr, "BR384(removed-override-stays)");
    let line = spec.line_of("[runners.iris_clf]");
    assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
}

#[test]
fn version_mismatch_changes_a_verdict() {
    // The spec targets 2.60 and leaves max_ongoing_requests to Ray, whose
    // default was 100 before 2.32.
    let fake = running_cluster("2.31.0");
    let spec = Spec::new("iris-new", "[ray]\nversion = \"2.60\"\n");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_has(&r.stderr, "BR383(cluster-ray-verdict)");
    assert_has(&r.stderr, "`max_ongoing_requests` is left to Ray's default");
    let r = cmd(&spec, "deploy", &fake.address, &[]);
    assert_eq!(r.code, 1);
    assert_has(&r.stderr, "nothing deployed");
    assert!(fake.puts().is_empty());
    // Same release: no finding.
    let fake = running_cluster("2.60.1");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("BR383"), "{}", r.stderr);
}

#[test]
fn option_unknown_on_the_cluster_is_an_error_at_the_option() {
    // rolling_update_percentage is newer than Ray 2.31.
    let spec = Spec::new("iris-new", "[ray]\nversion = \"2.60\"\n");
    spec.replace(
        "max_replicas_per_node = 1\n",
        "max_replicas_per_node = 1\nmax_ongoing_requests = 5\nrolling_update_percentage = 0.5\n",
    );
    let fake = running_cluster("2.31.0");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line = spec.line_of("rolling_update_percentage = 0.5");
    assert_has(&r.stderr, "on the cluster's Ray 2.31");
    assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
}

#[test]
fn route_prefix_taken_by_another_application() {
    let fake = running_cluster("2.60.0");
    let spec = Spec::new("iris-new", "");
    spec.replace("route_prefix = \"/iris-new\"", "route_prefix = \"/other\"");
    let r = cmd(&spec, "deploy", &fake.address, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_has(&r.stderr, "BR386(route-prefix-taken)");
    assert_has(
        &r.stderr,
        "route prefix `/other` is already served by application `other`",
    );
    let line = spec.line_of("route_prefix = \"/other\"");
    assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
    assert!(fake.puts().is_empty());
}

#[test]
fn json_output_is_one_object() {
    let fake = cluster("2.60.0", &fixture("failed/applications.json"));
    let spec = Spec::new("iris-broken", "");
    // `bentoray --format json <command>`: its exit code and its one object.
    let json_of = |command: &str, code: i32| -> Value {
        let args = [
            "--format",
            "json",
            command,
            "bentoray.toml",
            "--address",
            &fake.address,
        ];
        let r = run(&args, spec.dir.path());
        assert_eq!(r.code, code, "{command}: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("stdout is one JSON object")
    };
    let v = json_of("status", 1);
    assert_eq!(v["phase"], "failed");
    assert_eq!(v["diagnostics"][0]["code"], "BR381");
    assert_eq!(
        v["diagnostics"][0]["line"],
        spec.line_of("[runners.iris_clf]")
    );
    let v = json_of("diff", 0);
    assert_eq!(v["verdict"], "replaced");
    assert_eq!(v["cluster"]["ray_version"], "2.60.0");
    assert_eq!(
        v["deleted_by_serve_deploy"],
        json!(["iris-cluster", "other"])
    );
    assert_eq!(v["diagnostics"], json!([]));
}

#[test]
fn unknown_cluster_release_is_a_warning() {
    let fake = running_cluster("2.99.0");
    let spec = Spec::new("iris-new", "");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_has(&r.stderr, "BR385(cluster-ray-unknown)");
}

// --- pure functions ----------------------------------------------------------

#[test]
fn failed_services_map_to_their_services_tables() {
    use bentoray::cluster::{live, status};
    let spec = root().join("examples/services/bentoray.toml");
    let (plan, _) = common::plan_for(&spec, "bentoray.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let tree = bentoray::spec::spanned::parse(&text).unwrap();
    let details = json!({"applications": {plan.serve.application.name.clone(): {
    "status": "DEPLOY_FAILED", "message": "",
    "deployments": {
        "Middle": {"status": "DEPLOY_FAILED", "message": "boom in Middle"},
        "Gateway": {"status": "UNHEALTHY", "message": "Gateway died"},
        "Leaf": {"status": "HEALTHY", "message": ""},
    }}}});
    let live = live::parse(&details).unwrap();
    let bento_span = tree.get("bento").unwrap().span.clone();
    let diags = status::failures(&plan, &live, &tree, bento_span);
    let at: Vec<(String, usize)> = diags
        .iter()
        .map(|d| {
            let span = d.span.clone().unwrap();
            let line = text[..span.start].lines().count();
            (text[span].to_string(), line)
        })
        .collect();
    // Middle at its table's header key; Gateway has no table: the bento value.
    let middle = text.lines().position(|l| l == "[services.Middle]").unwrap() + 1;
    assert_eq!(at[0], ("Middle".to_string(), middle));
    assert_eq!(at[1].0, "\"gateway:latest\"");
    assert!(diags[0].help.as_deref().unwrap().contains("boom in Middle"));
    assert!(
        diags[1]
            .label
            .as_deref()
            .unwrap()
            .contains("no [services.Gateway] table"),
        "{:?}",
        diags[1].label
    );
}

#[test]
fn cluster_release_is_checked_whether_or_not_the_spec_names_a_target() {
    // No [ray] table (the default target), and [ray] without `version`:
    // either way the option newer than the cluster's 2.31 is reported at
    // its own line.
    let fake = running_cluster("2.31.0");
    for extra in ["", "[ray]\nproxy_location = \"EveryNode\"\n"] {
        let spec = Spec::new("iris-new", extra);
        spec.replace(
            "max_replicas_per_node = 1\n",
            "max_replicas_per_node = 1\nmax_ongoing_requests = 5\nrolling_update_percentage = 0.5\n",
        );
        let r = cmd(&spec, "diff", &fake.address, &[]);
        assert_eq!(r.code, 1, "{extra:?}: {}", r.stderr);
        let line = spec.line_of("rolling_update_percentage = 0.5");
        assert_has(&r.stderr, "BR383(cluster-ray-verdict)");
        assert_has(&r.stderr, format!("[bentoray.toml:{line}:"));
        assert_has(&r.stderr, "on the cluster's Ray 2.31");
    }
}

#[test]
fn a_ray_inline_table_without_version_cannot_be_rechecked_and_says_so() {
    let fake = running_cluster("2.31.0");
    let spec = Spec::new("iris-new", "ray = { proxy_location = \"EveryNode\" }\n");
    let r = cmd(&spec, "diff", &fake.address, &[]);
    assert_has(&r.stderr, "BR385(cluster-ray-unknown)");
    assert_has(&r.stderr, "`ray` is not written as a `[ray]` table");
    // The defaults that differ are still found.
    assert_has(&r.stderr, "`max_ongoing_requests` is left to Ray's default");
    assert_eq!(r.code, 1);
}
