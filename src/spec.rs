//! Stage 1: the spec. Reads `bentoray.toml` into a spanned tree and a JSON
//! value, and defines the typed spec (whose JSON Schema is generated).

pub mod ray;
pub mod spanned;
pub mod types;
