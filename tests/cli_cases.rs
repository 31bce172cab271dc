//! CLI cases as data: every `tests/cases/<case>/case.toml` holds the
//! arguments, the expected exit status, stdout and stderr of one `bentoray`
//! run, with the fixture files it reads next to it.
//!
//! Runs happen with the case folder as working directory, `NO_COLOR=1`, an
//! empty `HOME` and no `BENTOML_HOME` unless the case sets `env`. In `args`,
//! `{tmp}` is a fresh temporary directory; it appears as `[TMP]` in output.
//!
//! `BENTORAY_UPDATE_CASES=1 cargo test --test cli_cases` rewrites the
//! expected output from the actual output; review the diff before committing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case shows, for readers.
    #[serde(default)]
    about: String,
    args: Vec<String>,
    status: i32,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .flatten()
        .filter(|e| e.path().join("case.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run_case(dir: &Path, case: &Case) -> Outcome {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tempfile::tempdir().expect("temp home");
    let tmp_path = tmp.path().to_string_lossy().to_string();
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{tmp}", &tmp_path))
        .collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bentoray"));
    cmd.args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env_remove("BENTOML_HOME");
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bentoray runs");
    let normalize = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace(&tmp_path, "[TMP]")
            .replace(&home.path().to_string_lossy().to_string(), "[HOME]")
            .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    };
    Outcome {
        status: out.status.code().unwrap_or(-1),
        stdout: normalize(&out.stdout),
        stderr: normalize(&out.stderr),
    }
}

fn toml_multiline(key: &str, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    if !text.contains("'''") {
        format!("{key} = '''\n{text}'''\n")
    } else {
        format!("{key} = {}\n", toml::Value::String(text.to_string()))
    }
}

fn rewrite(path: &Path, case: &Case, outcome: &Outcome) {
    let mut text = String::new();
    if !case.about.is_empty() {
        text.push_str(&format!(
            "about = {}\n",
            toml::Value::String(case.about.clone())
        ));
    }
    let args: Vec<toml::Value> = case.args.iter().cloned().map(toml::Value::String).collect();
    text.push_str(&format!("args = {}\n", toml::Value::Array(args)));
    text.push_str(&format!("status = {}\n", outcome.status));
    if !case.env.is_empty() {
        text.push_str("env = { ");
        let pairs: Vec<String> = case
            .env
            .iter()
            .map(|(k, v)| format!("{k} = {}", toml::Value::String(v.clone())))
            .collect();
        text.push_str(&pairs.join(", "));
        text.push_str(" }\n");
    }
    text.push_str(&toml_multiline("stdout", &outcome.stdout));
    text.push_str(&toml_multiline("stderr", &outcome.stderr));
    std::fs::write(path, text).expect("case.toml writable");
}

#[test]
fn cli_cases() {
    let update = std::env::var_os("BENTORAY_UPDATE_CASES").is_some();
    let mut failures = Vec::new();
    let names = case_names();
    assert!(!names.is_empty(), "no CLI cases found");
    for name in &names {
        let dir = cases_dir().join(name);
        let path = dir.join("case.toml");
        let case: Case = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = run_case(&dir, &case);
        let matches = outcome.status == case.status
            && outcome.stdout == case.stdout
            && outcome.stderr == case.stderr;
        if matches {
            continue;
        }
        if update {
            rewrite(&path, &case, &outcome);
            continue;
        }
        let mut report = format!("case `{name}`:\n");
        if outcome.status != case.status {
            report.push_str(&format!(
                "  status: expected {}, got {}\n",
                case.status, outcome.status
            ));
        }
        for (what, expected, actual) in [
            ("stdout", &case.stdout, &outcome.stdout),
            ("stderr", &case.stderr, &outcome.stderr),
        ] {
            if expected != actual {
                report.push_str(&format!(
                    "  {what} differs:\n{}\n",
                    similar::TextDiff::from_lines(expected, actual)
                        .unified_diff()
                        .header("expected", "actual")
                ));
            }
        }
        failures.push(report);
    }
    assert!(
        failures.is_empty(),
        "{} of {} CLI cases failed (BENTORAY_UPDATE_CASES=1 rewrites them):\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// Every rule in the table has a case, and that case really emits its code.
#[test]
fn every_rule_has_a_case_that_emits_it() {
    for rule in bentoray::diagnostic::rules::RULES {
        // Codes only a live cluster emits are shown by a test against a
        // fake dashboard in tests/cluster.rs (`cluster:<test>`).
        if let Some(test) = rule.case.strip_prefix("cluster:") {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster.rs"),
            )
            .unwrap();
            let start = text.find(&format!("fn {test}()")).unwrap_or_else(|| {
                panic!(
                    "rule {} names test `{test}`, which tests/cluster.rs lacks",
                    rule.code
                )
            });
            let body = &text[start..];
            let body = &body[..body[1..].find("\nfn ").map_or(body.len(), |i| i + 1)];
            assert!(
                body.contains(&format!("{}({})", rule.code, rule.name)),
                "test `{test}` does not check for {}",
                rule.code
            );
            continue;
        }
        let path = cases_dir().join(rule.case).join("case.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "rule {} names case `{}`, which does not exist",
                rule.code, rule.case
            )
        });
        let case: Case = toml::from_str(&text).unwrap();
        let marker = format!("{}({})", rule.code, rule.name);
        let json_marker = format!("\"code\": \"{}\"", rule.code);
        assert!(
            case.stderr.contains(&marker) || case.stdout.contains(&json_marker),
            "case `{}` does not emit {}",
            rule.case,
            rule.code
        );
    }
}
