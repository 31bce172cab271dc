//! Property tests (proptest, bounded case counts; `PROPTEST_CASES` raises
//! them):
//!
//! - any generated valid spec builds, its serve.yaml reads back to exactly
//!   the plan's values with a YAML 1.2 loader (serde_norway) and a YAML 1.1
//!   one (PyYAML, as Ray reads it), and a rebuild is byte-identical;
//! - any string in any name or value is either rejected with a diagnostic
//!   or round-trips exactly through the YAML scalar and the Python literal.
//!
//! The Python side runs once per property over every case (one interpreter
//! start, not one per case), after the cases are generated.

mod common;

use std::cell::RefCell;
use std::path::Path;

use bentoray::diagnostic::{SourceFile, rules};
use bentoray::{check, emit, plan};
use common::{
    HOSTILE, python_json_files, python3, pyyaml_load, pyyaml_pythons, root, ruff, temp_files,
    toml_str,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

fn runner(default_cases: u32) -> TestRunner {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config.failure_persistence = None;
    TestRunner::new(config)
}

/// Any string, weighted towards the ones that break YAML and Python.
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        2 => "[ -~]{0,12}",
        2 => "[yYnNoOtTfF~<=.:_0-9+-][a-zA-Z0-9_:.-]{0,5}",
        1 => "[\u{0}-\u{1f}\u{7f}-\u{a0}\u{2028}\u{2029}\u{feff}]{1,4}",
        // Past YAML's 1024-character limit for implicit keys once escaped.
        1 => "[a-z\u{1f600}]{1000,1100}",
    ]
}

/// A TOML value that JSON (and Ray) can hold: no datetimes.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any_string().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            btree_map(any_string(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON value as a TOML inline value.
fn toml_value(value: &Value) -> String {
    match value {
        Value::String(s) => toml_str(s),
        Value::Number(n) if n.is_f64() => format!("{:?}", n.as_f64().unwrap()),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!("{{ {} }}", toml_entries(map, ", ")),
        Value::Null => unreachable!("no null in generated values"),
    }
}

fn toml_entries(map: &Map<String, Value>, separator: &str) -> String {
    map.iter()
        .map(|(k, v)| format!("{} = {}", toml_str(k), toml_value(v)))
        .collect::<Vec<_>>()
        .join(separator)
}

fn head() -> String {
    format!(
        "bento = \"iris_classifier:latest\"\nbentoml_home = {}\n",
        toml_str(root().join("examples/bentoml").to_str().unwrap())
    )
}

/// Actor options Ray accepts: resource quantities with at most 4 decimal
/// places, never named CPU or GPU.
fn actor_options() -> impl Strategy<Value = String> {
    (
        0u32..8,
        btree_map(
            any_string().prop_filter("CPU/GPU go in num_cpus/num_gpus", |k| {
                k != "CPU" && k != "GPU"
            }),
            (0u32..400).prop_map(|q| f64::from(q) / 4.0),
            0..3,
        ),
        proptest::option::of(any_string()),
    )
        .prop_map(|(cpus, resources, accelerator)| {
            let resources: Map<String, Value> = resources
                .into_iter()
                .map(|(k, q)| (k, Value::from(q)))
                .collect();
            let mut out = format!(
                "ray_actor_options = {{ num_cpus = {cpus}, resources = {}",
                toml_value(&Value::Object(resources))
            );
            if let Some(a) = accelerator {
                out.push_str(&format!(", accelerator_type = {}", toml_str(&a)));
            }
            out.push_str(" }\n");
            out
        })
}

/// A valid spec with free-form strings and values wherever Ray takes them.
fn valid_spec() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any_string().prop_filter("Ray needs a non-empty name", |s| !s.is_empty()),
        "(/|/[a-z0-9_.-]{1,8})",
        btree_map(any_string(), any_value(), 0..4),
        btree_map(any_string(), any_string(), 0..3),
        (1u32..5, actor_options()),
        (1u32..200, actor_options()),
        (1u32..64, (0u32..100).prop_map(|t| f64::from(t) / 100.0)),
    )
        .prop_map(
            |(batching, name, prefix, args, env, service, runner, batch)| {
                let env: Map<String, Value> =
                    env.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
                let args: Map<String, Value> = args.into_iter().collect();
                format!(
                    "{}enable_batching = {batching}\n\n[application]\nname = {}\nroute_prefix = {}\n\
                     args = {}\nruntime_env = {{ env_vars = {} }}\n\n\
                     [service]\nnum_replicas = {}\n{}\n\
                     [runners.iris_clf]\nmax_ongoing_requests = {}\n{}\n\
                     [batching.iris_clf.predict]\nmax_batch_size = {}\nbatch_wait_timeout_s = {:?}\n",
                    head(),
                    toml_str(&name),
                    toml_str(&prefix),
                    toml_value(&Value::Object(args)),
                    toml_value(&Value::Object(env)),
                    service.0,
                    service.1,
                    runner.0,
                    runner.1,
                    batch.0,
                    batch.1,
                )
            },
        )
}

/// What a build produces: the checked report's verdict, and the files.
struct Build {
    plan: plan::Plan,
    files: Vec<emit::OutputFile>,
    config: Value,
}

fn build(spec: &str) -> Result<Build, Box<check::CheckOutput>> {
    let out = check::check_source(SourceFile::new("bentoray.toml", spec), Path::new(""));
    let Some(checked) = &out.checked else {
        return Err(Box::new(out));
    };
    let plan = plan::lower(checked, "bentoray.toml");
    let files = emit::files(&plan);
    let hash = emit::entrypoint_hash(&files[1].contents);
    let config = emit::serve_yaml::to_value(&plan, &hash);
    Ok(Build {
        plan,
        files,
        config,
    })
}

/// The YAML 1.2 side, per case: serde_norway reads back the plan's values.
fn yaml_reads_back(build: &Build) -> Result<(), TestCaseError> {
    let yaml = &build.files[0].contents;
    prop_assert!(yaml.is_ascii(), "serve.yaml not ASCII:\n{}", yaml);
    let back: Value = serde_norway::from_str(yaml)
        .map_err(|e| TestCaseError::fail(format!("serde_norway: {e}\n{yaml}")))?;
    prop_assert_eq!(&back, &build.config, "serde_norway reads back:\n{}", yaml);
    Ok(())
}

/// The YAML 1.1 side, once for all cases: PyYAML reads back the plan.
fn pyyaml_reads_back(test: &str, cases: &[(String, Value)]) {
    let texts: Vec<String> = cases.iter().map(|(t, _)| t.clone()).collect();
    for (label, python) in pyyaml_pythons(test) {
        let loaded = pyyaml_load(&python, &texts);
        for (doc, (text, want)) in loaded.iter().zip(cases) {
            assert_eq!(
                doc, want,
                "PyYAML ({label}) reads back something else:\n{text}"
            );
        }
    }
}

/// The Python side, once for all cases: each native entrypoint's data
/// section is literals only (before the runtime marker) and evaluates to
/// the plan's values, and `ruff format` would leave it as it is.
fn python_data_matches_plan(test: &str, cases: &[(String, plan::Plan)]) {
    let Some(python) = python3(test) else {
        return;
    };
    let (_dir, paths) = temp_files(cases.iter().map(|(text, _)| text.as_str()), "py");
    let script = r##"
import ast, json, sys
out = []
for path in sys.argv[1:]:
    source = open(path, encoding="utf-8").read()
    cut = source.count("\n", 0, source.index("# ---- runtime")) + 1
    data = {}
    for node in ast.parse(source).body:
        if node.lineno >= cut:
            break
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        assert isinstance(node, ast.Assign), (path, ast.dump(node))
        data[node.targets[0].id] = ast.literal_eval(node.value)
    out.append(data)
print(json.dumps(out))
"##;
    // A failure here means Python rejects a generated entrypoint.
    let all: Vec<Value> =
        serde_json::from_value(python_json_files(Path::new(python), script, &paths)).unwrap();
    if let Some(ruff) = ruff(test) {
        // One run for every file: none would be rewritten by a formatter.
        let out = std::process::Command::new(ruff)
            .args(["format", "--no-cache", "--check", "--diff"])
            .args(&paths)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ruff format would rewrite a generated entrypoint:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    for (data, (text, plan)) in all.iter().zip(cases) {
        let e = &plan.entrypoint;
        assert_eq!(
            data["BENTO_TAG"],
            Value::from(plan.bento_tag.clone()),
            "{text}"
        );
        assert_eq!(
            data["INGRESS_OPTIONS"],
            Value::Object(e.service_deployment_config()),
            "{text}"
        );
        for r in e.runners() {
            assert_eq!(
                data["RUNNERS"][&r.name]["options"],
                Value::Object(r.options.clone()),
                "{text}"
            );
        }
    }
}

#[test]
fn valid_specs_build_read_back_and_rebuild_identically() {
    let yaml_cases = RefCell::new(Vec::new());
    let python_cases = RefCell::new(Vec::new());
    runner(32)
        .run(&valid_spec(), |spec| {
            let built = match build(&spec) {
                Ok(b) => b,
                Err(out) => {
                    return Err(TestCaseError::fail(format!(
                        "a valid spec is rejected:\n{spec}\n{}",
                        bentoray::diagnostic::render_human(&out.report, false)
                    )));
                }
            };
            yaml_reads_back(&built)?;
            let again = build(&spec).map_err(|_| TestCaseError::fail("rebuild fails"))?;
            prop_assert_eq!(&again.files, &built.files, "rebuild differs");
            yaml_cases
                .borrow_mut()
                .push((built.files[0].contents.clone(), built.config.clone()));
            python_cases
                .borrow_mut()
                .push((built.files[1].contents.clone(), built.plan));
            Ok(())
        })
        .unwrap();
    pyyaml_reads_back(
        "valid_specs_build_read_back_and_rebuild_identically",
        &yaml_cases.borrow(),
    );
    python_data_matches_plan(
        "valid_specs_build_read_back_and_rebuild_identically",
        &python_cases.borrow(),
    );
}

/// Every place a user's string can go, as (TOML before the first table,
/// tables); `{S}` stands for the string's TOML literal.
const PLACES: &[(&str, &str, &str)] = &[
    ("application name", "", "[application]\nname = {S}\n"),
    ("route prefix", "", "[application]\nroute_prefix = {S}\n"),
    ("import path", "", "[application]\nimport_path = {S}\n"),
    ("args key", "", "[application.args]\n{S} = 1\n"),
    ("args value", "", "[application.args]\nx = {S}\n"),
    (
        "env var name",
        "",
        "[application.runtime_env.env_vars]\n{S} = \"v\"\n",
    ),
    (
        "env var value",
        "",
        "[application.runtime_env.env_vars]\nX = {S}\n",
    ),
    (
        "logs dir",
        "",
        "[application.logging_config]\nlogs_dir = {S}\n",
    ),
    (
        "resource name",
        "",
        "[runners.iris_clf.ray_actor_options.resources]\n{S} = 1\n",
    ),
    (
        "accelerator type",
        "",
        "[runners.iris_clf.ray_actor_options]\naccelerator_type = {S}\n",
    ),
    (
        "service runtime_env",
        "",
        "[service.ray_actor_options.runtime_env]\n{S} = {S}\n",
    ),
    ("runner name", "", "[runners.{S}]\nnum_replicas = 1\n"),
    (
        "batched method name",
        "enable_batching = true\n",
        "[batching.iris_clf.{S}]\nmax_batch_size = 2\n",
    ),
    ("entrypoint kind", "entrypoint = {S}\n", ""),
    ("bento serialization", "bento_serialization = {S}\n", ""),
    ("ray version", "", "[ray]\nversion = {S}\n"),
    ("proxy location", "", "[ray]\nproxy_location = {S}\n"),
];

/// Whether the config holds the string where the place puts it.
fn holds(config: &Value, place: &str, s: &str) -> bool {
    let app = &config["applications"][0];
    let runner = || {
        app["deployments"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["name"] == "bento-runner-iris_clf"))
            .cloned()
            .unwrap_or_default()
    };
    let service = || app["deployments"][0].clone();
    match place {
        "application name" => app["name"] == s,
        "route prefix" => app["route_prefix"] == s,
        "import path" => app["import_path"] == s,
        "args key" => app["args"].get(s) == Some(&Value::from(1)),
        "args value" => app["args"]["x"] == s,
        "env var name" => app["runtime_env"]["env_vars"].get(s) == Some(&Value::from("v")),
        "env var value" => app["runtime_env"]["env_vars"]["X"] == s,
        "logs dir" => app["logging_config"]["logs_dir"] == s,
        "resource name" => runner()["ray_actor_options"]["resources"].get(s) == Some(&1.into()),
        "accelerator type" => runner()["ray_actor_options"]["accelerator_type"] == s,
        "service runtime_env" => {
            service()["ray_actor_options"]["runtime_env"].get(s) == Some(&s.into())
        }
        "runner name" => runner()["num_replicas"] == 1,
        "proxy location" => config["proxy_location"] == s,
        // Only in the entrypoint or in how bentoray reads the spec.
        _ => true,
    }
}

#[test]
fn any_string_anywhere_is_rejected_or_round_trips() {
    let yaml_cases = RefCell::new(Vec::new());
    let python_cases = RefCell::new(Vec::new());
    let place = proptest::sample::select(PLACES);
    let mut runner = runner(160);
    let cases = runner.config().cases;
    runner
        .run(&(place, any_string()), |((name, top, tables), s)| {
            let literal = toml_str(&s);
            let spec = format!(
                "{}{}\n{}",
                head(),
                top.replace("{S}", &literal),
                tables.replace("{S}", &literal)
            );
            match build(&spec) {
                Ok(built) => {
                    prop_assert!(
                        holds(&built.config, name, &s),
                        "{}: {:?} is not in serve.yaml as written:\n{}",
                        name,
                        s,
                        built.files[0].contents
                    );
                    yaml_reads_back(&built)?;
                    yaml_cases
                        .borrow_mut()
                        .push((built.files[0].contents.clone(), built.config.clone()));
                    if built.plan.entrypoint.kind == bentoray::spec::types::EntrypointKind::Native {
                        python_cases
                            .borrow_mut()
                            .push((built.files[1].contents.clone(), built.plan));
                    }
                }
                Err(out) => {
                    // Rejected: with a diagnostic about the spec, never an
                    // internal error.
                    prop_assert!(out.report.has_errors(), "{}: no error for {:?}", name, s);
                    let internal = out
                        .report
                        .diagnostics
                        .iter()
                        .any(|d| d.rule.code == rules::UNREADABLE_SPEC.code);
                    prop_assert!(!internal, "{}: internal error for {:?}", name, s);
                }
            }
            Ok(())
        })
        .unwrap();
    // Most places take any string: the property is not vacuous.
    let accepted = yaml_cases.borrow().len();
    assert!(
        accepted * 3 >= cases as usize,
        "only {accepted} of {cases} accepted"
    );
    pyyaml_reads_back(
        "any_string_anywhere_is_rejected_or_round_trips",
        &yaml_cases.borrow(),
    );
    python_data_matches_plan(
        "any_string_anywhere_is_rejected_or_round_trips",
        &python_cases.borrow(),
    );
}
