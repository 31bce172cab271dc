//! Generated files are safe for any input: names and values from the spec
//! and the bento land as escaped literals, so hostile strings round-trip
//! unchanged through YAML and Python and never change the code's structure.

mod common;

use bentoray::diagnostic::SourceFile;
use bentoray::{check, emit, plan};
use common::{
    HOSTILE, assert_ruff_clean, bentoray_ok, python_json, python3, pyyaml_load, pyyaml_pythons,
    root, ruff, toml_str,
};
use serde_json::{Value, json};

fn hostile_spec() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let store = root().join("examples/bentoml");
    let mut hostile_table = serde_json::Map::new();
    let mut toml = String::new();
    toml.push_str(&format!(
        "bento = \"iris_classifier:latest\"\nbentoml_home = {}\n\n[application]\nruntime_env = {{ env_vars = {{ X = {} }} }}\n\n[runners.iris_clf.ray_actor_options.runtime_env]\n",
        toml_str(store.to_str().unwrap()),
        toml_str(HOSTILE[0])
    ));
    for (i, s) in HOSTILE.iter().enumerate() {
        let key = format!("{s}{i}");
        toml.push_str(&format!("{} = {}\n", toml_str(&key), toml_str(s)));
        hostile_table.insert(key, serde_json::Value::String(s.to_string()));
    }
    std::fs::write(dir.path().join("bentoray.toml"), toml).unwrap();
    (dir, serde_json::Value::Object(hostile_table))
}

#[test]
fn hostile_strings_round_trip_through_yaml() {
    let (dir, hostile_table) = hostile_spec();
    bentoray_ok(&["build", "-o", "out"], dir.path());
    let yaml = std::fs::read_to_string(dir.path().join("out/serve.yaml")).unwrap();
    let parsed: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    let app = &parsed["applications"][0];
    assert_eq!(app["runtime_env"]["env_vars"]["X"], HOSTILE[0]);
    assert_eq!(app["deployments"][0]["name"], "bento-runner-iris_clf");
    assert_eq!(
        app["deployments"][0]["ray_actor_options"]["runtime_env"],
        hostile_table
    );
    // Exactly one document, one application, one deployment.
    assert_eq!(parsed.as_object().unwrap().len(), 1);
    assert_eq!(app["deployments"].as_array().unwrap().len(), 1);
}

#[test]
fn hostile_strings_round_trip_through_python() {
    let Some(python) = python3("hostile_strings_round_trip_through_python") else {
        return;
    };
    let (dir, hostile_table) = hostile_spec();
    bentoray_ok(&["build", "-o", "out"], dir.path());
    let py = dir.path().join("out/bento_ray.py");
    let text = std::fs::read_to_string(&py).unwrap();
    assert!(text.is_ascii(), "generated Python must be plain ASCII");
    if let Some(ruff) = ruff("hostile_strings_round_trip_through_python") {
        assert_ruff_clean(&ruff, &py, "hostile native entrypoint");
    }
    // Everything after the data section is bentoray's fixed runtime, byte
    // for byte, whatever the input.
    let runtime = format!(
        "{}\n\n\n{}",
        include_str!("../src/emit/native_runtime_common.py").trim_matches('\n'),
        include_str!("../src/emit/native_runtime.py").trim_matches('\n')
    );
    let (_, after) = text
        .split_once("# ---- runtime (the same for every bento) ----\n")
        .expect("runtime marker");
    assert!(
        after.starts_with(&runtime),
        "the runtime part differs from native_runtime.py"
    );
    // Parse with Python's own parser: before the runtime there is only the
    // docstring and assignments of literals; evaluate them.
    let script = r##"
import ast, json, sys
source = open(sys.argv[1], encoding="utf-8").read()
marker = source.index("# ---- runtime")
cut = source.count("\n", 0, marker) + 1
tree = ast.parse(source)
data = {}
for node in tree.body:
    if node.lineno >= cut:
        break
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        continue  # the docstring
    assert isinstance(node, ast.Assign), ast.dump(node)
    data[node.targets[0].id] = ast.literal_eval(node.value)
print(json.dumps(data))
"##;
    let data = python_json(python, script, &py);
    assert_eq!(
        data["RUNNERS"]["iris_clf"]["options"]["ray_actor_options"]["runtime_env"],
        hostile_table
    );
    assert!(text.ends_with("\napp = _build_application()\n"));
}

#[test]
fn hostile_strings_round_trip_through_python_bentoml_mode() {
    let Some(python) = python3("hostile_strings_round_trip_through_python_bentoml_mode") else {
        return;
    };
    let (dir, hostile_table) = hostile_spec();
    let spec = dir.path().join("bentoray.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    // Top-level keys must come before the first table.
    let text = text.replacen(
        "\n\n[application]",
        "\nentrypoint = \"bentoml\"\n\n[ray]\nversion = \"2.7\"\n\n[application]",
        1,
    );
    std::fs::write(&spec, text).unwrap();
    bentoray_ok(&["build", "-o", "out"], dir.path());
    let py = dir.path().join("out/bento_ray.py");
    assert!(std::fs::read_to_string(&py).unwrap().is_ascii());
    if let Some(ruff) = ruff("hostile_strings_round_trip_through_python_bentoml_mode") {
        assert_ruff_clean(&ruff, &py, "hostile bentoml entrypoint");
    }
    // The module holds a docstring, two imports, one constant and one call,
    // whatever the input.
    let script = r#"
import ast, json, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
kinds = [type(n).__name__ for n in tree.body]
assert kinds == ["Expr", "Import", "Import", "Assign", "Assign"], kinds
call = tree.body[4].value
print(json.dumps({kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}))
"#;
    let args = python_json(python, script, &py);
    assert_eq!(
        args["runners_deployment_config_map"]["iris_clf"]["ray_actor_options"]["runtime_env"],
        hostile_table
    );
}

#[test]
fn spec_names_cannot_break_out_of_header_comments() {
    let (dir, _) = hostile_spec();
    for (weird, escaped) in [
        ("a\nb\"c.toml", r#"'a\nb"c.toml'"#),
        ("spéc 😀\u{2028}.toml", r#""sp\xe9c \U0001f600\u2028.toml""#),
    ] {
        std::fs::copy(dir.path().join("bentoray.toml"), dir.path().join(weird)).unwrap();
        bentoray_ok(&["build", weird, "-o", "out"], dir.path());
        for file in ["serve.yaml", "bento_ray.py"] {
            let text = std::fs::read_to_string(dir.path().join("out").join(file)).unwrap();
            let first = text.lines().next().unwrap();
            assert!(
                first.starts_with("# Generated by bentoray"),
                "{file}: {first}"
            );
            assert!(first.contains(escaped), "{file}: {first}");
            assert!(first.is_ascii(), "{file}: header not ASCII: {first}");
            assert!(
                !text.lines().nth(1).unwrap().starts_with('b'),
                "{file}: name leaked onto a new line"
            );
        }
    }
}

/// Specs that put every hostile string into every free-form place of
/// serve.yaml: application name, `args` and `runtime_env.env_vars` (keys
/// and values, plus a `<<` merge key), `resources` keys and
/// `accelerator_type`. Returns (spec text, what the user wrote there).
fn yaml_corpus_specs() -> Vec<(String, Value)> {
    let store = root().join("examples/bentoml");
    let head = format!(
        "bento = \"iris_classifier:latest\"\nbentoml_home = {}\n",
        toml_str(store.to_str().unwrap())
    );
    let mut specs = Vec::new();
    let mut args = String::from("[application.args]\n\"<<\" = { model = \"evil\" }\n");
    let mut env = String::from("[application.runtime_env.env_vars]\n");
    let mut resources = String::from("[runners.iris_clf.ray_actor_options.resources]\n");
    let mut written_args = serde_json::Map::new();
    written_args.insert("<<".into(), json!({"model": "evil"}));
    let mut written_env = serde_json::Map::new();
    let mut written_resources = serde_json::Map::new();
    // Keys longer than YAML's 1024-character limit for implicit keys, as
    // written and once escaped.
    let long_keys = ["k".repeat(1100), "\u{1f600}".repeat(120)];
    let corpus = HOSTILE
        .iter()
        .copied()
        .chain(long_keys.iter().map(String::as_str));
    for (i, s) in corpus.enumerate() {
        if s == "<<" {
            continue; // written above, as a merge key would be used
        }
        args.push_str(&format!("{} = {}\n", toml_str(s), toml_str(s)));
        written_args.insert(s.to_string(), json!(s));
        let key = format!("{s}{i}");
        env.push_str(&format!("{} = {}\n", toml_str(&key), toml_str(s)));
        written_env.insert(key.clone(), json!(s));
        resources.push_str(&format!("{} = {i}\n", toml_str(&key)));
        written_resources.insert(key, json!(i));
    }
    specs.push((
        format!("{head}\n{args}\n{env}\n{resources}"),
        json!({"args": written_args, "env_vars": written_env, "resources": written_resources}),
    ));
    for s in HOSTILE {
        specs.push((
            format!(
                "{head}\n[application]\nname = {0}\n\n[runners.iris_clf.ray_actor_options]\naccelerator_type = {0}\n",
                toml_str(s)
            ),
            json!({"name": s}),
        ));
    }
    specs
}

/// What serve.yaml must load as: the plan's config, hash included.
fn expected_config(plan: &plan::Plan) -> (String, Value) {
    let files = emit::files(plan);
    let hash = emit::entrypoint_hash(&files[1].contents);
    (
        files[0].contents.clone(),
        emit::serve_yaml::to_value(plan, &hash),
    )
}

#[test]
fn yaml_1_1_and_1_2_loaders_read_back_exactly_the_plan() {
    let mut texts = Vec::new();
    let mut expected = Vec::new();
    for (spec, written) in yaml_corpus_specs() {
        let out = check::check_source(SourceFile::new("bentoray.toml", spec.clone()), &root());
        let Some(checked) = out.checked else {
            // Ray requires a non-empty application name; bentoray says so.
            if written.get("name") == Some(&json!("")) && out.report.has_errors() {
                continue;
            }
            panic!(
                "hostile spec rejected:\n{spec}\n{}",
                bentoray::diagnostic::render_human(&out.report, false)
            );
        };
        let (yaml, config) = expected_config(&plan::lower(&checked, "bentoray.toml"));
        // The plan holds exactly what the user wrote.
        let app = &config["applications"][0];
        if let Some(name) = written.get("name") {
            assert_eq!(&app["name"], name);
            assert_eq!(
                &app["deployments"][0]["ray_actor_options"]["accelerator_type"],
                name
            );
        } else {
            assert_eq!(app["args"], written["args"]);
            let mut env = written["env_vars"].clone();
            env[emit::HASH_ENV_VAR] = app["runtime_env"]["env_vars"][emit::HASH_ENV_VAR].clone();
            assert_eq!(app["runtime_env"]["env_vars"], env);
            assert_eq!(
                app["deployments"][0]["ray_actor_options"]["resources"],
                written["resources"]
            );
        }
        // YAML 1.2 (serde_norway).
        let back: Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(
            back, config,
            "serde_norway reads back something else:\n{yaml}"
        );
        texts.push(yaml);
        expected.push(config);
    }
    // YAML 1.1 (PyYAML's safe_load, as Ray reads the file).
    for (label, python) in pyyaml_pythons("yaml_1_1_and_1_2_loaders_read_back_exactly_the_plan") {
        let loaded = pyyaml_load(&python, &texts);
        for ((doc, want), text) in loaded.iter().zip(&expected).zip(&texts) {
            assert_eq!(
                doc, want,
                "PyYAML ({label}) reads back something else:\n{text}"
            );
        }
    }
    // ASCII only: no character can be a YAML 1.1 line break (NEL, LS, PS).
    for text in &texts {
        assert!(text.is_ascii(), "serve.yaml must be plain ASCII:\n{text}");
    }
}
