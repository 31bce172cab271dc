//! Differential test of the bento stage's Python reader against BentoML
//! itself: for each fixture, BentoML imports the bento's sources and reports
//! its services, APIs (route, batchable, batch_dim, max_batch_size,
//! max_latency_ms, streaming, task, async) and dependencies, or a custom
//! runnable's methods (`tests/bentoml_facts/facts.py`); bentoray, which only
//! parses the same sources, must know the same facts (or say it cannot).
//!
//! Needs a Python with BentoML 1.4.40 in `$BENTORAY_BENTOML_PYTHON` (.ci/run
//! passes the end-to-end venv); otherwise prints SKIPPED.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bentoray::bento::{self, Bento, StoreRoot};
use common::root;
use serde_json::{Value, json};

fn bentoml_python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("BENTORAY_BENTOML_PYTHON").map(PathBuf::from);
    let ok = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import bentoml"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: BENTORAY_BENTOML_PYTHON does not name a Python with bentoml"
        );
        return None;
    }
    python
}

fn facts(python: &Path, args: &[&str]) -> Value {
    let out = Command::new(python)
        .arg(root().join("tests/bentoml_facts/facts.py"))
        .args(args)
        .env("BENTOML_DO_NOT_TRACK", "true")
        .env_remove("LEAF_BATCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "facts.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn load(store: &str, tag: &str) -> Bento {
    let store = StoreRoot {
        path: root().join(store),
        origin: "test",
    };
    let loaded = bento::load(tag, &root(), &store);
    loaded.bento.expect("fixture loads")
}

/// bentoray's facts about the services, in facts.py's shape; a fact that
/// bentoray does not know (not a literal) is left out, and BentoML's value
/// for it is dropped before comparing.
fn bentoray_services(bento: &Bento, bentoml: &mut Value) -> Value {
    let mut services = serde_json::Map::new();
    for unit in bento.keyed_units() {
        let mut apis = serde_json::Map::new();
        for m in unit.methods.iter().flat_map(|ms| ms.iter()) {
            let theirs = &mut bentoml["services"][&unit.name]["apis"][&m.name];
            let mut api = json!({
                "route": m.route,
                "batch_dim": m.batch_dim.map(|(i, o)| vec![i, o]),
                "max_batch_size": m.max_batch_size.as_ref().and_then(|s| s.value),
                "max_latency_ms": m.max_latency_ms.as_ref().and_then(|s| s.value),
                "streaming": m.streaming,
                "task": m.task,
                "is_async": m.is_async,
                "batchable": m.batchable,
            });
            for (key, value) in api.as_object_mut().unwrap().clone() {
                if value.is_null()
                    && let Some(obj) = theirs.as_object_mut()
                {
                    assert!(
                        m.unknown.iter().any(|(arg, _)| *arg == key),
                        "{}.{}: `{key}` unknown without a reason",
                        unit.name,
                        m.name
                    );
                    obj.remove(&key);
                    api.as_object_mut().unwrap().remove(&key);
                }
            }
            apis.insert(m.name.clone(), api);
        }
        let deps: BTreeMap<String, Value> = unit
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.attribute.clone().unwrap_or_default(),
                    json!({"service": d.service, "url": d.url}),
                )
            })
            .collect();
        services.insert(
            unit.name.clone(),
            json!({"apis": apis, "dependencies": deps}),
        );
    }
    json!({"entry": bento.service_name, "services": services})
}

#[test]
fn service_facts_match_bentoml() {
    let Some(python) = bentoml_python("service_facts_match_bentoml") else {
        return;
    };
    for (store, tag) in [
        ("examples/bentoml-services", "gateway:latest"),
        ("tests/fixtures/bentoml-1.4.40-task-store", "gateway:latest"),
        (
            "tests/fixtures/bentoml-1.4.38-service-store",
            "summarizer:latest",
        ),
    ] {
        let bento = load(store, tag);
        let src = bento.path.join("src");
        let mut theirs = facts(
            &python,
            &["services", src.to_str().unwrap(), &bento.service],
        );
        let ours = bentoray_services(&bento, &mut theirs);
        assert_eq!(
            ours, theirs,
            "{tag}: bentoray (left) and BentoML (right) differ"
        );
    }
}

#[test]
fn custom_runnable_facts_match_bentoml() {
    let Some(python) = bentoml_python("custom_runnable_facts_match_bentoml") else {
        return;
    };
    let bento = load(
        "tests/fixtures/bentoml-1.4.40-legacy-store",
        "iris_classifier:latest",
    );
    let src = bento.path.join("src");
    let theirs = facts(
        &python,
        &[
            "runnable",
            src.to_str().unwrap(),
            "echo_runnable",
            "EchoRunnable",
        ],
    );
    let echo = bento.unit("echo").unwrap();
    let ours: BTreeMap<String, Value> = echo
        .methods
        .iter()
        .flat_map(|ms| ms.iter())
        .map(|m| {
            (
                m.name.clone(),
                json!({"batchable": m.batchable, "batch_dim": m.batch_dim.map(|(i, o)| vec![i, o])}),
            )
        })
        .collect();
    assert_eq!(serde_json::to_value(ours).unwrap(), theirs);
}
