//! What the CLI writes and prints does not depend on where it runs from,
//! and machine-readable output is machine-readable.

mod common;

use std::path::Path;

use common::{bentoray, bentoray_ok, root};

/// The output files in `dir` (not the build lock, which is empty and stays).
fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != bentoray::emit::write::LOCK_FILE)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A spec path typed three ways gives the same bytes (and so the same
/// entrypoint hash: Ray does not redeploy for nothing).
#[test]
fn same_spec_same_bytes_from_any_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let example = root().join("examples/two_runners");
    let runs: [(&Path, String); 3] = [
        (&root(), "examples/two_runners/bentoray.toml".into()),
        (&example, "bentoray.toml".into()),
        (
            tmp.path(),
            example.join("bentoray.toml").to_string_lossy().into_owned(),
        ),
    ];
    let mut outputs = Vec::new();
    for (i, (cwd, spec)) in runs.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        bentoray_ok(&["build", spec, "-o", out.to_str().unwrap()], cwd);
        outputs.push(read_all(&out));
    }
    assert_eq!(outputs[0].len(), 2);
    assert_eq!(
        outputs[0], outputs[1],
        "relative path vs. run inside the directory"
    );
    assert_eq!(outputs[0], outputs[2], "relative vs. absolute path");
}

/// With `--format json`, stdout is one JSON array and nothing else; the
/// `wrote` lines go to stderr.
#[test]
fn build_json_stdout_is_only_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = bentoray_ok(
        &[
            "build",
            "--format",
            "json",
            "examples/bentoml_mode/bentoray.toml",
            "-o",
            out_dir.to_str().unwrap(),
        ],
        &root(),
    );
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    // The example has a warning, reported in the array.
    let codes: Vec<&str> = stdout
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"BR323"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wrote ") && stderr.contains("serve.yaml"),
        "{stderr}"
    );
    assert!(out_dir.join("serve.yaml").is_file());
}

#[test]
fn rules_and_explain_json_are_json() {
    let out = bentoray_ok(&["rules", "--format", "json"], &root());
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rules: JSON");
    let codes: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = bentoray::diagnostic::rules::RULES
        .iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(codes, expected);
    assert_eq!(rules[0]["severity"], "error");
    assert!(rules[0]["doc"].as_str().is_some_and(|d| !d.is_empty()));

    let out = bentoray_ok(&["explain", "BR102", "--format", "json"], &root());
    let rule: serde_json::Value = serde_json::from_slice(&out.stdout).expect("explain: JSON");
    assert_eq!(rule["name"], "unknown-runner");
}

/// On Unix `\` is an ordinary file-name character: diagnostics name the
/// file as it is called, not with `/`.
#[cfg(unix)]
#[test]
fn backslashes_in_unix_file_names_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("we\\ird.toml"), "bento = 1\n").unwrap();
    let out = bentoray(&["check", "we\\ird.toml"], tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("we\\ird.toml:1:9"), "{stderr}");
    assert!(!stderr.contains("we/ird"), "{stderr}");
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
        .expect("SARIF schema fixture");
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

/// `check --format sarif` on a spec with three errors (and a note) is a
/// SARIF 2.1.0 log that the official schema accepts, with one result per
/// diagnostic at its line, rule metadata with help, and the did-you-mean
/// names as fixes.
#[test]
fn sarif_validates_against_the_official_schema() {
    let out = bentoray(
        &["check", "--format", "sarif"],
        &root().join("tests/cases/three_mistakes"),
    );
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let validator = sarif_validator();
    let problems: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "invalid SARIF: {problems:#?}");

    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    let errors: Vec<(&str, u64)> = results
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                r["ruleId"].as_str().unwrap(),
                region["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(errors, [("BR101", 6), ("BR102", 8), ("BR103", 11)]);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert!(rule["help"]["text"].as_str().unwrap().len() > 20);
    }
    let fix = &results[2]["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(fix["insertedContent"]["text"], "iris_clf");
    assert_eq!(fix["deletedRegion"]["startLine"], 8);
    assert_eq!(fix["deletedRegion"]["startColumn"], 10);
    assert_eq!(fix["deletedRegion"]["endColumn"], 19);

    // The validator really checks: a log without `version` is rejected.
    let mut broken = log.clone();
    broken.as_object_mut().unwrap().remove("version");
    assert!(!validator.is_valid(&broken));
}

/// A spec without errors is a valid SARIF log whose results are its
/// warnings and notes.
#[test]
fn sarif_of_a_spec_without_errors_is_valid() {
    let out = bentoray(
        &[
            "check",
            "--format",
            "sarif",
            "examples/two_runners/bentoray.toml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(sarif_validator().is_valid(&log));
    let levels: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert!(
        !levels.is_empty() && !levels.contains(&"error"),
        "{levels:?}"
    );
}

/// Applies every edit of every suggestion in `--format json` output to
/// `text` (edits of different suggestions must not overlap).
fn apply_suggestions(text: &str, diagnostics: &serde_json::Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["suggestions"].as_array().unwrap().iter())
        .flat_map(|s| s["edits"].as_array().unwrap().iter())
        .map(|e| {
            (
                e["byte_start"].as_u64().unwrap() as usize,
                e["byte_end"].as_u64().unwrap() as usize,
                e["replacement"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| (e.0, e.1));
    for pair in edits.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping edits: {pair:?}");
    }
    let mut out = text.to_string();
    for (start, end, replacement) in edits.into_iter().rev() {
        out.replace_range(start..end, &replacement);
    }
    out
}

/// TOML's trap, fixed by machine: applying the JSON suggestions moves every
/// top-level key that went astray to the top, and the spec then checks.
/// Likewise a did-you-mean runner name.
#[test]
fn json_suggestions_fix_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let store = root().join("examples/bentoml");
    let spec = tmp.path().join("bentoray.toml");
    let text = format!(
        "bento = \"iris_classifier:latest\"\n\n[ray]\nversion = \"2.60\"\nbentoml_home = {store:?}\n\n\
         [runners.iris_clff]\nnum_replicas = 2\nenable_batching = true\n\n\
         [batching.iris_clf.predict]\nmax_batch_size = 8\nentrypoint = \"native\""
    );
    std::fs::write(&spec, &text).unwrap();
    let out = bentoray(&["check", "--format", "json", "bentoray.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let diagnostics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "BR350").count(),
        3,
        "{codes:?}"
    );
    // Once `bentoml_home` is back at the top, the bento loads and the
    // misspelled runner gets its did-you-mean: a second round.
    let mut fixed = text.clone();
    let mut diagnostics = diagnostics;
    for _ in 0..2 {
        fixed = apply_suggestions(&fixed, &diagnostics);
        std::fs::write(&spec, &fixed).unwrap();
        let out = bentoray(&["check", "--format", "json", "bentoray.toml"], tmp.path());
        diagnostics = serde_json::from_slice(&out.stdout).unwrap();
    }
    let out = bentoray(&["check", "--format", "json", "bentoray.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{fixed}\n{diagnostics:#}");
    assert!(
        fixed.starts_with("bento = \"iris_classifier:latest\"\n\nbentoml_home"),
        "{fixed}"
    );
    assert!(
        fixed.contains("[runners.iris_clf]\nnum_replicas = 2\n\n"),
        "{fixed}"
    );
}

/// Several specs make one SARIF run; a spec that cannot be read is a
/// result located at the file alone. Still valid SARIF.
#[test]
fn sarif_of_several_specs_and_an_unreadable_one_is_valid() {
    let out = bentoray(
        &[
            "check",
            "--format",
            "sarif",
            "tests/cases/three_mistakes/bentoray.toml",
            "no such spec.toml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(2));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(sarif_validator().is_valid(&log));
    let results = log["runs"][0]["results"].as_array().unwrap();
    let last = results.last().unwrap();
    assert_eq!(last["ruleId"], "BR002");
    assert_eq!(
        last["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "no%20such%20spec.toml"
    );
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/cases/three_mistakes/bentoray.toml"
    );
}

/// A misspelled bento name gets its did-you-mean as a fix of the `bento`
/// value (the version kept), and the fixed spec checks.
#[test]
fn json_suggestion_fixes_a_misspelled_bento() {
    let tmp = tempfile::tempdir().unwrap();
    let store = root().join("examples/bentoml");
    let spec = tmp.path().join("bentoray.toml");
    let text = format!("bento = 'iris_clasifier:latest'\nbentoml_home = {store:?}\n");
    std::fs::write(&spec, &text).unwrap();
    let out = bentoray(&["check", "--format", "json", "bentoray.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let diagnostics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixed = apply_suggestions(&text, &diagnostics);
    assert!(
        fixed.starts_with("bento = \"iris_classifier:latest\"\n"),
        "{fixed}"
    );
    std::fs::write(&spec, &fixed).unwrap();
    let out = bentoray(&["check", "bentoray.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(0));
}
