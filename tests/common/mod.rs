//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bentoray::{check, emit, plan};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    (plan::lower(&checked, name), out.report)
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
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python rejected {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
