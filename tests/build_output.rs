//! `build` never leaves a partial or corrupted output directory.

mod common;

use common::{bentoray, root};

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
    assert_eq!(names, ["bento_ray.py", "keep.txt", "serve.yaml"]);
}
