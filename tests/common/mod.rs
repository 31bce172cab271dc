//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bentoray::{check, emit, plan};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example specs, by directory under examples/ (the others there are
/// the BentoML stores they use).
pub const EXAMPLES: &[&str] = &[
    "tag_only",
    "scaling",
    "batching",
    "two_runners",
    "bentoml_mode",
    "services",
    "kuberay",
];

/// Every examples/*/bentoray.toml, sorted (each names the committed schema
/// in its `#:schema` line).
pub fn example_specs() -> Vec<PathBuf> {
    let mut specs: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("bentoray.toml"))
        .filter(|p| p.is_file())
        .collect();
    specs.sort();
    assert!(!specs.is_empty());
    specs
}

/// insta settings for the snapshots in snapshots/, named without the test
/// module and without the asserted expression.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Checks a spec and lowers it; panics with the rendered diagnostics if it
/// has errors.
pub fn plan_for(spec: &Path, name: &str) -> (plan::Plan, bentoray::diagnostic::FileDiagnostics) {
    let out = check::check_file(spec, name);
    let Some(checked) = out.checked else {
        panic!(
            "{name} has errors:\n{}",
            bentoray::diagnostic::render_human(&out.report, false)
        );
    };
    (plan::lower(&checked, &plan::spec_name(spec)), out.report)
}

pub fn files_for(spec: &Path, name: &str) -> Vec<emit::OutputFile> {
    emit::files(&plan_for(spec, name).0)
}

pub fn bentoray(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bentoray"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("BENTOML_HOME")
        .output()
        .expect("bentoray runs")
}

/// Runs bentoray and fails the test, showing its stderr, unless it succeeds.
pub fn bentoray_ok(args: &[&str], cwd: &Path) -> Output {
    let out = bentoray(args, cwd);
    assert!(
        out.status.success(),
        "bentoray {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `python3`, when the machine has it; otherwise prints why a test is
/// skipped (so `cargo test` output says so) and returns `None`.
pub fn python3(test: &str) -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => Some("python3"),
        _ => {
            // Written to the real stderr (not the captured `eprintln!`), so
            // `cargo test` shows it even though the test passes.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: python3 not found on PATH"
            );
            None
        }
    }
}

/// Copies a directory tree (fixtures into a temp dir).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `ruff`, from `$BENTORAY_RUFF` or PATH (.ci/run installs a pinned one);
/// otherwise prints why a test is skipped and returns `None`.
pub fn ruff(test: &str) -> Option<PathBuf> {
    python_tool("ruff", "BENTORAY_RUFF", &format!("{test} (ruff part)"))
}

/// A Python CLI tool from `$<env_var>` or PATH (scripts/python-tools.sh
/// installs pinned ones); otherwise prints why `test` is skipped and returns
/// `None`.
pub fn python_tool(name: &str, env_var: &str, test: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(env_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name));
    match Command::new(&candidate).arg("--version").output() {
        Ok(o) if o.status.success() => Some(candidate),
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {name} not found (set {env_var} or put {name} on PATH)"
            );
            None
        }
    }
}

/// Runs a Python script on a generated file and parses the JSON it prints;
/// fails the test with Python's error output when the script fails.
pub fn python_json(python: &str, script: &str, path: &Path) -> serde_json::Value {
    python_json_files(Path::new(python), script, &[path.to_path_buf()])
}

/// Writes each text to its own file (`<index>.<extension>`) in a new
/// temporary directory, which lives as long as the returned handle.
pub fn temp_files<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    extension: &str,
) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.path().join(format!("{i}.{extension}"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

/// Runs a Python script once on several generated files (their paths are
/// its arguments) and parses the JSON it prints; fails the test with
/// Python's error output when the script fails.
pub fn python_json_files(python: &Path, script: &str, paths: &[PathBuf]) -> serde_json::Value {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} rejected {}:\n{}",
        python.display(),
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Strings that break naive emitters: code injection for Python, YAML
/// indicators, control characters, and the plain scalars that YAML 1.1
/// (PyYAML, which Ray uses) resolves to something other than a string
/// (booleans in any case, `1_000`, sexagesimal `1:30`, dates, `=`, `0x_`,
/// the merge key `<<`) or cannot load at all.
pub const HOSTILE: &[&str] = &[
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
    // YAML 1.1 specials.
    "No",
    "ON",
    "off",
    "Y",
    "n",
    "TRUE",
    "Null",
    "~",
    "1_000",
    "1:30",
    "-1:30:00",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "0x_",
    "<<",
    "0b101",
    "0o17",
    "017",
    "0x1F",
    "1e-5",
    "1.5e3",
    "+1",
    ".inf",
    "-.Inf",
    ".NaN",
    "!!python/object:os.system",
    "? key",
    "%YAML 1.1",
    "---",
    "...",
    " leading space",
    "trailing space ",
    "\u{feff}bom",
    "\u{2029}\u{85}\u{a0}",
    "\u{7f}",
];

/// Interpreters with PyYAML to check emitted YAML with, as (label, path):
/// `$BENTORAY_PYTHON` (pinned PyYAML, from scripts/python-tools.sh) or
/// else `python3` when it has PyYAML, and `$BENTORAY_RAY_PYTHON` (a Ray
/// venv's own PyYAML, from scripts/ray-env.sh). Prints SKIPPED for each
/// that is missing.
pub fn pyyaml_pythons(test: &str) -> Vec<(String, PathBuf)> {
    use std::io::Write;
    let has_yaml = |python: &Path| {
        Command::new(python)
            .args(["-c", "import yaml"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut found = Vec::new();
    let pinned = std::env::var_os("BENTORAY_PYTHON").map(PathBuf::from);
    match pinned {
        Some(p) if has_yaml(&p) => found.push(("BENTORAY_PYTHON".to_string(), p)),
        Some(p) => panic!(
            "BENTORAY_PYTHON={} cannot import yaml (run scripts/python-tools.sh)",
            p.display()
        ),
        None if has_yaml(Path::new("python3")) => {
            found.push(("python3".to_string(), PathBuf::from("python3")))
        }
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} (PyYAML part): set BENTORAY_PYTHON to a python with PyYAML (scripts/python-tools.sh)"
            );
        }
    }
    match std::env::var_os("BENTORAY_RAY_PYTHON").map(PathBuf::from) {
        Some(p) if has_yaml(&p) => found.push(("BENTORAY_RAY_PYTHON".to_string(), p)),
        Some(p) => panic!("BENTORAY_RAY_PYTHON={} cannot import yaml", p.display()),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} (Ray's PyYAML part): BENTORAY_RAY_PYTHON not set (.ci/run sets it to the Ray venv of scripts/ray-diff.sh)"
            );
        }
    }
    found
}

/// Loads YAML texts with `yaml.safe_load` (what Ray's `serve deploy` and
/// `serve run` use) in one Python run; returns each document as JSON.
/// Fails the test when PyYAML cannot load a file or loads a value JSON has
/// no form for (a date, a set).
pub fn pyyaml_load(python: &Path, texts: &[String]) -> Vec<serde_json::Value> {
    let (_dir, paths) = temp_files(texts.iter().map(String::as_str), "yaml");
    let script = r#"
import json, sys, yaml
docs = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        docs.append(yaml.safe_load(f))
print(json.dumps(docs))
"#;
    // A failure here means PyYAML cannot load an emitted serve.yaml.
    serde_json::from_value(python_json_files(python, script, &paths)).unwrap()
}

/// Fails the test unless `ruff check` passes and `ruff format --check`
/// would leave the file as it is (a formatter hook must never rewrite a
/// generated "do not edit" file).
pub fn assert_ruff_clean(ruff: &Path, path: &Path, what: &str) {
    run_ruff(ruff, &["check", "--no-cache", "--quiet"], path, what);
    assert_ruff_formatted(ruff, path, what);
}

/// Fails the test unless `ruff format --check` would leave the file as is.
pub fn assert_ruff_formatted(ruff: &Path, path: &Path, what: &str) {
    run_ruff(
        ruff,
        &["format", "--no-cache", "--check", "--diff"],
        path,
        what,
    );
}

fn run_ruff(ruff: &Path, args: &[&str], path: &Path, what: &str) {
    let out = Command::new(ruff).args(args).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: `ruff {}` rejects {}:\n{}{}",
        args[0],
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TOML basic string with everything outside printable ASCII escaped.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `taplo` (Even Better TOML's engine), from `$BENTORAY_TAPLO` or PATH;
/// otherwise prints why `test` is skipped and returns `None`.
pub fn taplo(test: &str) -> Option<PathBuf> {
    python_tool("taplo", "BENTORAY_TAPLO", test)
}

/// `taplo check` of one spec without a taplo config, so the schema is the
/// one its `#:schema` line names.
pub fn taplo_check(taplo: &Path, spec: &Path) -> Output {
    Command::new(taplo)
        .args(["check", "--no-auto-config"])
        .arg(spec)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Fails the test, with what taplo says, unless taplo accepts the spec.
pub fn assert_taplo_accepts(taplo: &Path, spec: &Path, what: &str) {
    let out = taplo_check(taplo, spec);
    assert!(
        out.status.success(),
        "taplo rejects {what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `check-jsonschema`, from `$BENTORAY_CHECK_JSONSCHEMA` or PATH; otherwise
/// prints why `test` is skipped and returns `None`.
pub fn check_jsonschema(test: &str) -> Option<PathBuf> {
    python_tool("check-jsonschema", "BENTORAY_CHECK_JSONSCHEMA", test)
}

/// Fails the test unless check-jsonschema finds `schema` a valid draft-07
/// schema.
pub fn assert_draft07_schema(check_jsonschema: &Path, schema: &Path) {
    let out = Command::new(check_jsonschema)
        .arg("--check-metaschema")
        .arg(schema)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not a valid draft-07 schema:\n{}",
        schema.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// check-jsonschema validating the specs with `schema`.
pub fn check_jsonschema_specs(check_jsonschema: &Path, schema: &Path, specs: &[PathBuf]) -> Output {
    Command::new(check_jsonschema)
        .arg("--schemafile")
        .arg(schema)
        .args(specs)
        .output()
        .unwrap()
}
