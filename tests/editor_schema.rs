//! `bentoray schema --for SPEC` / `--bento TAG`: the schema specialised to a
//! bento. Its runner, service, method and API names are known properties
//! with Markdown descriptions from the bento; taplo (Even Better TOML's
//! engine) and check-jsonschema flag a misspelled one; every example is
//! valid under its own bento's schema; the output is deterministic.

mod common;

use std::path::{Path, PathBuf};

use common::{bentoray, bentoray_ok, root};
use serde_json::Value;

fn schema_for(args: &[&str], cwd: &Path) -> (String, Value) {
    let mut all = vec!["schema"];
    all.extend_from_slice(args);
    let text = String::from_utf8(bentoray_ok(&all, cwd).stdout).unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// The spec's TOML as JSON, as editors and validators see it.
fn instance(spec: &Path) -> Value {
    let table: toml::Table = std::fs::read_to_string(spec).unwrap().parse().unwrap();
    serde_json::to_value(table).unwrap()
}

fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::draft7::new(schema).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn runners_and_methods_are_known_properties_with_markdown_docs() {
    let (_, schema) = schema_for(&["--for", "examples/two_runners/bentoray.toml"], &root());
    let runners = &schema["properties"]["runners"];
    assert_eq!(runners["additionalProperties"], false);
    let names: Vec<&String> = runners["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["iris_clf", "echo"]);
    let doc = runners["properties"]["iris_clf"]["description"]
        .as_str()
        .unwrap();
    assert!(
        doc.starts_with(
            "**Runner `iris_clf`** (`SklearnRunnable`), deployment `bento-runner-iris_clf`."
        ) && doc.contains("`predict` (batchable, batch_dim (0, 0))"),
        "{doc}"
    );
    let batching = &schema["properties"]["batching"];
    assert_eq!(batching["additionalProperties"], false);
    assert_eq!(
        batching["properties"]["iris_clf"]["additionalProperties"],
        false
    );
    let methods: Vec<&String> = batching["properties"]["iris_clf"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    // Only batchable methods can be configured.
    assert_eq!(methods, ["predict"]);
    assert_eq!(
        batching["properties"]["echo"]["properties"]["double"]["allOf"][0]["$ref"],
        "#/definitions/BatchOptions"
    );
    // The other kind's table takes nothing.
    assert_eq!(
        schema["properties"]["services"]["additionalProperties"],
        false
    );
    assert!(schema["properties"]["services"].get("properties").is_none());
    assert!(
        schema["$id"]
            .as_str()
            .unwrap()
            .ends_with(":iris_classifier:uipstxhkfwmbwax4")
    );
}

#[test]
fn services_and_apis_carry_the_bentos_defaults() {
    let (_, schema) = schema_for(&["--for", "examples/services/bentoray.toml"], &root());
    let services = &schema["properties"]["services"];
    let names: Vec<&String> = services["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["Gateway", "Middle", "Leaf"]);
    let gateway = services["properties"]["Gateway"]["description"]
        .as_str()
        .unwrap();
    assert!(
        gateway.contains("(the entry service: the HTTP ingress)"),
        "{gateway}"
    );
    assert!(gateway.contains("Depends on: `Middle`"), "{gateway}");
    let shout = schema["properties"]["batching"]["properties"]["Middle"]["properties"]["shout"]
        ["description"]
        .as_str()
        .unwrap();
    assert!(
        shout.contains("`max_batch_size` = 16 (src/middle.py:9)"),
        "{shout}"
    );
    assert_eq!(
        schema["properties"]["runners"]["additionalProperties"],
        false
    );
    assert_eq!(
        schema["properties"]["service"]["additionalProperties"],
        false
    );
}

/// Same bytes from any working directory and however the bento is named.
#[test]
fn output_is_deterministic() {
    let (from_root, _) = schema_for(&["--for", "examples/two_runners/bentoray.toml"], &root());
    let (from_example, _) = schema_for(
        &["--for", "bentoray.toml"],
        &root().join("examples/two_runners"),
    );
    assert_eq!(from_root, from_example);
    let (by_tag, _) = schema_for(
        &[
            "--bento",
            "iris_classifier:uipstxhkfwmbwax4",
            "--bentoml-home",
            "examples/bentoml",
        ],
        &root(),
    );
    assert_eq!(from_root, by_tag);
    let (generic, _) = schema_for(&[], &root());
    assert_eq!(
        generic,
        std::fs::read_to_string(root().join("schema/bentoray.schema.json")).unwrap()
    );
}

/// What `bentoray check` accepts, the bento's own schema accepts.
#[test]
fn every_example_is_valid_under_its_bentos_schema() {
    for spec in common::example_specs() {
        let (_, schema) = schema_for(&["--for", spec.to_str().unwrap()], &root());
        let found = errors(&schema, &instance(&spec));
        assert!(found.is_empty(), "{}: {found:#?}", spec.display());
    }
}

/// A spec in a temporary directory whose `#:schema` line names `schema`.
fn spec_with_schema(dir: &Path, spec: &Path, schema: &str) -> PathBuf {
    std::fs::write(dir.join("bento.schema.json"), schema).unwrap();
    let text = std::fs::read_to_string(spec).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("#:schema"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("bentoray.toml");
    std::fs::write(&path, format!("#:schema ./bento.schema.json\n{body}")).unwrap();
    path
}

/// The misspelled runner and service of the CLI cases (and their fixed
/// forms): the generic schema accepts both, the bento's flags the name.
fn misspellings() -> Vec<(PathBuf, &'static str, &'static str)> {
    vec![
        (
            root().join("tests/cases/misspelled_runner/bentoray.toml"),
            "iris_clff",
            "iris_clf",
        ),
        (
            root().join("tests/cases/misspelled_service/bentoray.toml"),
            "Preprocesss",
            "Preprocess",
        ),
    ]
}

#[test]
fn the_bentos_schema_flags_misspelled_runners_and_services() {
    let generic = bentoray::spec::types::committed_schema();
    for (spec, wrong, right) in misspellings() {
        let (_, schema) = schema_for(&["--for", spec.to_str().unwrap()], &root());
        let bad = instance(&spec);
        assert!(
            errors(&generic, &bad).is_empty(),
            "generic schema and {wrong}"
        );
        let found = errors(&schema, &bad);
        assert!(
            found.iter().any(|e| e.contains(wrong)),
            "{wrong} is not flagged: {found:#?}"
        );
        let fixed: Value = serde_json::from_str(&bad.to_string().replace(wrong, right)).unwrap();
        let found = errors(&schema, &fixed);
        assert!(found.is_empty(), "{right}: {found:#?}");
    }
}

/// taplo (Even Better TOML's engine) with the bento's schema from the
/// `#:schema` line: the misspelled runner and service fail, their fixed
/// forms and every example pass.
#[test]
fn taplo_flags_misspellings_with_the_bentos_schema() {
    let Some(taplo) = common::taplo("taplo_flags_misspellings_with_the_bentos_schema") else {
        return;
    };
    for (spec, wrong, right) in misspellings() {
        let (schema, _) = schema_for(&["--for", spec.to_str().unwrap()], &root());
        let dir = tempfile::tempdir().unwrap();
        let copy = spec_with_schema(dir.path(), &spec, &schema);
        let out = common::taplo_check(&taplo, &copy);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "taplo accepts `{wrong}`:\n{stderr}");
        assert!(
            !stderr.contains("invalid schema") && stderr.contains(wrong),
            "taplo did not flag `{wrong}` with the schema:\n{stderr}"
        );
        let text = std::fs::read_to_string(&copy).unwrap();
        std::fs::write(&copy, text.replace(wrong, right)).unwrap();
        common::assert_taplo_accepts(&taplo, &copy, &format!("`{right}`"));
    }
    for spec in common::example_specs() {
        let (schema, _) = schema_for(&["--for", spec.to_str().unwrap()], &root());
        let dir = tempfile::tempdir().unwrap();
        common::assert_taplo_accepts(
            &taplo,
            &spec_with_schema(dir.path(), &spec, &schema),
            &format!("{} under its bento's schema", spec.display()),
        );
    }
}

/// check-jsonschema: the specialised schemas are valid draft-07 and flag
/// the misspelled runner.
#[test]
fn check_jsonschema_agrees() {
    let Some(tool) = common::check_jsonschema("check_jsonschema_agrees") else {
        return;
    };
    for (spec, wrong, _) in misspellings() {
        let (schema, _) = schema_for(&["--for", spec.to_str().unwrap()], &root());
        let dir = tempfile::tempdir().unwrap();
        let schema_path = dir.path().join("bento.schema.json");
        std::fs::write(&schema_path, schema).unwrap();
        common::assert_draft07_schema(&tool, &schema_path);
        let out = common::check_jsonschema_specs(&tool, &schema_path, &[spec]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success() && stdout.contains(wrong), "{stdout}");
    }
}

#[test]
fn bad_arguments_are_reported() {
    let missing = bentoray(&["schema", "--for", "no/such/bentoray.toml"], &root());
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read no/such/bentoray.toml"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bentoray.toml"),
        "[ray]\nversion = \"2.60\"\n",
    )
    .unwrap();
    let no_bento = bentoray(&["schema", "--for", "bentoray.toml"], dir.path());
    assert_eq!(no_bento.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_bento.stderr).contains("names no `bento`"));
    std::fs::write(
        dir.path().join("bentoray.toml"),
        "bento = \"nope:latest\"\nbentoml_home = \"store\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("store")).unwrap();
    let not_found = bentoray(&["schema", "--for", "bentoray.toml"], dir.path());
    assert_eq!(not_found.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_found.stderr).contains("BR202"));
    assert!(not_found.stdout.is_empty());
}
