//! bento.yaml / model.yaml bytes → load → check → plan → emit → read-back.
//!
//! The input is up to four parts separated by NUL bytes: `bento.yaml`, the
//! `model.yaml` of model `m:1` (also `m:latest`), the service source
//! `src/service.py`, and the spec (default: this bento with batching on).
//! They are written into a bento directory and the spec is checked like
//! `bentoray build` would.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const DEFAULT_SPEC: &str =
    "bento = \"./bento\"\nbentoml_home = \"store\"\nenable_batching = true\n";

fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("bentoray-fuzz-bento-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        fs::create_dir_all(dir.join("bento/models/m/1")).unwrap();
        fs::create_dir_all(dir.join("bento/src")).unwrap();
        fs::create_dir_all(dir.join("store")).unwrap();
        fs::write(dir.join("bento/models/m/latest"), "1").unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\0');
    let bento_yaml = parts.next().unwrap_or_default();
    let model_yaml = parts.next().unwrap_or_default();
    let service_py = parts.next().unwrap_or_default();
    let spec = parts.next().unwrap_or(DEFAULT_SPEC);
    let dir = workdir();
    fs::write(dir.join("bento/bento.yaml"), bento_yaml).unwrap();
    fs::write(dir.join("bento/models/m/1/model.yaml"), model_yaml).unwrap();
    fs::write(dir.join("bento/src/service.py"), service_py).unwrap();
    bentoray_fuzz::check_and_emit("bentoray.toml", spec, dir);
});
