//! Generated files are safe for any input: names and values from the spec
//! and the bento land as escaped literals, so hostile strings round-trip
//! unchanged through YAML and Python and never change the code's structure.

mod common;

use common::{bentoray_ok, python_json, python3, root};

const HOSTILE: &[&str] = &[
    "\"\"\"); import os; os.system('echo pwned'); (\"\"\"",
    "'''\nimport os\n'''",
    "line1\nline2\r\n\ttab",
    "back\\slash \\x00 \\u2028",
    "yes",
    "null",
    "- item",
    "key: value",
    "# comment",
    "&anchor *alias !tag",
    "{{ template }}",
    "é ü 中文 😀 \u{2028} \u{0085}",
    "\u{0}\u{7}\u{1b}[31m",
    "",
];

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

/// A TOML basic string (JSON's escapes are a subset of TOML's).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
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
    // Everything after the data section is bentoray's fixed runtime, byte
    // for byte, whatever the input.
    let runtime = include_str!("../src/emit/native_runtime.py").trim_start_matches('\n');
    let (_, after) = text
        .split_once("# ---- runtime (the same for every bento) ----\n")
        .expect("runtime marker");
    assert!(
        after.starts_with(runtime),
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
    let weird = "a\nb\"c.toml";
    std::fs::rename(dir.path().join("bentoray.toml"), dir.path().join(weird)).unwrap();
    bentoray_ok(&["build", weird, "-o", "out"], dir.path());
    for file in ["serve.yaml", "bento_ray.py"] {
        let text = std::fs::read_to_string(dir.path().join("out").join(file)).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("# Generated by bentoray"),
            "{file}: {first}"
        );
        assert!(first.contains(r#""a\nb\"c.toml""#), "{file}: {first}");
        assert!(
            !text.lines().nth(1).unwrap().starts_with('b'),
            "{file}: name leaked onto a new line"
        );
    }
}
