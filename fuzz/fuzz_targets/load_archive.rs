//! `.bento` archive bytes → load (extract the metadata, read it) → check →
//! plan → emit → read-back. Seeds: the exports in tests/fixtures/exports.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const SPEC: &str = "bento = \"./fuzz.bento\"\nbentoml_home = \"store\"\nenable_batching = true\n";

fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("bentoray-fuzz-archive-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        fs::create_dir_all(dir.join("store")).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = workdir();
    fs::write(dir.join("fuzz.bento"), data).unwrap();
    bentoray_fuzz::check_and_emit("bentoray.toml", SPEC, dir);
});
