//! `bentoray init`: the starter spec of every fixture bento passes `bentoray
//! check`, each default it shows is one bentoray accepts when uncommented,
//! and the file is written only when it may be.

mod common;

use std::path::Path;

use common::{bentoray, root};

/// Every fixture bento, as `--bentoml-home` and `--bento` (relative to the
/// repository root).
const FIXTURES: &[(Option<&str>, &str)] = &[
    (Some("examples/bentoml"), "iris_classifier:latest"),
    (Some("examples/bentoml"), "iris_classifier:uipstxhkfwmbwax4"),
    (
        Some("tests/fixtures/bentoml-1.4.40-legacy-store"),
        "iris_classifier:latest",
    ),
    (
        Some("tests/fixtures/ambiguous-store"),
        "iris_classifier:uipsq",
    ),
    (
        Some("tests/fixtures/bentoml-1.4.38-service-store"),
        "summarizer:latest",
    ),
    (None, "tests/fixtures/renamed-bento"),
    (None, "tests/fixtures/broken-bento"),
    (
        None,
        "tests/fixtures/exports/bentoml-1.1.11-iris_classifier.bento",
    ),
    (
        None,
        "tests/fixtures/exports/bentoml-1.4.38-summarizer.bento",
    ),
    (
        None,
        "examples/bentoml/bentos/iris_classifier/uipstxhkfwmbwax4",
    ),
    (Some("examples/bentoml-services"), "gateway:latest"),
    (
        Some("tests/fixtures/bentoml-1.2.20-service-store"),
        "summarizer:latest",
    ),
];

/// Runs `init` from the repository root into `out` (a path under a temp
/// directory), returning the exit code and stderr.
fn init(home: Option<&str>, bento: &str, out: &Path, extra: &[&str]) -> (i32, String) {
    let out = out.to_str().unwrap();
    let mut args = vec!["init", "--bento", bento, "-o", out];
    if let Some(home) = home {
        args.extend(["--bentoml-home", home]);
    }
    args.extend(extra);
    let result = bentoray(&args, &root());
    (
        result.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&result.stderr).into_owned(),
    )
}

fn check_json(spec: &Path) -> (i32, serde_json::Value) {
    let out = bentoray(
        &["check", "--format", "json", spec.to_str().unwrap()],
        &root(),
    );
    let json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (out.status.code().unwrap_or(-1), json)
}

fn error_codes(diagnostics: &serde_json::Value) -> Vec<String> {
    diagnostics
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// For every fixture bento: `init` writes a spec `check` accepts, or, for a
/// bento bentoray cannot deploy, writes nothing and names the same error
/// `check` gives for a spec naming that bento. Written one directory down,
/// so the relative paths in the spec are rebased.
#[test]
fn every_fixture_bento_gets_a_spec_that_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let mut written = 0;
    for (i, (home, bento)) in FIXTURES.iter().enumerate() {
        let dir = tmp.path().join(format!("{i}/specs"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("bentoray.toml");
        let (code, stderr) = init(*home, bento, &out, &[]);
        if code == 0 {
            let (status, diagnostics) = check_json(&out);
            assert_eq!(
                status,
                0,
                "{bento}: the starter does not check:\n{diagnostics:#}\n{}",
                std::fs::read_to_string(&out).unwrap()
            );
            written += 1;
            continue;
        }
        assert_eq!(code, 1, "{bento}: {stderr}");
        assert!(!out.exists(), "{bento}: written despite errors");
        // What check says about a spec naming the same bento.
        let probe = tmp.path().join(format!("{i}/probe.toml"));
        let mut text = format!("bento = {:?}\n", root().join(bento));
        if let Some(home) = home {
            text = format!(
                "bento = {bento:?}\nbentoml_home = {:?}\n",
                root().join(home)
            );
        }
        std::fs::write(&probe, text).unwrap();
        let (_, diagnostics) = check_json(&probe);
        let codes = error_codes(&diagnostics);
        assert!(!codes.is_empty(), "{bento}: init failed, check does not");
        for c in &codes {
            assert!(stderr.contains(c.as_str()), "{bento}: {c} not in {stderr}");
        }
    }
    assert!(written >= 7, "only {written} fixtures got a spec");
}

/// Each default the starter shows is accepted as it is written: uncommenting
/// any one `# key = value` line of a table leaves a spec without errors, as
/// does uncommenting every batching table with `enable_batching = true`.
#[test]
fn every_commented_default_checks_when_uncommented() {
    // A legacy bento (runners) and a new-style one (services).
    defaults_check_when_uncommented(
        "examples/bentoml",
        "iris_classifier:latest",
        "iris_clf.predict",
    );
    defaults_check_when_uncommented(
        "examples/bentoml-services",
        "gateway:latest",
        "Middle.shout",
    );
}

fn defaults_check_when_uncommented(home: &str, bento: &str, batched: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bentoray.toml");
    let (code, stderr) = init(Some(home), bento, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    // The variants live next to it, so its relative `bentoml_home` holds.
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut tried = 0;
    // Whether the lines so far are at the top level or in a table that is
    // not commented out (batching tables are tried below).
    let mut live = true;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('[') {
            live = true;
        } else if line.starts_with("# [") {
            live = false;
        }
        let Some(option) = line.strip_prefix("# ") else {
            continue;
        };
        let is_option = option
            .split_once(" = ")
            .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        if !is_option || !live {
            continue;
        }
        let mut variant: Vec<&str> = lines.clone();
        variant[i] = option;
        let path = tmp.path().join(format!("variant{i}.toml"));
        std::fs::write(&path, variant.join("\n") + "\n").unwrap();
        let (status, diagnostics) = check_json(&path);
        assert_eq!(
            status,
            0,
            "{bento}: uncommenting line {} `{option}` gives {:?}",
            i + 1,
            error_codes(&diagnostics)
        );
        tried += 1;
    }
    assert!(tried >= 35, "{bento}: only {tried} defaults tried");

    let uncommented: String = text
        .lines()
        .scan(false, |in_batching, line| {
            if line.starts_with("# [batching.") {
                *in_batching = true;
            } else if !line.starts_with("# ") {
                *in_batching = false;
            }
            let keep = if *in_batching || line == "# enable_batching = false" {
                line.trim_start_matches("# ")
                    .replace("enable_batching = false", "enable_batching = true")
            } else {
                line.to_string()
            };
            Some(keep + "\n")
        })
        .collect();
    assert!(
        uncommented.contains(&format!("\n[batching.{batched}]\nmax_batch_size = ")),
        "{uncommented}"
    );
    let path = tmp.path().join("batching.toml");
    std::fs::write(&path, &uncommented).unwrap();
    let (status, diagnostics) = check_json(&path);
    assert_eq!(status, 0, "{uncommented}\n{diagnostics:#}");
}

/// The starters for the example bentos, reviewed as snapshots: a legacy
/// one, and a new-style one whose services' own settings are the defaults
/// shown (with where each comes from).
#[test]
fn starter_spec_snapshot() {
    for (store, tag, snapshot) in [
        (
            "examples/bentoml",
            "iris_classifier:latest",
            "init__iris_classifier",
        ),
        (
            "examples/bentoml-services",
            "gateway:latest",
            "init__gateway",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bentoray.toml");
        // An absolute store path stays absolute: replaced for the snapshot.
        let store = root().join(store);
        let (code, stderr) = init(
            Some(store.to_str().unwrap()),
            tag,
            &out,
            &["--schema", "../schema/bentoray.schema.json"],
        );
        assert_eq!(code, 0, "{stderr}");
        let text = std::fs::read_to_string(&out).unwrap();
        let text = text.replace(&store.to_string_lossy().to_string(), "[STORE]");
        common::snapshot_settings().bind(|| insta::assert_snapshot!(snapshot, text));
    }
}

/// An existing file is kept unless `--force`; `--force` replaces it
/// atomically (no temporary left), and a missing directory is an error.
#[test]
fn refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bentoray.toml");
    std::fs::write(&out, "# mine\n").unwrap();
    let args = (Some("examples/bentoml"), "iris_classifier:latest");
    let (code, stderr) = init(args.0, args.1, &out, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("exists; pass --force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# mine\n");

    let (code, stderr) = init(args.0, args.1, &out, &["--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("#:schema ")
    );
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["bentoray.toml"]);

    let (code, stderr) = init(args.0, args.1, &tmp.path().join("no/such/x.toml"), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a directory"), "{stderr}");
}

/// Same bento, same bytes, wherever init runs from (paths are rebased).
#[test]
fn same_bento_same_starter_from_any_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.toml");
    init(Some("examples/bentoml"), "iris_classifier:latest", &a, &[]);
    let b = tmp.path().join("b.toml");
    let out = bentoray(
        &[
            "init",
            "--bento",
            "iris_classifier:latest",
            "--bentoml-home",
            "bentoml",
            "-o",
            b.to_str().unwrap(),
        ],
        &root().join("examples"),
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap()
    );
}

/// In the example store named by `BENTOML_HOME`, `init --bento
/// iris_classifier:latest` writes a spec (without `bentoml_home`) that
/// `check` accepts in the same environment.
#[test]
fn init_in_the_example_store() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bentoray"))
            .args(args)
            .current_dir(tmp.path())
            .env("BENTOML_HOME", root().join("examples/bentoml"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = run(&["init", "--bento", "iris_classifier:latest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(tmp.path().join("bentoray.toml")).unwrap();
    assert!(text.contains("\n# bentoml_home = "), "{text}");
    let out = run(&["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The starter is what editors accept too: taplo (Even Better TOML's
/// engine) validates it with the committed schema its `#:schema` line
/// names, both as written and with every batching table uncommented.
#[test]
fn taplo_accepts_the_starter_with_its_schema_line() {
    let Some(taplo) = common::taplo("taplo_accepts_the_starter_with_its_schema_line") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bentoray.toml");
    let schema = root().join("schema/bentoray.schema.json");
    let (code, stderr) = init(
        Some("examples/bentoml"),
        "iris_classifier:latest",
        &out,
        &["--schema", schema.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let with_batching = text.replace("# [batching.", "[batching.");
    let variant = tmp.path().join("variant.toml");
    std::fs::write(&variant, with_batching).unwrap();
    for spec in [&out, &variant] {
        common::assert_taplo_accepts(&taplo, spec, &spec.display().to_string());
    }
}
