//! `bentoray plan`: every example's table and JSON document are
//! snapshotted; the sources are right (the spec wins over the bento, which
//! wins over Ray's default of the target release); Ray's defaults are shown
//! but never written; nothing is written; errors exit 1 with the
//! diagnostics.

mod common;

use std::path::Path;

use common::{EXAMPLES, bentoray, bentoray_ok, copy_dir, plan_for, root, snapshot_settings};
use serde_json::{Map, Value, json};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn every_example_plan_matches_its_snapshots() {
    for example in EXAMPLES {
        let spec = format!("examples/{example}/bentoray.toml");
        let human = bentoray_ok(&["plan", &spec], &root());
        let json_out = bentoray_ok(&["plan", "--format", "json", &spec], &root());
        let document: Value = serde_json::from_slice(&json_out.stdout)
            .unwrap_or_else(|e| panic!("{example}: stdout is not one JSON document: {e}"));
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("{example}__plan_table"), stdout(&human));
            insta::assert_json_snapshot!(format!("{example}__plan_json"), document);
        });
    }
}

/// `options` flattened as the plan shows them (`ray_actor_options.num_cpus`,
/// `autoscaling_config.max_replicas`): tables one level deep.
fn flatten(options: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in options {
        match v {
            Value::Object(table) => {
                for (sub, sv) in table {
                    out.insert(format!("{k}.{sub}"), sv.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

#[test]
fn rays_defaults_are_shown_but_never_written() {
    for example in EXAMPLES {
        let spec = format!("examples/{example}/bentoray.toml");
        let (plan, _) = plan_for(&root().join(&spec), &spec);
        for unit in &plan.entrypoint.units {
            let written = flatten(&unit.options);
            let not_default: Map<String, Value> = unit
                .resolved
                .iter()
                .filter(|r| !matches!(r.source, bentoray::plan::Source::RayDefault { .. }))
                .map(|r| (r.option.clone(), r.value.clone()))
                .collect();
            assert_eq!(
                written, not_default,
                "{example} / {}: serve.yaml options differ from the plan's non-default rows",
                unit.name
            );
            let serve = plan
                .serve
                .application
                .deployments
                .iter()
                .find(|d| d.name == unit.deployment);
            match serve {
                Some(d) => assert_eq!(d.options, unit.options),
                None => assert!(unit.options.is_empty()),
            }
            assert!(
                unit.resolved
                    .iter()
                    .any(|r| matches!(r.source, bentoray::plan::Source::RayDefault { .. })),
                "{example} / {}: Ray's defaults are listed",
                unit.name
            );
        }
    }
}

/// The services example with `extra` appended to its spec, in a temporary
/// copy of the example (its store next to it).
fn services_plan(extra: &str) -> (tempfile::TempDir, Value, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("examples/bentoml-services"),
        &dir.path().join("bentoml-services"),
    );
    let spec_dir = dir.path().join("services");
    std::fs::create_dir_all(&spec_dir).unwrap();
    let text = std::fs::read_to_string(root().join("examples/services/bentoray.toml")).unwrap();
    std::fs::write(spec_dir.join("bentoray.toml"), format!("{text}\n{extra}")).unwrap();
    let out = bentoray(
        &["plan", "--format", "json", "services/bentoray.toml"],
        dir.path(),
    );
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (dir, doc, out)
}

fn row<'a>(doc: &'a Value, deployment: &str, option: &str) -> &'a Value {
    doc["deployments"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["name"] == deployment))
        .and_then(|d| d["options"].as_array())
        .and_then(|rows| rows.iter().find(|r| r["option"] == option))
        .unwrap_or_else(|| panic!("no row {option} for {deployment} in {doc:#}"))
}

#[test]
fn the_spec_wins_over_the_bento_which_wins_over_ray() {
    let (_dir, doc, out) = services_plan(
        "[services.Gateway]\nnum_replicas = 3\nray_actor_options = { num_cpus = 2 }\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // workers = 2 in the bento, 3 in the spec.
    assert_eq!(
        row(&doc, "Gateway", "num_replicas"),
        &json!({"option": "num_replicas", "value": 3, "source": "spec",
                "overrides": {"setting": "workers = 2", "from": "bento.yaml"}})
    );
    // Gateway has no resources: the spec's CPUs override Ray's default only.
    assert_eq!(
        row(&doc, "Gateway", "ray_actor_options.num_cpus"),
        &json!({"option": "ray_actor_options.num_cpus", "value": 2, "source": "spec"})
    );
    assert_eq!(
        row(&doc, "Leaf", "ray_actor_options.num_cpus"),
        &json!({"option": "ray_actor_options.num_cpus", "value": 0.5, "source": "bento",
                "setting": "resources.cpu = \"500m\"", "from": "bento.yaml"})
    );
    assert_eq!(
        row(&doc, "Leaf", "ray_actor_options.memory")["value"],
        json!(512 * 1024 * 1024)
    );
    assert_eq!(
        row(&doc, "Leaf", "ray_actor_options.num_gpus"),
        &json!({"option": "ray_actor_options.num_gpus", "value": 0, "source": "ray_default",
                "release": "2.60"})
    );
}

#[test]
fn option_names_and_defaults_follow_the_target_release() {
    // Ray 2.8 has `max_concurrent_queries` (no `max_ongoing_requests`) and
    // batches wait 0 s by default.
    // The example spec with the option names Ray 2.8 has.
    let text = std::fs::read_to_string(root().join("examples/services/bentoray.toml"))
        .unwrap()
        .replace("max_ongoing_requests", "max_concurrent_queries");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("examples/bentoml-services"),
        &dir.path().join("bentoml-services"),
    );
    std::fs::create_dir_all(dir.path().join("services")).unwrap();
    std::fs::write(
        dir.path().join("services/bentoray.toml"),
        format!("{text}\n[ray]\nversion = \"2.8\"\n"),
    )
    .unwrap();
    let out = bentoray(
        &["plan", "--format", "json", "services/bentoray.toml"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        row(&doc, "Gateway", "max_concurrent_queries"),
        &json!({"option": "max_concurrent_queries", "value": 16, "source": "bento",
                "setting": "ceil(32 / 2) from traffic.max_concurrency = 32, workers = 2",
                "from": "bento.yaml"})
    );
    let leaf = doc["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Leaf")
        .unwrap();
    let wait = leaf["batching"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["option"] == "batch_wait_timeout_s")
        .unwrap();
    assert_eq!(
        wait,
        &json!({"option": "batch_wait_timeout_s", "value": 0.0, "source": "ray_default",
                "release": "2.8"})
    );
}

#[test]
fn a_short_latency_budget_caps_the_batch_wait() {
    // Middle.shout has max_latency_ms=50 (0.05 s > Ray's 0.01 s default):
    // Ray's default stands. A budget below it shortens the wait.
    let (plan, _) = plan_for(
        &root().join("examples/services/bentoray.toml"),
        "examples/services/bentoray.toml",
    );
    let leaf = plan
        .entrypoint
        .units
        .iter()
        .find(|u| u.name == "Leaf")
        .unwrap();
    let pairs = leaf
        .methods
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == "pairs")
        .unwrap();
    assert_eq!(
        pairs.batch.as_ref().unwrap(),
        json!({"max_batch_size": 100, "batch_wait_timeout_s": 0.01})
            .as_object()
            .unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("examples/bentoml-services"),
        &dir.path().join("store"),
    );
    let middle = dir
        .path()
        .join("store/bentos/gateway/xskigrxn7g3vmax4/src/middle.py");
    let source = std::fs::read_to_string(&middle)
        .unwrap()
        .replace("max_latency_ms=50", "max_latency_ms=4");
    std::fs::write(&middle, source).unwrap();
    std::fs::write(
        dir.path().join("bentoray.toml"),
        "bento = \"gateway:latest\"\nbentoml_home = \"store\"\n[services.Middle]\nmax_ongoing_requests = 16\n[services.Leaf]\nmax_ongoing_requests = 100\n",
    )
    .unwrap();
    let out = bentoray_ok(&["plan", "--format", "json", "bentoray.toml"], dir.path());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let middle = doc["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Middle")
        .unwrap();
    assert_eq!(
        middle["batching"][0]["options"][1],
        json!({"option": "batch_wait_timeout_s", "value": 0.004, "source": "bento",
               "setting": "max_latency_ms = 4", "from": "src/middle.py:9"})
    );
}

#[test]
fn plan_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples"), &dir.path().join("examples"));
    let before = listing(dir.path());
    for spec in [
        "examples/scaling/bentoray.toml",
        "examples/services/bentoray.toml",
    ] {
        bentoray_ok(&["plan", spec], dir.path());
        bentoray_ok(&["plan", "--format", "json", spec], dir.path());
    }
    assert_eq!(listing(dir.path()), before);
}

fn listing(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            all.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    all.sort();
    all
}

#[test]
fn errors_exit_1_with_the_diagnostics() {
    let spec = "tests/cases/malformed_bento_setting/bentoray.toml";
    let human = bentoray(&["plan", spec], &root());
    assert_eq!(human.status.code(), Some(1));
    assert!(human.stdout.is_empty(), "no table on errors");
    assert!(String::from_utf8_lossy(&human.stderr).contains("BR343"));
    let json_out = bentoray(&["plan", "--format", "json", spec], &root());
    assert_eq!(json_out.status.code(), Some(1));
    let diagnostics: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert!(
        diagnostics
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "BR343"),
        "{diagnostics:#}"
    );
    let sarif = bentoray(&["plan", "--format", "sarif", spec], &root());
    assert_eq!(sarif.status.code(), Some(2));
}

/// A bento directory (its bento.yaml and, when given, src/service.py) with
/// a spec naming it, in a new directory; returns that directory and what
/// `bentoray plan --format json` prints for the spec.
fn plan_of_bento(bento_yaml: &str, service_py: Option<&str>) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let bento = dir.path().join("bento");
    std::fs::create_dir_all(&bento).unwrap();
    std::fs::write(bento.join("bento.yaml"), bento_yaml).unwrap();
    if let Some(source) = service_py {
        std::fs::create_dir_all(bento.join("src")).unwrap();
        std::fs::write(bento.join("src/service.py"), source).unwrap();
    }
    std::fs::write(dir.path().join("bentoray.toml"), "bento = \"./bento\"\n").unwrap();
    let out = bentoray_ok(&["plan", "--format", "json", "bentoray.toml"], dir.path());
    let doc = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    (dir, doc)
}

#[test]
fn max_ongoing_requests_is_bentomls_per_worker_limit_rounded_up() {
    // BentoML admits ceil(10 / 3) = 4 requests per worker.
    let (dir, doc) = plan_of_bento(
        "service: service:Front\nname: front\nversion: v1\nbentoml_version: 1.4.40\nentry_service: Front\nservices:\n- name: Front\n  service: ''\n  models: []\n  dependencies: []\n  config: {workers: 3, traffic: {max_concurrency: 10}, resources: {cpu: 1500m, memory: 1.5}}\nschema: {name: Front, type: service, routes: [{name: go, route: /go, batchable: false, is_task: false}]}\nspec: 2\n",
        None,
    );
    assert_eq!(
        row(&doc, "Front", "max_ongoing_requests"),
        &json!({"option": "max_ongoing_requests", "value": 4, "source": "bento",
                "setting": "ceil(10 / 3) from traffic.max_concurrency = 10, workers = 3",
                "from": "bento.yaml"})
    );
    assert_eq!(row(&doc, "Front", "num_replicas")["value"], json!(3));
    assert_eq!(
        row(&doc, "Front", "ray_actor_options.num_cpus")["value"],
        json!(1.5)
    );
    // A plain number of memory is GiB, BentoML's unit.
    assert_eq!(
        row(&doc, "Front", "ray_actor_options.memory")["value"],
        json!(1_610_612_736u64)
    );
    // What plan shows is what serve.yaml gets.
    let (plan, _) = plan_for(&dir.path().join("bentoray.toml"), "bentoray.toml");
    let front = &plan.serve.application.deployments[0];
    assert_eq!(
        serde_json::to_value(&front.options).unwrap(),
        json!({"num_replicas": 3, "max_ongoing_requests": 4,
               "ray_actor_options": {"num_cpus": 1.5, "memory": 1_610_612_736u64}})
    );
}

#[test]
fn a_non_literal_max_batch_size_is_left_to_the_loaded_api() {
    let (dir, doc) = plan_of_bento(
        "service: service:Front\nname: front\nversion: v1\nbentoml_version: 1.4.40\nentry_service: Front\nservices:\n- name: Front\n  service: ''\n  models: []\n  dependencies: []\n  config: {traffic: {max_concurrency: 64}}\nschema: {name: Front, type: service, routes: [{name: go, route: /go, batchable: true, is_task: false}]}\nspec: 2\n",
        Some(
            "import bentoml\n\nBIG = 32\n\n@bentoml.service\nclass Front:\n    @bentoml.api(batchable=True, max_batch_size=BIG, max_latency_ms=5)\n    def go(self, xs: list[str]) -> list[str]:\n        return xs\n",
        ),
    );
    let rows = &doc["deployments"][0]["batching"][0]["options"];
    // No row claims Ray's default of 10; the 5 ms budget caps the wait.
    assert_eq!(
        rows,
        &json!([
            {"option": "batch_wait_timeout_s", "value": 0.005, "source": "bento",
             "setting": "max_latency_ms = 5", "from": "src/service.py:7"},
            {"option": "max_concurrent_batches", "value": 1, "source": "ray_default",
             "release": "2.60"}
        ])
    );
    let (plan, _) = plan_for(&dir.path().join("bentoray.toml"), "bentoray.toml");
    let go = &plan.entrypoint.units[0].methods.as_ref().unwrap()[0];
    assert_eq!(
        serde_json::to_value(go.batch.as_ref().unwrap()).unwrap(),
        json!({"batch_wait_timeout_s": 0.005})
    );
}
