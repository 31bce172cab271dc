//! Atomic output: every file is first written and synced to a temporary
//! file inside the output directory; only when all of them are written are
//! they renamed into place. A failure before that point removes the
//! temporaries and leaves the directory as it was.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::OutputFile;

/// Writes `files` into `dir` (created if missing); files whose contents are
/// already identical are left untouched.
pub fn write_atomically(dir: &Path, files: &[OutputFile]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut staged = Vec::new();
    for file in files {
        let target = dir.join(&file.name);
        if fs::read(&target).is_ok_and(|old| old == file.contents.as_bytes()) {
            continue;
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".bentoray-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(file.contents.as_bytes())?;
        tmp.as_file().sync_all()?;
        staged.push((tmp, target));
    }
    // All contents are on disk; now swap them in. Each rename is atomic.
    for (tmp, target) in staged {
        tmp.persist(&target).map_err(|e| e.error)?;
    }
    if let Ok(d) = fs::File::open(dir) {
        // Make the renames durable; not all platforms support syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}
