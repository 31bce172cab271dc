//! Spec bytes → check (and, when the spec compiles, plan → emit →
//! read-back), against the example store `examples/bentoml`. Seeds: the
//! examples' specs, whose `bentoml_home = "../bentoml"` resolves from
//! `examples/batching`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The CLI reports a non-UTF-8 spec before parsing it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spec_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/batching"));
    bentoray_fuzz::check_and_emit("bentoray.toml", text, spec_dir);
});
