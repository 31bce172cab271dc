//! Generated artifacts that are committed stay in sync with the code:
//! the JSON Schema and the README's rule table.
//! `BENTORAY_UPDATE=1 cargo test` rewrites them.

mod common;

use common::root;

fn update() -> bool {
    std::env::var_os("BENTORAY_UPDATE").is_some()
}

#[test]
fn committed_schema_is_fresh() {
    let path = root().join("schema/bentoray.schema.json");
    let expected =
        serde_json::to_string_pretty(&bentoray::spec::types::json_schema()).unwrap() + "\n";
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "schema/bentoray.schema.json is stale: run `BENTORAY_UPDATE=1 cargo test --test schema_and_docs`"
    );
    // `check` validates with the committed copy compiled into the binary.
    if !update() {
        assert_eq!(
            serde_json::to_string_pretty(&bentoray::spec::types::committed_schema()).unwrap()
                + "\n",
            expected,
            "the compiled-in schema differs from the generated one: rebuild"
        );
    }
}

#[test]
fn schema_is_draft07_with_docs_on_every_key() {
    let schema = bentoray::spec::types::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    fn walk(v: &serde_json::Value, path: &str) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (k, p) in props {
                assert!(
                    p.get("description").is_some(),
                    "{path}.{k} has no description"
                );
                walk(p, &format!("{path}.{k}"));
            }
        }
        if let Some(defs) = v.get("definitions").and_then(|d| d.as_object()) {
            for (k, d) in defs {
                walk(d, &format!("#{k}"));
            }
        }
    }
    walk(&schema, "");
}

const BEGIN: &str = "<!-- rules:begin (generated from src/diagnostic/rules.rs) -->\n";
const END: &str = "<!-- rules:end -->";

/// Checks (or, with BENTORAY_UPDATE, rewrites) the README section between
/// two markers.
fn check_readme_section(begin: &str, end: &str, content: &str, what: &str) {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(begin)
        .unwrap_or_else(|| panic!("README lacks {begin:?}"))
        + begin.len();
    let stop = readme
        .find(end)
        .unwrap_or_else(|| panic!("README lacks {end:?}"));
    if update() {
        let new = format!("{}{content}{}", &readme[..start], &readme[stop..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert!(
        readme[start..stop] == *content,
        "README {what} is stale: run `BENTORAY_UPDATE=1 cargo test --test schema_and_docs`"
    );
}

#[test]
fn readme_rule_table_matches_the_rule_table() {
    let table = bentoray::diagnostic::rules::markdown_table();
    check_readme_section(BEGIN, END, &table, "rule table");
}

#[test]
fn rule_codes_and_names_are_unique() {
    let rules = bentoray::diagnostic::rules::RULES;
    let mut codes: Vec<&str> = rules.iter().map(|r| r.code).collect();
    let mut names: Vec<&str> = rules.iter().map(|r| r.name).collect();
    codes.sort();
    codes.dedup();
    names.sort();
    names.dedup();
    assert_eq!(codes.len(), rules.len());
    assert_eq!(names.len(), rules.len());
}

const SPEC_BEGIN: &str = "<!-- spec:begin (generated from src/spec/types.rs) -->\n";
const SPEC_END: &str = "<!-- spec:end -->";

/// The README's spec reference: one table per spec table, one row per key,
/// generated from the JSON Schema so that every key is documented.
fn spec_reference() -> String {
    let schema = bentoray::spec::types::json_schema();
    let sections: &[(&str, Option<&str>)] = &[
        ("Top level", None),
        ("`[ray]`", Some("RaySection")),
        ("`[ray.http_options]`", Some("HttpOptions")),
        (
            "`logging_config` (in `[ray]`, `[application]` or a deployment table)",
            Some("LoggingConfig"),
        ),
        ("`[application]`", Some("ApplicationSection")),
        (
            "`[service]`, `[runners.<runner>]` and `[services.<Service>]`",
            Some("DeploymentOptions"),
        ),
        ("`ray_actor_options`", Some("RayActorOptions")),
        ("`autoscaling_config`", Some("AutoscalingConfig")),
        (
            "`[batching.<runner>.<method>]` and `[batching.<Service>.<api>]`",
            Some("BatchOptions"),
        ),
        (
            "`runtime_env` (in `[application]` or `ray_actor_options`)",
            Some("RuntimeEnv"),
        ),
        ("`pip` of a `runtime_env`, as a table", Some("PipTable")),
        ("`uv` of a `runtime_env`, as a table", Some("UvTable")),
        ("`config` of a `runtime_env`", Some("RuntimeEnvConfig")),
        ("`[kuberay]`", Some("KubeRaySection")),
        ("`[kuberay.head]`", Some("KubeRayHead")),
        ("`[[kuberay.worker_groups]]`", Some("KubeRayWorkerGroup")),
    ];
    let mut out = String::new();
    for (title, def) in sections {
        let table = match def {
            None => &schema,
            Some(name) => &schema["definitions"][*name],
        };
        out.push_str(&format!(
            "#### {title}\n\n| Key | Accepts | Meaning |\n|---|---|---|\n"
        ));
        for (key, prop) in table["properties"].as_object().unwrap() {
            let required = table["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|k| k == key));
            let accepts = bentoray::check::describe(&schema, prop);
            let doc = prop["description"]
                .as_str()
                .unwrap_or_default()
                .replace('|', "\\|");
            out.push_str(&format!(
                "| `{key}`{} | {} | {doc} |\n",
                if required { " (required)" } else { "" },
                accepts.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

#[test]
fn readme_spec_reference_matches_the_schema() {
    check_readme_section(SPEC_BEGIN, SPEC_END, &spec_reference(), "spec reference");
}

#[test]
fn readme_option_table_matches_the_version_table() {
    check_readme_section(
        "<!-- options:begin (generated from src/spec/types.rs) -->\n",
        "<!-- options:end -->",
        &bentoray::spec::types::options_markdown(),
        "option table",
    );
}

/// A spec that is valid TOML but breaks the schema twice (a number for the
/// `bento` string, a replica count below 1), pointing at the committed schema
/// with the same `#:schema` directive as the examples.
fn spec_breaking_the_schema(dir: &std::path::Path) -> std::path::PathBuf {
    let schema = root().join("schema/bentoray.schema.json");
    let spec = dir.join("bentoray.toml");
    std::fs::write(
        &spec,
        format!(
            "#:schema {}\nbento = 3\n\n[service]\nnum_replicas = 0\n",
            schema.display()
        ),
    )
    .unwrap();
    spec
}

/// The README's editor setup: taplo (Even Better TOML's engine) reads the
/// `#:schema` line and validates with the committed schema. No `--schema` is
/// passed, so a failure on the bad spec proves the directive is used.
#[test]
fn taplo_validates_specs_with_the_schema_directive() {
    let Some(taplo) = common::taplo("taplo_validates_specs_with_the_schema_directive") else {
        return;
    };
    for spec in common::example_specs() {
        common::assert_taplo_accepts(&taplo, &spec, &spec.display().to_string());
    }
    let tmp = tempfile::tempdir().unwrap();
    let bad = spec_breaking_the_schema(tmp.path());
    let out = common::taplo_check(&taplo, &bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "taplo accepts a bad spec");
    assert!(
        stderr.contains("is not of type \"string\"") && !stderr.contains("invalid schema"),
        "taplo did not validate with the schema:\n{stderr}"
    );
}

/// Any draft-07 validator accepts the schema and applies it: check-jsonschema
/// (python-jsonschema) passes every example and reports both errors of the
/// bad spec.
#[test]
fn check_jsonschema_validates_specs() {
    let Some(tool) = common::check_jsonschema("check_jsonschema_validates_specs") else {
        return;
    };
    let schema = root().join("schema/bentoray.schema.json");
    common::assert_draft07_schema(&tool, &schema);
    let out = common::check_jsonschema_specs(&tool, &schema, &common::example_specs());
    assert!(
        out.status.success(),
        "check-jsonschema rejects an example:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let tmp = tempfile::tempdir().unwrap();
    let out =
        common::check_jsonschema_specs(&tool, &schema, &[spec_breaking_the_schema(tmp.path())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "check-jsonschema accepts a bad spec");
    assert!(
        stdout.contains("$.bento") && stdout.contains("$.service.num_replicas"),
        "check-jsonschema did not report both errors:\n{stdout}"
    );
}

/// The pre-commit hook installs the wheel of this very version (setup.py
/// pins it), runs `bentoray check` on files named bentoray.toml, and the
/// wheel is maturin's binary-only kind. `scripts/pre-commit-test.sh` runs
/// the real tools.
#[test]
fn packaging_metadata_agrees() {
    let setup = std::fs::read_to_string(root().join("setup.py")).unwrap();
    let pinned = format!("BENTORAY_VERSION = \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(setup.contains(&pinned), "setup.py does not pin {pinned}");

    let hooks: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap(),
    )
    .unwrap();
    let hook = &hooks[0];
    assert_eq!(hook["id"], "bentoray-check");
    assert_eq!(hook["entry"], "bentoray check");
    assert_eq!(hook["language"], "python");
    assert_eq!(hook["files"], "(^|/)bentoray\\.toml$");

    let pyproject: toml::Table =
        std::fs::read_to_string(root().join("packaging/pypi/pyproject.toml"))
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(pyproject["project"]["name"].as_str(), Some("bentoray"));
    let maturin = &pyproject["tool"]["maturin"];
    assert_eq!(maturin["bindings"].as_str(), Some("bin"));
    let manifest = root()
        .join("packaging/pypi")
        .join(maturin["manifest-path"].as_str().unwrap());
    assert_eq!(
        manifest.canonicalize().unwrap(),
        root().join("Cargo.toml").canonicalize().unwrap()
    );
}

/// The schema a spec without `[kuberay]` is checked with has no reference
/// to the definitions it drops, compiles, and still knows the key.
#[test]
fn schema_without_kuberay_is_whole() {
    let mut schema = bentoray::spec::types::committed_schema();
    bentoray::spec::types::without_kuberay(&mut schema);
    let text = schema.to_string();
    assert!(
        !text.contains("#/definitions/KubeRay"),
        "a dangling reference"
    );
    assert!(schema["properties"]["kuberay"]["description"].is_string());
    jsonschema::draft7::new(&schema).expect("compiles");
}
