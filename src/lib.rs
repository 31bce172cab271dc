//! bentoray: compile a declarative `bentoray.toml` into a Ray Serve config
//! and entrypoint for a BentoML bento.
//!
//! The compiler is a one-way pipeline; each module depends only on the ones
//! listed before it (see ARCHITECTURE.md):
//! `diagnostic` → `spec` → `bento` → `check` → `plan` → `emit` → `init` → `cli`;
//! `input` (reading input files) is a leaf that any stage may use.

pub mod bento;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod emit;
pub mod init;
pub mod input;
pub mod lsp;
pub mod plan;
pub mod spec;
