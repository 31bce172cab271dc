//! Writing the output directory, all or nothing.
//!
//! A build holds an exclusive lock on [`LOCK_FILE`] in the output directory
//! for its whole write, so concurrent builds into one directory take turns
//! and always leave a matching set of files. Under the lock, temporaries
//! left by killed builds are removed, every target is checked, and every
//! changed file is written and synced to a temporary file (mode 0666 less
//! the umask, like any other writer); only then are they renamed into
//! place, the first file (serve.yaml, which names the others) last. If a
//! rename fails, the files already renamed are put back as they were.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::OutputFile;
use crate::input;

/// The lock file in the output directory. It is left in place: removing it
/// would let a build that opened it before the removal lock a file that the
/// next build no longer sees.
pub const LOCK_FILE: &str = ".bentoray.lock";
/// Temporary files are named `.bentoray-<random>.tmp`.
const TEMP_PREFIX: &str = ".bentoray-";
const TEMP_SUFFIX: &str = ".tmp";

/// Why the output directory could not be written. In every case it was
/// left as it was.
#[derive(Debug)]
pub enum WriteError {
    /// `-o` names something that is not a directory.
    NotADirectory(PathBuf),
    /// A file to write is a directory in the output directory.
    TargetIsADirectory(PathBuf),
    /// The output directory is inside the bento directory.
    InsideBento {
        dir: PathBuf,
        bento: PathBuf,
    },
    /// A file to write is one of the inputs (the spec, the bento archive).
    WouldOverwriteInput(PathBuf),
    Io {
        doing: String,
        error: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotADirectory(p) => {
                write!(f, "{} is a file, not a directory", p.display())
            }
            WriteError::TargetIsADirectory(p) => write!(
                f,
                "{} is a directory; remove it or choose another output directory",
                p.display()
            ),
            WriteError::InsideBento { dir, bento } => write!(
                f,
                "{} is inside the bento directory {}; choose an output directory outside the bento",
                dir.display(),
                bento.display()
            ),
            WriteError::WouldOverwriteInput(p) => write!(
                f,
                "writing {} would overwrite an input of the build; choose another output directory or import path",
                p.display()
            ),
            WriteError::Io { doing, error } => write!(f, "cannot {doing}: {error}"),
        }
    }
}

impl std::error::Error for WriteError {}

fn io_error(doing: impl Into<String>) -> impl FnOnce(io::Error) -> WriteError {
    let doing = doing.into();
    move |error| WriteError::Io { doing, error }
}

/// Writes `files` into `dir` (created if missing); files whose contents are
/// already identical are left untouched. Returns the names of the files it
/// replaced or created.
pub fn write_atomically(dir: &Path, files: &[OutputFile]) -> Result<Vec<String>, WriteError> {
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(WriteError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {}
        Err(_) => fs::create_dir_all(dir)
            .map_err(io_error(format!("create directory {}", dir.display())))?,
    }
    let _lock = lock(dir)?;
    remove_stale_temporaries(dir);

    // Check every target before anything changes.
    let mut changed = Vec::new();
    for file in files {
        let target = dir.join(&file.name);
        match fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => return Err(WriteError::TargetIsADirectory(target)),
            // A regular file with the same contents stays; anything else (a
            // symlink, a FIFO) is replaced by the rename, never read.
            Ok(m) if m.is_file() && same_contents(&target, &file.contents) => continue,
            _ => changed.push((file, target)),
        }
    }
    let mut staged = Vec::new();
    for (file, target) in &changed {
        let mut tmp = temporary(dir)?;
        let doing = format!("write {}", tmp.path().display());
        tmp.write_all(file.contents.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_error(doing))?;
        let backup = backup(dir, target)?;
        staged.push(Staged {
            tmp,
            target: target.clone(),
            backup,
        });
    }
    // The first file names the others (serve.yaml carries the entrypoint's
    // hash): it goes in last.
    staged.reverse();
    let names = staged
        .iter()
        .rev()
        .map(|s| {
            s.target
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    swap_in(staged, &mut |from, to| fs::rename(from, to))?;
    if let Ok(d) = File::open(dir) {
        // Make the renames durable; not all platforms support syncing a directory.
        let _ = d.sync_all();
    }
    Ok(names)
}

/// Refuses a build that would write over what it reads: an output
/// directory inside the bento directory, or an output file that is the spec
/// (or the bento archive) itself.
pub fn refuse_to_overwrite_inputs(
    dir: &Path,
    files: &[OutputFile],
    spec: &Path,
    bento: &Path,
) -> Result<(), WriteError> {
    let out = resolved(dir);
    let bento_resolved = resolved(bento);
    if bento.is_dir() && out.starts_with(&bento_resolved) {
        return Err(WriteError::InsideBento {
            dir: dir.to_path_buf(),
            bento: bento.to_path_buf(),
        });
    }
    let inputs = [resolved(spec), bento_resolved];
    for file in files {
        if inputs.contains(&out.join(&file.name)) {
            return Err(WriteError::WouldOverwriteInput(dir.join(&file.name)));
        }
    }
    Ok(())
}

/// `path` with symlinks resolved as far as it exists; the rest (not yet
/// created) is appended with `.` and `..` applied.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    let mut base = loop {
        if let Ok(real) = fs::canonicalize(existing) {
            break real;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => break absolute.clone(),
        }
    };
    for name in missing.iter().rev() {
        if name == ".." {
            base.pop();
        } else if name != "." {
            base.push(name);
        }
    }
    base
}

/// Whether `path` holds exactly `contents` (read no further than needed).
fn same_contents(path: &Path, contents: &str) -> bool {
    input::read_bytes(path, contents.len() as u64).is_ok_and(|old| old == contents.as_bytes())
}

/// A file staged for `target`, and a hard link to (or copy of) the file it
/// replaces, to put back if a later rename fails.
struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    backup: Option<tempfile::TempPath>,
}

/// Renames every staged file into place with `rename`; when one fails,
/// restores the targets already replaced from their backups (or removes
/// them if they did not exist) and returns the error.
fn swap_in(
    staged: Vec<Staged>,
    rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
) -> Result<(), WriteError> {
    let mut done: Vec<(PathBuf, Option<tempfile::TempPath>)> = Vec::new();
    let mut pending = staged.into_iter();
    for s in pending.by_ref() {
        match rename(s.tmp.path(), &s.target) {
            Ok(()) => {
                // The temporary is now the target: do not delete it on drop.
                let _ = s.tmp.into_temp_path().keep();
                done.push((s.target, s.backup));
            }
            Err(error) => {
                let doing = format!("replace {}", s.target.display());
                for (target, backup) in done.into_iter().rev() {
                    match backup {
                        Some(b) => {
                            if fs::rename(&b, &target).is_ok() {
                                let _ = b.keep();
                            }
                        }
                        None => {
                            let _ = fs::remove_file(&target);
                        }
                    }
                }
                return Err(WriteError::Io { doing, error });
            }
        }
    }
    Ok(())
}

/// Takes the directory's build lock (waiting for a concurrent build).
fn lock(dir: &Path) -> Result<File, WriteError> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error(format!("create lock file {}", path.display())))?;
    let locked = match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(()),
        Err(fs4::TryLockError::WouldBlock) => {
            eprintln!(
                "bentoray: waiting for another build into {} to finish",
                dir.display()
            );
            fs4::FileExt::lock(&file)
        }
        Err(fs4::TryLockError::Error(e)) => Err(e),
    };
    locked.map_err(io_error(format!("lock {}", path.display())))?;
    Ok(file)
}

/// A shared lock on the directory's build lock, if a build ever made one:
/// readers never see a build half done.
pub fn lock_shared(dir: &Path) -> Option<File> {
    let file = File::open(dir.join(LOCK_FILE)).ok()?;
    fs4::FileExt::lock_shared(&file).ok()?;
    Some(file)
}

/// Removes temporaries of earlier builds that were killed before they
/// could clean up. Only called with the lock held, so no live build owns
/// one. Best effort: a temporary that cannot be removed does no harm.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len();
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes one file atomically (a synced temporary file in the same
/// directory, renamed into place). Without `replace`, an existing `path` is
/// never replaced, even one created while this runs (the rename refuses to
/// overwrite); returns `Ok(false)` then.
pub fn write_file(path: &Path, contents: &str, replace: bool) -> Result<bool, WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(WriteError::TargetIsADirectory(path.to_path_buf()));
    }
    if !replace && fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    let mut temp = temporary(dir)?;
    temp.write_all(contents.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_error(format!("write {}", temp.path().display())))?;
    let persisted = if replace {
        temp.persist(path).map(|_| ())
    } else {
        temp.persist_noclobber(path).map(|_| ())
    };
    match persisted {
        Ok(()) => Ok(true),
        Err(e) if !replace && e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(WriteError::Io {
            doing: format!("write {}", path.display()),
            error: e.error,
        }),
    }
}

fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666 less the umask, like any other file (tempfile's
        // default is 0600).
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder
}

fn temporary(dir: &Path) -> Result<tempfile::NamedTempFile, WriteError> {
    temp_builder().tempfile_in(dir).map_err(io_error(format!(
        "create a temporary file in {}",
        dir.display()
    )))
}

/// Keeps what `target` holds now under a temporary name, to restore it if
/// the build cannot finish: a hard link, else a copy. `None` when there is
/// nothing there.
fn backup(dir: &Path, target: &Path) -> Result<Option<tempfile::TempPath>, WriteError> {
    if fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let doing = || format!("keep a copy of {}", target.display());
    // Reserve a temporary name, then point it at the target's file.
    let path = temporary(dir)?.into_temp_path();
    fs::remove_file(&path).map_err(io_error(doing()))?;
    if fs::hard_link(target, &path).is_err() {
        fs::copy(target, &path).map_err(io_error(doing()))?;
    }
    Ok(Some(path))
}

/// A file of the output directory that does not match the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub name: String,
    pub why: String,
}

/// Compares `dir` with `files` without writing: which files are missing or
/// differ. Waits for a build that is writing the directory.
pub fn stale_files(dir: &Path, files: &[OutputFile]) -> Vec<Stale> {
    let _lock = lock_shared(dir);
    files
        .iter()
        .filter_map(|file| {
            let path = dir.join(&file.name);
            let why = match input::read_bytes(&path, file.contents.len() as u64) {
                Ok(old) if old == file.contents.as_bytes() => return None,
                Ok(_) | Err(input::ReadError::TooLarge { .. }) => {
                    "differs from what the spec builds".to_string()
                }
                Err(e) if e.is_not_found() => "is missing".to_string(),
                Err(e) => format!("cannot be read: {e}"),
            };
            Some(Stale {
                name: file.name.clone(),
                why,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, contents: &str) -> OutputFile {
        OutputFile {
            name: name.into(),
            contents: contents.into(),
        }
    }

    #[test]
    fn a_failed_rename_puts_back_the_files_already_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        fs::write(out.join("a.py"), "old a").unwrap();
        // b.yaml does not exist yet; c.txt does.
        fs::write(out.join("c.txt"), "old c").unwrap();
        let files = [
            file("a.py", "new a"),
            file("b.yaml", "new b"),
            file("c.txt", "new c"),
        ];
        let staged: Vec<Staged> = files
            .iter()
            .map(|f| {
                let target = out.join(&f.name);
                let mut tmp = temporary(out).unwrap();
                tmp.write_all(f.contents.as_bytes()).unwrap();
                Staged {
                    backup: backup(out, &target).unwrap(),
                    tmp,
                    target,
                }
            })
            .collect();
        let mut calls = 0;
        let result = swap_in(staged, &mut |from, to| {
            calls += 1;
            if calls == 3 {
                Err(io::Error::other("disk on fire"))
            } else {
                fs::rename(from, to)
            }
        });
        assert!(result.unwrap_err().to_string().contains("disk on fire"));
        let mut names: Vec<String> = fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.py", "c.txt"], "no temporaries, no new file");
        assert_eq!(fs::read_to_string(out.join("a.py")).unwrap(), "old a");
        assert_eq!(fs::read_to_string(out.join("c.txt")).unwrap(), "old c");
    }
}
