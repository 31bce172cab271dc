//! Shared checks of the fuzz targets: run the pipeline the way the CLI does
//! (check, render every diagnostic, plan, emit), and verify that what was
//! emitted reads back to exactly the plan's values.

pub mod pylit;

use std::path::Path;

use bentoray::bento::BentoKind;
use bentoray::check;
use bentoray::diagnostic::{self, SourceFile};
use bentoray::emit::{self, python};
use bentoray::plan::{self, Plan, UnitPlan, UnitRole};
use bentoray::spec::types::{BentoSerialization, EntrypointKind};
use serde_json::{Map, Value, json};

/// Checks a spec like `bentoray build` does and, when it compiles, verifies
/// the emitted files. Panics on any broken invariant.
pub fn check_and_emit(name: &str, text: &str, spec_dir: &Path) {
    let out = check::check_source(SourceFile::new(name, text), spec_dir);
    // The CLI renders every report; spans must fit the source.
    let _ = diagnostic::render_human(&out.report, false);
    let _ = diagnostic::render_human(&out.report, true);
    let _ = diagnostic::render_json(std::slice::from_ref(&out.report));
    let _ = diagnostic::render::sarif::render_sarif(std::slice::from_ref(&out.report));
    let _ = diagnostic::render::github::render_github(std::slice::from_ref(&out.report));
    // Every suggestion's edits lie inside the source, on character
    // boundaries, in order and without overlapping.
    for d in &out.report.diagnostics {
        for s in &d.suggestions {
            let mut end = 0;
            for e in &s.edits {
                assert!(e.span.start >= end && e.span.start <= e.span.end, "{s:?}");
                assert!(text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end));
                end = e.span.end;
            }
        }
    }
    let _ = diagnostic::summary_line(&out.report);
    assert_eq!(
        out.checked.is_some(),
        !out.report.has_errors(),
        "a spec compiles exactly when it has no errors"
    );
    if let Some(checked) = out.checked {
        let plan = plan::lower(&checked, name);
        verify_emit(&plan);
    }
}

/// Characters PyYAML's reader accepts anywhere in a stream.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Line breaks for YAML 1.1 (PyYAML) or Python's tokenizer.
fn breaks_line(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Emits the plan's files and checks them against the plan.
pub fn verify_emit(plan: &Plan) {
    let files = emit::files(plan);
    assert_eq!(files, emit::files(plan), "output is deterministic");
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let module_file = format!("{}.py", plan.entrypoint.module);
    let mut want = vec!["serve.yaml", module_file.as_str()];
    if plan.kuberay.is_some() {
        want.push(emit::RAYSERVICE_FILE);
    }
    assert_eq!(names, want);
    let header = emit::header(plan);
    assert!(
        !header.chars().any(breaks_line),
        "the header stays on one line: {header:?}"
    );
    let python_text = &files[1].contents;
    let hash = emit::entrypoint_hash(python_text);
    verify_serve_yaml(plan, &files[0].contents, &hash);
    verify_python(plan, python_text, &header);
    if let Some(dir) = std::env::var_os("BENTORAY_FUZZ_DUMP") {
        dump(Path::new(&dir), plan, &files, &hash);
    }
}

/// Writes the emitted files and the values they must read back to, for
/// `fuzz/pyyaml_ast_check.py` (PyYAML and Python's own `ast`), one
/// directory per distinct output.
fn dump(dir: &Path, plan: &Plan, files: &[emit::OutputFile], hash: &str) {
    let e = &plan.entrypoint;
    let local = e.bento_serialization == BentoSerialization::LOCAL_BENTO;
    let python = match (e.kind, e.bento_kind) {
        (EntrypointKind::Native, BentoKind::Runners) => json!({
            "BENTO_TAG": plan.bento_tag,
            "SERVICE_NAME": e.service_name,
            "LOAD_FROM_LOCAL_STORE": local,
            "ENABLE_BATCHING": e.enable_batching,
            "INGRESS_OPTIONS": ingress_options(plan),
            "RUNNERS": expected_runners(plan),
        }),
        (EntrypointKind::Native, BentoKind::Services) => json!({
            "BENTO_TAG": plan.bento_tag,
            "ENTRY_SERVICE": e.service_name,
            "LOAD_FROM_LOCAL_STORE": local,
            "SERVICES": expected_services(plan),
        }),
        (EntrypointKind::Bentoml, _) => {
            let (runners, batching) = bentoml_arguments(plan);
            json!({
                "BENTO_TAG": plan.bento_tag,
                "service_deployment_config": ingress_options(plan),
                "runners_deployment_config_map": runners,
                "enable_batching": e.enable_batching,
                "batching_config": batching,
            })
        }
    };
    let expected = json!({
        "kind": e.kind,
        "serve": expected_serve(plan, hash),
        "python": python,
    });
    let out = dir.join(&hash[..16]);
    let _ = std::fs::create_dir_all(&out);
    for f in files {
        let _ = std::fs::write(out.join(&f.name), &f.contents);
    }
    let _ = std::fs::write(out.join("module"), &files[1].name);
    let _ = std::fs::write(out.join("expected.json"), expected.to_string());
}

/// The legacy API server's options (the ingress's; `{}` when it has
/// none).
fn ingress_options(plan: &Plan) -> Value {
    let server = plan
        .entrypoint
        .units
        .iter()
        .find(|u| u.role == UnitRole::ApiServer);
    Value::Object(server.map(|u| u.options.clone()).unwrap_or_default())
}

fn runners(plan: &Plan) -> impl Iterator<Item = &UnitPlan> {
    plan.entrypoint
        .units
        .iter()
        .filter(|u| u.role == UnitRole::Runner)
}

/// The map-valued keyword arguments of the `bentoml` entrypoint's call:
/// the runners that have options, and those that have batching tables.
fn bentoml_arguments(plan: &Plan) -> (Value, Value) {
    let runners_map: Map<String, Value> = runners(plan)
        .filter(|r| !r.options.is_empty())
        .map(|r| (r.name.clone(), object(&r.options)))
        .collect();
    let batching: Map<String, Value> = runners(plan)
        .filter(|r| !r.batching.is_empty())
        .map(|r| (r.name.clone(), batching_tables(r)))
        .collect();
    (Value::Object(runners_map), Value::Object(batching))
}

fn batching_tables(unit: &UnitPlan) -> Value {
    Value::Object(
        unit.batching
            .iter()
            .map(|(m, o)| (m.clone(), object(o)))
            .collect(),
    )
}

/// What serve.yaml must read back to: the plan's cluster options, then its
/// one application with the entrypoint's hash among its environment
/// variables and the deployments that have options.
fn expected_serve(plan: &Plan, hash: &str) -> Value {
    let serve = &plan.serve;
    let app = &serve.application;
    let mut top = Map::new();
    if let Some(p) = serve.proxy_location {
        top.insert("proxy_location".into(), serde_json::to_value(p).unwrap());
    }
    if let Some(h) = &serve.http_options {
        top.insert("http_options".into(), h.clone());
    }
    if let Some(l) = &serve.logging_config {
        top.insert("logging_config".into(), l.clone());
    }
    let mut runtime_env = app.runtime_env.clone().unwrap_or_default();
    match runtime_env.entry("env_vars").or_insert_with(|| json!({})) {
        Value::Object(vars) => {
            vars.insert(emit::HASH_ENV_VAR.into(), json!(hash));
        }
        other => panic!("env_vars is a table of strings, not {other}"),
    }
    let mut a = Map::new();
    a.insert("name".into(), json!(app.name));
    a.insert("route_prefix".into(), json!(app.route_prefix));
    a.insert("import_path".into(), json!(app.import_path));
    a.insert("runtime_env".into(), Value::Object(runtime_env));
    if let Some(args) = &app.args {
        a.insert("args".into(), object(args));
    }
    if let Some(l) = &app.logging_config {
        a.insert("logging_config".into(), l.clone());
    }
    if !app.deployments.is_empty() {
        let deployments = app
            .deployments
            .iter()
            .map(|d| {
                let mut m = Map::new();
                m.insert("name".into(), json!(d.name));
                m.extend(d.options.clone());
                Value::Object(m)
            })
            .collect();
        a.insert("deployments".into(), Value::Array(deployments));
    }
    top.insert("applications".into(), json!([a]));
    Value::Object(top)
}

fn verify_serve_yaml(plan: &Plan, text: &str, hash: &str) {
    if let Some(bad) = text.chars().find(|c| !yaml_printable(*c)) {
        panic!("serve.yaml holds {bad:?}, which PyYAML rejects");
    }
    let expected = expected_serve(plan, hash);
    let read: Value = serde_norway::from_str(text)
        .unwrap_or_else(|e| panic!("serve.yaml does not parse: {e}\n{text}"));
    assert_eq!(read, expected, "serve.yaml reads back to the plan\n{text}");
    // Ray rejects an application with two deployments of one name; the
    // entrypoint binds one deployment per unit.
    let mut seen = std::collections::HashSet::new();
    for u in &plan.entrypoint.units {
        assert!(
            seen.insert(&u.deployment),
            "deployment {:?} twice",
            u.deployment
        );
    }
    // serve.yaml lists exactly the units with options, in unit order.
    let listed: Vec<(&str, &Map<String, Value>)> = plan
        .serve
        .application
        .deployments
        .iter()
        .map(|d| (d.name.as_str(), &d.options))
        .collect();
    let with_options: Vec<(&str, &Map<String, Value>)> = plan
        .entrypoint
        .units
        .iter()
        .filter(|u| !u.options.is_empty())
        .map(|u| (u.deployment.as_str(), &u.options))
        .collect();
    assert_eq!(
        listed, with_options,
        "serve.yaml's deployments are the units'"
    );
}

fn object(map: &Map<String, Value>) -> Value {
    Value::Object(map.clone())
}

/// The native entrypoint's RUNNERS, as the runtime reads it: every
/// runner, with its methods (`None`: read from the loaded runner), its
/// batching tables and its options.
fn expected_runners(plan: &Plan) -> Value {
    let mut out = Map::new();
    for r in runners(plan) {
        let methods = match &r.methods {
            Some(ms) => Value::Object(
                ms.iter()
                    .map(|m| {
                        (
                            m.name.clone(),
                            json!({"batchable": m.batchable, "batch_dim": [m.batch_dim.0, m.batch_dim.1]}),
                        )
                    })
                    .collect(),
            ),
            None => Value::Null,
        };
        out.insert(
            r.name.clone(),
            json!({"methods": methods, "batching": batching_tables(r), "options": r.options}),
        );
    }
    Value::Object(out)
}

/// The native entrypoint's SERVICES, as the services runtime reads it:
/// every service with its deployment, options, APIs (the batched ones with
/// their `serve.batch` options) and in-bento dependencies (attribute ->
/// service; a URL dependency is BentoML's HTTP client's, not listed).
fn expected_services(plan: &Plan) -> Value {
    let mut out = Map::new();
    for s in &plan.entrypoint.units {
        let UnitRole::Service { .. } = s.role else {
            continue;
        };
        let mut apis = Map::new();
        for m in s.methods.as_deref().unwrap_or_default() {
            apis.insert(
                m.name.clone(),
                json!({
                    "batchable": m.batchable,
                    "batch_dim": [m.batch_dim.0, m.batch_dim.1],
                    "is_async": m.is_async,
                    "streaming": m.streaming,
                    "batch": m.batch.clone().map(Value::Object),
                }),
            );
        }
        let mut dependencies = Map::new();
        for d in &s.dependencies {
            if let (Some(attribute), Some(service), None) = (&d.attribute, &d.service, &d.url) {
                dependencies.insert(attribute.clone(), json!(service));
            }
        }
        out.insert(
            s.name.clone(),
            json!({
                "deployment": s.deployment,
                "options": s.options,
                "apis": apis,
                "dependencies": dependencies,
            }),
        );
    }
    Value::Object(out)
}

fn verify_python(plan: &Plan, text: &str, header: &str) {
    assert!(!text.contains('\0'), "Python source cannot hold NUL");
    let first = format!("# {header}\n");
    assert!(text.starts_with(&first), "the header is the first line");
    let e = &plan.entrypoint;
    let data = match e.kind {
        EntrypointKind::Native => text.split_once("# ---- generated data ----\n"),
        EntrypointKind::Bentoml => text.split_once("\n\nBENTO_TAG = "),
    };
    let (_, data) = data.expect("the data section is where it belongs");
    let mut p = pylit::Parser::new(data);
    let assign = |p: &mut pylit::Parser, name: &str, want: Value| {
        if !name.is_empty() {
            p.expect(name).unwrap();
            p.expect("=").unwrap();
        }
        let got = p.value().unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(got, want, "{name} reads back to the plan");
    };
    match e.kind {
        EntrypointKind::Native => {
            let local = e.bento_serialization == BentoSerialization::LOCAL_BENTO;
            assign(&mut p, "BENTO_TAG", json!(plan.bento_tag));
            match e.bento_kind {
                BentoKind::Runners => {
                    assign(&mut p, "SERVICE_NAME", json!(e.service_name));
                    assign(&mut p, "LOAD_FROM_LOCAL_STORE", json!(local));
                    assign(&mut p, "ENABLE_BATCHING", json!(e.enable_batching));
                    assign(&mut p, "INGRESS_OPTIONS", ingress_options(plan));
                    assign(&mut p, "RUNNERS", expected_runners(plan));
                }
                BentoKind::Services => {
                    assign(&mut p, "ENTRY_SERVICE", json!(e.service_name));
                    assign(&mut p, "LOAD_FROM_LOCAL_STORE", json!(local));
                    assign(&mut p, "SERVICES", expected_services(plan));
                }
            }
            // The runtime as shipped: src/emit/native_runtime_common.py,
            // then the legacy or the services runtime.
            let specific = match e.bento_kind {
                BentoKind::Runners => python::NATIVE_RUNTIME,
                BentoKind::Services => python::NATIVE_SERVICES_RUNTIME,
            };
            let tail = format!(
                "\n\n# ---- runtime (the same for every bento) ----\n{}\n\n\n{}\n\n\n{} = _build_application()\n",
                python::NATIVE_RUNTIME_COMMON.trim_matches('\n'),
                specific.trim_matches('\n'),
                e.variable
            );
            assert_eq!(p.rest(), tail, "the runtime follows the data, verbatim");
        }
        EntrypointKind::Bentoml => {
            let local = e.bento_serialization == BentoSerialization::LOCAL_BENTO;
            assert_eq!(
                text.contains("\nbentoml.set_serialization_strategy(\"LOCAL_BENTO\")\n"),
                local
            );
            assign(&mut p, "", json!(plan.bento_tag));
            p.expect(&format!("{} = bentoml.ray.deployment(", e.variable))
                .unwrap();
            p.expect("BENTO_TAG,").unwrap();
            let (runners, batching) = bentoml_arguments(plan);
            for (kw, want) in [
                ("service_deployment_config", ingress_options(plan)),
                ("runners_deployment_config_map", runners),
                ("enable_batching", json!(e.enable_batching)),
                ("batching_config", batching),
            ] {
                assign(&mut p, kw, want);
                p.expect(",").unwrap();
            }
            p.expect(")").unwrap();
            assert_eq!(p.rest(), "\n", "nothing after the call");
        }
    }
    // Every literal the emitter writes parses back on its own too.
    for unit in &e.units {
        let lit = python::literal(&object(&unit.options), 4);
        assert_eq!(pylit::parse(&lit), Ok(object(&unit.options)));
    }
}
