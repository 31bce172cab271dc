//! Bentos loaded for the open specs, kept between checks: a keystroke
//! re-checks the spec, not the bento. An entry is reused while the files
//! that decide what the request loads are unchanged (size and modification
//! time of the store's name directory, its `latest` pointer, the bento's
//! `bento.yaml` and `src/`): a rebuilt bento or a moved `latest` reloads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bento::{self, Loaded};
use crate::check::BentoRequest;

/// Size and modification time of a path, and the contents of a `latest`
/// pointer (rewritten in place with a same-length version, possibly within
/// one timestamp tick); `None` when it is missing.
type Stamp = Option<(u64, SystemTime, Option<String>)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    let pointer = (path.file_name().is_some_and(|n| n == "latest") && meta.is_file())
        .then(|| crate::input::read_text(path, crate::input::METADATA_CAP).ok())
        .flatten();
    Some((meta.len(), meta.modified().ok()?, pointer))
}

#[derive(Debug)]
struct Entry {
    loaded: Loaded,
    watched: Vec<(PathBuf, Stamp)>,
}

impl Entry {
    fn is_fresh(&self) -> bool {
        self.watched.iter().all(|(path, s)| stamp(path) == *s)
    }
}

/// What reloading the cached bentos found.
#[derive(Debug, Default)]
pub struct Cache {
    entries: HashMap<BentoRequest, Entry>,
    /// Loads from disk so far (for tests and figures).
    pub loads: usize,
}

impl Cache {
    /// The bento for a request: the cached one while its files are
    /// unchanged, else loaded now.
    pub fn get(&mut self, request: &BentoRequest) -> Loaded {
        if let Some(entry) = self.entries.get(request)
            && entry.is_fresh()
        {
            return entry.loaded.clone();
        }
        // Stamped before loading: a change while loading shows as stale.
        let mut watched: Vec<(PathBuf, Stamp)> = watched_paths(request, None)
            .into_iter()
            .map(|p| {
                let s = stamp(&p);
                (p, s)
            })
            .collect();
        let loaded = request.load();
        self.loads += 1;
        // An archive's bento is extracted to a temporary directory: the
        // archive itself is watched.
        if let Some(b) = loaded
            .bento
            .as_ref()
            .filter(|_| !request.value.ends_with(".bento"))
        {
            for p in watched_paths(request, Some(&b.path)) {
                if !watched.iter().any(|(w, _)| *w == p) {
                    let s = stamp(&p);
                    watched.push((p, s));
                }
            }
        }
        // Bounded: a user editing `bento = "..."` creates one entry per
        // value typed.
        if self.entries.len() >= 64 {
            self.entries.clear();
        }
        self.entries.insert(
            request.clone(),
            Entry {
                loaded: loaded.clone(),
                watched,
            },
        );
        loaded
    }

    /// The cached bento of a request, without touching the disk.
    pub fn peek(&self, request: &BentoRequest) -> Option<&bento::Bento> {
        self.entries.get(request)?.loaded.bento.as_ref()
    }

    /// Whether a cached request's files changed since it was loaded.
    pub fn is_stale(&self, request: &BentoRequest) -> bool {
        self.entries.get(request).is_some_and(|e| !e.is_fresh())
    }
}

/// The files whose change may change what `request` loads.
fn watched_paths(request: &BentoRequest, bento_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if bento::looks_like_path(&request.value) || request.value.ends_with(".bento") {
        let target = request.spec_dir.join(&request.value);
        paths.push(target.join("bento.yaml"));
        paths.push(target);
    } else {
        let name = request.value.split(':').next().unwrap_or_default();
        let bentos = request.store.join("bentos");
        paths.push(bentos.join(name).join("latest"));
        paths.push(bentos.join(name));
        paths.push(bentos);
        paths.push(request.store.join("models"));
    }
    if let Some(dir) = bento_dir {
        paths.push(dir.join("bento.yaml"));
        paths.push(dir.join("src"));
    }
    paths
}
