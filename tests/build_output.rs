//! `build` never leaves a partial or corrupted output directory.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bentoray, bentoray_ok, root};

fn spec_dir(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = root().join("examples/bentoml");
    std::fs::write(
        dir.path().join("bentoray.toml"),
        format!(
            "bento = \"iris_classifier:latest\"\nbentoml_home = {}\n{spec}",
            toml::Value::String(store.to_string_lossy().into_owned())
        ),
    )
    .unwrap();
    dir
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
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

#[test]
fn a_spec_with_errors_leaves_the_output_directory_untouched() {
    let dir = spec_dir("[service]\nnum_replicas = 2\n");
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert!(out.status.success());
    std::fs::write(dir.path().join("out/notes.txt"), "mine").unwrap();
    let before = snapshot(&dir.path().join("out"));

    // Break the spec and build again: exit 1, nothing touched.
    std::fs::write(
        dir.path().join("bentoray.toml"),
        std::fs::read_to_string(dir.path().join("bentoray.toml")).unwrap() + "num_replica = 3\n",
    )
    .unwrap();
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(snapshot(&dir.path().join("out")), before);
}

#[test]
fn a_spec_with_errors_does_not_create_the_output_directory() {
    let dir = spec_dir("[runners.iris_clff]\nnum_replicas = 2\n");
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn an_unwritable_output_is_an_io_error_and_leaves_no_temporaries() {
    let dir = spec_dir("");
    // The output "directory" is a file: nothing can be written there.
    std::fs::write(dir.path().join("out"), "a file").unwrap();
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("out is a file, not a directory"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out")).unwrap(),
        "a file"
    );
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".bentoray-"))
        .collect();
    assert!(stray.is_empty());
}

#[test]
fn a_successful_build_replaces_old_files_and_keeps_others() {
    let dir = spec_dir("[service]\nnum_replicas = 2\n");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out/serve.yaml"), "stale").unwrap();
    std::fs::write(dir.path().join("out/keep.txt"), "mine").unwrap();
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert!(out.status.success());
    let yaml = std::fs::read_to_string(dir.path().join("out/serve.yaml")).unwrap();
    assert!(yaml.contains("num_replicas: 2"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/keep.txt")).unwrap(),
        "mine"
    );
    let names: Vec<String> = snapshot(&dir.path().join("out"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    // The lock file stays (see README, "What `build` writes").
    assert_eq!(
        names,
        [".bentoray.lock", "bento_ray.py", "keep.txt", "serve.yaml"]
    );
}

#[test]
fn a_target_that_is_a_directory_fails_the_build_before_any_file_changes() {
    let dir = spec_dir("");
    std::fs::create_dir_all(dir.path().join("out/bento_ray.py")).unwrap();
    std::fs::write(dir.path().join("out/serve.yaml"), "old").unwrap();
    let out = bentoray(&["build", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("out/bento_ray.py is a directory")
            && stderr.contains("the directory was left as it was"),
        "{stderr}"
    );
    // serve.yaml was not renamed into place before the failure.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/serve.yaml")).unwrap(),
        "old"
    );
    assert!(temporaries(&dir.path().join("out")).is_empty());
}

/// Names of bentoray's temporary files in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bentoray-") && n.ends_with(".tmp"))
        .collect()
}

#[test]
fn temporaries_of_killed_builds_are_removed_by_the_next_build() {
    let dir = spec_dir("");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // What a build killed between staging and renaming leaves behind.
    std::fs::write(out.join(".bentoray-a1B2c3.tmp"), vec![0u8; 4096]).unwrap();
    std::fs::write(out.join(".bentoray-zz.tmp"), "partial").unwrap();
    // Not bentoray's: kept.
    std::fs::write(out.join(".bentoray-notes"), "mine").unwrap();
    std::fs::write(out.join("x.tmp"), "mine").unwrap();
    bentoray_ok(&["build", "-o", "out"], dir.path());
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    assert!(out.join(".bentoray-notes").exists() && out.join("x.tmp").exists());
}

#[test]
fn a_killed_build_leaves_nothing_the_next_build_keeps() {
    let dir = spec_dir("");
    let out = dir.path().join("out");
    // Kill builds at varying moments; whatever they leave, one more build
    // ends with exactly the output files (and the lock) and no temporaries.
    for delay_ms in [0u64, 2, 5, 10, 20] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bentoray"))
            .args(["build", "-o", "out"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("BENTOML_HOME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    bentoray_ok(&["build", "-o", "out"], dir.path());
    let names: Vec<String> = snapshot(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, [".bentoray.lock", "bento_ray.py", "serve.yaml"]);
}

/// The entrypoint hash serve.yaml names, and the hash of the entrypoint.
fn hashes(out: &Path) -> (String, String) {
    let yaml = std::fs::read_to_string(out.join("serve.yaml")).unwrap();
    let named = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("BENTORAY_ENTRYPOINT_SHA256: "))
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let python = std::fs::read_to_string(out.join("bento_ray.py")).unwrap();
    (named, bentoray::emit::entrypoint_hash(&python))
}

#[test]
fn concurrent_builds_into_one_directory_leave_a_matching_pair() {
    // Four specs that differ, so every build writes different files.
    let dirs: Vec<_> = (1..=4)
        .map(|n| spec_dir(&format!("[service]\nnum_replicas = {n}\n")))
        .collect();
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().join("out");
    for round in 0..8 {
        let children: Vec<_> = dirs
            .iter()
            .map(|d| {
                Command::new(env!("CARGO_BIN_EXE_bentoray"))
                    .arg("build")
                    .arg("-o")
                    .arg(&out_arg)
                    .current_dir(d.path())
                    .env("NO_COLOR", "1")
                    .env_remove("BENTOML_HOME")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let result = child.wait_with_output().unwrap();
            assert!(
                result.status.success(),
                "{}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let (named, actual) = hashes(&out_arg);
        assert_eq!(
            named, actual,
            "round {round}: serve.yaml names another entrypoint"
        );
        assert!(temporaries(&out_arg).is_empty());
    }
}

#[cfg(unix)]
#[test]
fn output_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = spec_dir("");
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let _ = std::fs::remove_dir_all(dir.path().join("out"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" build -o out"))
            .arg(env!("CARGO_BIN_EXE_bentoray"))
            .current_dir(dir.path())
            .env_remove("BENTOML_HOME")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        for name in ["serve.yaml", "bento_ray.py", ".bentoray.lock"] {
            let meta = std::fs::metadata(dir.path().join("out").join(name)).unwrap();
            assert_eq!(
                meta.permissions().mode() & 0o777,
                mode,
                "{name} under umask {umask}"
            );
        }
    }
}

/// Every file under `dir` with its contents, recursively.
fn tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(tree(&entry.path()));
        } else {
            files.push((entry.path(), std::fs::read(entry.path()).unwrap()));
        }
    }
    files.sort();
    files
}

#[test]
fn an_output_directory_inside_the_bento_is_refused() {
    let dir = spec_dir("");
    let bento = root().join("tests/fixtures/bentoml-1.4.40-legacy-store");
    common::copy_dir(&bento, &dir.path().join("store"));
    let bento_dir = std::fs::read_dir(dir.path().join("store/bentos"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let version_dir = std::fs::read_dir(&bento_dir)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let relative = version_dir.strip_prefix(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("bentoray.toml"),
        format!("bento = \"./{}\"\n", relative.display()),
    )
    .unwrap();
    let before = tree(&version_dir);
    for output in [relative.to_path_buf(), relative.join("src/new")] {
        let out = bentoray(&["build", "-o", output.to_str().unwrap()], dir.path());
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is inside the bento directory"), "{stderr}");
    }
    assert_eq!(tree(&version_dir), before);
    assert!(!version_dir.join("src/new").exists());
}

#[test]
fn an_output_file_that_is_the_spec_is_refused() {
    let dir = spec_dir("");
    // The spec is named like the config bentoray writes next to it.
    std::fs::rename(
        dir.path().join("bentoray.toml"),
        dir.path().join("serve.yaml"),
    )
    .unwrap();
    let spec = std::fs::read(dir.path().join("serve.yaml")).unwrap();
    let out = bentoray(&["build", "serve.yaml", "-o", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("would overwrite an input"), "{stderr}");
    assert_eq!(std::fs::read(dir.path().join("serve.yaml")).unwrap(), spec);
}

#[test]
fn build_check_names_missing_stale_and_mismatched_files() {
    let dir = spec_dir("[service]\nnum_replicas = 2\n");
    let check = |dir: &Path| bentoray(&["build", "--check", "-o", "out"], dir);
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out/serve.yaml is missing"));
    assert!(!dir.path().join("out").exists(), "--check writes nothing");

    bentoray_ok(&["build", "-o", "out"], dir.path());
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out is up to date\n");

    // An entrypoint from another build: the pair no longer matches.
    let py = dir.path().join("out/bento_ray.py");
    let original = std::fs::read(&py).unwrap();
    std::fs::write(&py, [original.as_slice(), b"#\n"].concat()).unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("out/bento_ray.py differs from what the spec builds")
            && !stderr.contains("serve.yaml"),
        "{stderr}"
    );
    std::fs::write(&py, original).unwrap();

    // A changed spec: both files are stale.
    let spec = dir.path().join("bentoray.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("num_replicas = 2", "num_replicas = 3")).unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("out/serve.yaml differs") && stderr.contains("out/bento_ray.py differs"),
        "{stderr}"
    );
}

#[test]
fn the_entrypoint_refuses_to_start_with_another_builds_config() {
    let Some(python) =
        common::python3("the_entrypoint_refuses_to_start_with_another_builds_config")
    else {
        return;
    };
    let dir = spec_dir("");
    bentoray_ok(&["build", "-o", "out"], dir.path());
    let (named, _) = hashes(&dir.path().join("out"));
    // Import the module as Ray does, with the config's variable set.
    let run = |hash: &str| {
        Command::new(python)
            .args(["-c", "import bento_ray"])
            .current_dir(dir.path().join("out"))
            .env("BENTORAY_ENTRYPOINT_SHA256", hash)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    };
    let refusal = "is not the entrypoint this serve.yaml was built with";
    let wrong = run(&"0".repeat(64));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && stderr.contains(refusal),
        "{stderr}"
    );
    // The right hash passes the check (and fails later only if Ray or
    // BentoML is missing).
    let right = run(&named);
    assert!(!String::from_utf8_lossy(&right.stderr).contains(refusal));
}

/// Stderr with miette's line wrapping undone.
fn unwrapped(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs bentoray, failing the test if it has not finished within 30 s (an
/// input that blocks must never hang a build).
fn bentoray_bounded(args: &[&str], cwd: &Path) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bentoray"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("BENTOML_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bentoray {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// A copy of the BentoML 1.1.11 example store, with its bento's directory.
fn store_copy(dir: &Path) -> std::path::PathBuf {
    common::copy_dir(&root().join("examples/bentoml"), &dir.join("store"));
    let name_dir = dir.join("store/bentos/iris_classifier");
    let version = std::fs::read_to_string(name_dir.join("latest")).unwrap();
    name_dir.join(version.trim())
}

#[cfg(unix)]
#[test]
fn inputs_that_are_fifos_or_devices_are_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let bento = store_copy(dir.path());
    std::fs::write(
        dir.path().join("bentoray.toml"),
        "bento = \"iris_classifier:latest\"\nbentoml_home = \"store\"\n",
    )
    .unwrap();
    bentoray_ok(&["check"], dir.path());
    let store_latest = dir.path().join("store/bentos/iris_classifier/latest");
    let model_yaml = dir
        .path()
        .join("store/models/iris_clf/ufkuszhkfwspkax4/model.yaml");
    let cases: [(&Path, &str); 4] = [
        (
            &bento.join("bento.yaml"),
            "bento.yaml: it is a FIFO, not a regular file",
        ),
        (&store_latest, "latest: it is a FIFO, not a regular file"),
        (&model_yaml, "model.yaml: it is a FIFO, not a regular file"),
        (
            &bento.join("src/service.py"),
            "service.py: it is a FIFO, not a regular file",
        ),
    ];
    for (path, message) in cases {
        let saved = std::fs::read(path).unwrap();
        mkfifo(path);
        let out = bentoray_bounded(&["check"], dir.path());
        let stderr = unwrapped(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(stderr.contains(message), "{}: {stderr}", path.display());
        std::fs::remove_file(path).unwrap();
        std::fs::write(path, saved).unwrap();
    }
    // A device read without end.
    let yaml = bento.join("bento.yaml");
    let saved = std::fs::read(&yaml).unwrap();
    std::fs::remove_file(&yaml).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &yaml).unwrap();
    let out = bentoray_bounded(&["check"], dir.path());
    let stderr = unwrapped(&out.stderr);
    assert!(
        stderr.contains("it is a device, not a regular file"),
        "{stderr}"
    );
    std::fs::remove_file(&yaml).unwrap();
    std::fs::write(&yaml, saved).unwrap();

    // The spec itself.
    mkfifo(&dir.path().join("fifo.toml"));
    let out = bentoray_bounded(&["check", "fifo.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read spec: it is a FIFO"));

    // An existing output that is a FIFO is replaced, never read.
    std::fs::create_dir(dir.path().join("out")).unwrap();
    mkfifo(&dir.path().join("out/serve.yaml"));
    let out = bentoray_bounded(&["build", "-o", "out"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(dir.path().join("out/serve.yaml"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn oversized_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bento = store_copy(dir.path());
    let spec = dir.path().join("bentoray.toml");
    std::fs::write(
        &spec,
        "bento = \"iris_classifier:latest\"\nbentoml_home = \"store\"\n",
    )
    .unwrap();
    // bento.yaml padded past its cap with a YAML comment.
    let yaml = bento.join("bento.yaml");
    let mut padded = std::fs::read(&yaml).unwrap();
    padded.extend(std::iter::repeat_n(b'#', 16 * 1024 * 1024));
    std::fs::write(&yaml, padded).unwrap();
    let out = bentoray_bounded(&["check"], dir.path());
    let stderr = unwrapped(&out.stderr);
    assert!(
        stderr.contains("bento.yaml: it is larger than 16 MiB"),
        "{stderr}"
    );
    // A spec past its cap.
    let mut big = std::fs::read(&spec).unwrap();
    big.extend(std::iter::repeat_n(b'#', 16 * 1024 * 1024));
    std::fs::write(&spec, big).unwrap();
    let out = bentoray_bounded(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it is larger than 16 MiB"));
}
