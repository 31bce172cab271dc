//! Every example builds; its diagnostics, normalized plan and emitted files
//! are snapshotted (in `snapshots/`), and the emitted files are valid YAML
//! and Python that say what the spec says.

mod common;

use bentoray::bento::BentoKind;
use bentoray::spec::types::EntrypointKind;
use common::{
    EXAMPLES, assert_ruff_clean, assert_ruff_formatted, bentoray_ok, files_for, plan_for,
    python_json, python3, pyyaml_load, pyyaml_pythons, root, ruff, snapshot_settings,
};

#[test]
fn examples_match_snapshots() {
    for example in EXAMPLES {
        let name = format!("examples/{example}/bentoray.toml");
        let (plan, report) = plan_for(&root().join(&name), &name);
        let files = bentoray::emit::files(&plan);
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                format!("{example}__diagnostics"),
                bentoray::diagnostic::render_human(&report, false)
            );
            insta::assert_json_snapshot!(format!("{example}__plan"), plan);
            for f in &files {
                insta::assert_snapshot!(format!("{example}__{}", f.name), f.contents);
            }
        });
    }
}

/// The new-style example: the deployment units bentoray read from its
/// bento.yaml and Python sources are snapshotted (its diagnostics, plan and
/// emitted files are, with the other examples'), and `build` writes both
/// files.
#[test]
fn services_example_is_read_and_built() {
    let name = "examples/services/bentoray.toml";
    let out = bentoray::check::check_file(&root().join(name), name);
    let checked = out.checked.unwrap_or_else(|| {
        panic!(
            "{name} has errors:\n{}",
            bentoray::diagnostic::render_human(&out.report, false)
        )
    });
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("services__bento", checked.bento);
    });
    assert!(bentoray::check::build_blockers(&checked).is_empty());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    bentoray_ok(&["build", name, "-o", target.to_str().unwrap()], &root());
    assert!(target.join("serve.yaml").is_file() && target.join("bento_ray.py").is_file());
}

#[test]
fn scaling_example_deploys_what_the_issue_asks() {
    let name = "examples/scaling/bentoray.toml";
    let files = files_for(&root().join(name), name);
    let yaml: serde_json::Value = serde_norway::from_str(&files[0].contents).unwrap();
    let app = &yaml["applications"][0];
    assert_eq!(app["route_prefix"], "/classify");
    assert_eq!(app["import_path"], "bento_ray:app");
    let deployments = app["deployments"].as_array().unwrap();
    let names: Vec<&str> = deployments
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["bento-svc-iris_classifier", "bento-runner-iris_clf"]
    );
    assert_eq!(deployments[0]["num_replicas"], 3);
    assert_eq!(deployments[1]["ray_actor_options"]["num_cpus"], 5);
    // Deployment-level route_prefix was removed from Ray Serve: never emitted.
    assert!(deployments.iter().all(|d| d.get("route_prefix").is_none()));
}

#[test]
fn building_twice_gives_byte_identical_files() {
    let out = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for i in 0..2 {
        let dir = out.path().join(format!("run{i}"));
        bentoray_ok(
            &[
                "build",
                "examples/two_runners/bentoray.toml",
                "-o",
                dir.to_str().unwrap(),
            ],
            &root(),
        );
        runs.push((
            std::fs::read(dir.join("serve.yaml")).unwrap(),
            std::fs::read(dir.join("bento_ray.py")).unwrap(),
        ));
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn emitted_yaml_round_trips_to_the_plan() {
    let mut texts = Vec::new();
    let mut expected = Vec::new();
    for example in EXAMPLES {
        let name = format!("examples/{example}/bentoray.toml");
        let (plan, _) = plan_for(&root().join(&name), &name);
        let files = bentoray::emit::files(&plan);
        let hash = bentoray::emit::entrypoint_hash(&files[1].contents);
        let parsed: serde_json::Value = serde_norway::from_str(&files[0].contents).unwrap();
        assert_eq!(
            parsed,
            bentoray::emit::serve_yaml::to_value(&plan, &hash),
            "{example}"
        );
        assert_eq!(
            parsed["applications"][0]["runtime_env"]["env_vars"][bentoray::emit::HASH_ENV_VAR],
            hash.as_str(),
            "{example}: serve.yaml carries the entrypoint's hash so a rebuilt entrypoint redeploys"
        );
        assert!(
            !files[0].contents.contains("null"),
            "{example}: serve.yaml must omit unset fields"
        );
        texts.push(files[0].contents.clone());
        expected.push(parsed);
    }
    // And as Ray reads it (PyYAML, YAML 1.1).
    for (label, python) in pyyaml_pythons("emitted_yaml_round_trips_to_the_plan") {
        let loaded = pyyaml_load(&python, &texts);
        assert_eq!(loaded, expected, "PyYAML ({label})");
    }
}

/// The entrypoint is valid Python (ruff-clean, format included) whose literals are
/// exactly the plan's values.
#[test]
fn emitted_python_is_valid_and_passes_the_plan() {
    let Some(python) = python3("emitted_python_is_valid_and_passes_the_plan") else {
        return;
    };
    let ruff = ruff("emitted_python_is_valid_and_passes_the_plan");
    if let Some(ruff) = &ruff {
        for runtime in [
            "native_runtime_common.py",
            "native_runtime.py",
            "native_services_runtime.py",
        ] {
            assert_ruff_formatted(ruff, &root().join("src/emit").join(runtime), runtime);
        }
    }
    for example in EXAMPLES {
        let name = format!("examples/{example}/bentoray.toml");
        let (plan, _) = plan_for(&root().join(&name), &name);
        let files = bentoray::emit::files(&plan);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&files[1].name);
        std::fs::write(&path, &files[1].contents).unwrap();
        if let Some(ruff) = &ruff {
            assert_ruff_clean(ruff, &path, example);
        }
        let e = &plan.entrypoint;
        match e.kind {
            EntrypointKind::Bentoml => {
                let args = python_call_arguments(python, &path);
                assert_eq!(
                    args["target"],
                    serde_json::json!(plan.bento_tag),
                    "{example}"
                );
                assert_eq!(
                    args["service_deployment_config"],
                    serde_json::json!(e.service_deployment_config())
                );
                assert_eq!(
                    args["runners_deployment_config_map"],
                    serde_json::json!(e.runners_deployment_config_map())
                );
                assert_eq!(
                    args["enable_batching"],
                    serde_json::json!(e.enable_batching)
                );
                assert_eq!(
                    args["batching_config"],
                    serde_json::json!(e.batching_config())
                );
            }
            EntrypointKind::Native if e.bento_kind == BentoKind::Services => {
                let data = native_data(python, &path);
                assert_eq!(data["BENTO_TAG"], serde_json::json!(plan.bento_tag));
                assert_eq!(data["ENTRY_SERVICE"], serde_json::json!(e.service_name));
                let services = data["SERVICES"].as_object().unwrap();
                let names: Vec<&String> = services.keys().collect();
                let expected: Vec<&String> = e.units.iter().map(|u| &u.name).collect();
                assert_eq!(names, expected, "{example}: every service, in bento order");
                for u in &e.units {
                    let got = &services[&u.name];
                    assert_eq!(got["deployment"], serde_json::json!(u.deployment));
                    assert_eq!(got["options"], serde_json::json!(u.options), "{}", u.name);
                    let apis = got["apis"].as_object().unwrap();
                    let methods = u.methods.as_ref().unwrap();
                    assert_eq!(apis.len(), methods.len(), "{}", u.name);
                    for m in methods {
                        let api = &apis[&m.name];
                        assert_eq!(api["batchable"], m.batchable);
                        assert_eq!(api["streaming"], m.streaming);
                        assert_eq!(api["is_async"], serde_json::json!(m.is_async));
                        assert_eq!(
                            api["batch"],
                            serde_json::json!(m.batch),
                            "{}.{}",
                            u.name,
                            m.name
                        );
                    }
                    let deps: serde_json::Map<String, serde_json::Value> = u
                        .dependencies
                        .iter()
                        .filter(|d| d.url.is_none())
                        .map(|d| {
                            (
                                d.attribute.clone().unwrap(),
                                serde_json::json!(d.service.clone().unwrap()),
                            )
                        })
                        .collect();
                    assert_eq!(got["dependencies"], serde_json::Value::Object(deps));
                }
                assert!(!files[1].contents.contains("ray.serve._private"));
            }
            EntrypointKind::Native => {
                let data = native_data(python, &path);
                assert_eq!(
                    data["BENTO_TAG"],
                    serde_json::json!(plan.bento_tag),
                    "{example}"
                );
                assert_eq!(data["SERVICE_NAME"], serde_json::json!(e.service_name));
                assert_eq!(
                    data["ENABLE_BATCHING"],
                    serde_json::json!(e.enable_batching)
                );
                assert_eq!(
                    data["INGRESS_OPTIONS"],
                    serde_json::json!(e.service_deployment_config())
                );
                let runners = data["RUNNERS"].as_object().unwrap();
                let names: Vec<&String> = runners.keys().collect();
                let expected: Vec<&String> = e.runners().map(|r| &r.name).collect();
                assert_eq!(names, expected, "{example}: every runner, in bento order");
                for r in e.runners() {
                    let got = &runners[&r.name];
                    assert_eq!(
                        got["options"],
                        serde_json::json!(r.options),
                        "{example} {}",
                        r.name
                    );
                    assert_eq!(
                        got["batching"],
                        serde_json::json!(r.batching),
                        "{example} {}",
                        r.name
                    );
                    match &r.methods {
                        None => assert!(got["methods"].is_null()),
                        Some(ms) => {
                            for m in ms {
                                assert_eq!(got["methods"][&m.name]["batchable"], m.batchable);
                                assert_eq!(
                                    got["methods"][&m.name]["batch_dim"],
                                    serde_json::json!([m.batch_dim.0, m.batch_dim.1])
                                );
                            }
                        }
                    }
                }
                assert!(
                    !files[1].contents.contains("ray.serve._private"),
                    "{example}: the native entrypoint must use public Ray Serve APIs only"
                );
            }
        }
    }
}

/// Compiles a native entrypoint and returns its generated data section
/// (every top-level assignment of a literal) as JSON, without importing it.
pub fn native_data(python: &str, path: &std::path::Path) -> serde_json::Value {
    let script = r#"
import ast, json, py_compile, sys
path = sys.argv[1]
py_compile.compile(path, doraise=True)
tree = ast.parse(open(path, encoding="utf-8").read())
out = {}
for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        try:
            out[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            pass
for node in ast.walk(tree):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        assert not any(n.startswith("ray.serve._private") for n in names), names
print(json.dumps(out))
"#;
    python_json(python, script, path)
}

/// Compiles the module and returns the literal arguments of its
/// `bentoml.ray.deployment(...)` call as JSON, without importing bentoml.
pub fn python_call_arguments(python: &str, path: &std::path::Path) -> serde_json::Value {
    let script = r#"
import ast, json, py_compile, sys
path = sys.argv[1]
py_compile.compile(path, doraise=True)
tree = ast.parse(open(path, encoding="utf-8").read())
consts = {}
call = None
for node in tree.body:
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
        consts[node.targets[0].id] = node.value.value
    elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        call = node.value
assert call is not None and ast.unparse(call.func) == "bentoml.ray.deployment", "no deployment call"
out = {"target": consts[call.args[0].id]}
for kw in call.keywords:
    out[kw.arg] = ast.literal_eval(kw.value)
print(json.dumps(out))
"#;
    python_json(python, script, path)
}

/// `bentoml.ray.deployment` names the API server after the Service
/// (`svc.name`), which differs from the bento name when bentofile `name:`
/// renamed the bento.
#[test]
fn service_deployment_is_named_after_the_service_not_the_bento() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bentoray.toml");
    std::fs::write(
        &spec,
        format!(
            "bento = {:?}\nbentoml_home = {:?}\n[service]\nnum_replicas = 2\n",
            root()
                .join("tests/fixtures/renamed-bento")
                .to_str()
                .unwrap(),
            root().join("examples/bentoml").to_str().unwrap()
        ),
    )
    .unwrap();
    let (plan, _) = plan_for(&spec, "bentoray.toml");
    assert_eq!(plan.bento_tag, "iris_bento:uipstxhkfwmbwax4");
    assert_eq!(plan.serve.application.name, "iris_bento");
    assert_eq!(
        plan.serve.application.deployments[0].name,
        "bento-svc-iris_api"
    );
}
