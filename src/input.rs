//! Reading input files: the spec, the bento's metadata and sources, and
//! existing outputs. Only regular files are read (a FIFO, a device or a
//! directory is refused instead of blocking or reading without end), and
//! never more than a cap.
//!
//! A leaf module used by every stage that reads files; it depends on nothing
//! else in bentoray.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Largest spec file read: room for a spec configuring 10,000 runners
/// (about 1.3 MB) many times over; checking is linear in the size.
pub const SPEC_CAP: u64 = 16 * 1024 * 1024;
/// Largest metadata file of a bento read (`bento.yaml`, `model.yaml`,
/// `latest`, the service's Python source).
pub const METADATA_CAP: u64 = 16 * 1024 * 1024;

/// Why an input file could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// Not a regular file: what it is instead ("a directory", "a FIFO", …).
    NotRegular(&'static str),
    TooLarge {
        cap: u64,
    },
    NotUtf8,
}

impl ReadError {
    /// Whether the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound => f.write_str("no such file"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge { cap } => write!(f, "it is larger than {}", size(*cap)),
            ReadError::NotUtf8 => f.write_str("the file is not valid UTF-8"),
        }
    }
}

/// A byte count as the README writes caps (`16 MiB`).
pub fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= 1024 * MIB && bytes.is_multiple_of(1024 * MIB) {
        format!("{} GiB", bytes / (1024 * MIB))
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Opens `path` for reading if it is a regular file (symlinks followed).
/// The check is made on the opened file, so the file cannot be swapped in
/// between; opening never blocks (a FIFO is opened non-blocking, then
/// refused).
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::IsADirectory => ReadError::NotRegular("a directory"),
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.is_file() {
        Ok(file)
    } else {
        Err(ReadError::NotRegular(kind(&meta.file_type())))
    }
}

fn kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The contents of a regular file of at most `cap` bytes.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    // One byte more than the cap tells a file at the cap from a larger one,
    // whatever its size claimed (files can grow while they are read).
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(bytes)
}

/// The UTF-8 text of a regular file of at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, cap)?).map_err(|_| ReadError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file_and_caps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_bytes(&file, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bytes(&file, 4),
            Err(ReadError::TooLarge { cap: 4 })
        ));
        assert!(matches!(
            read_bytes(dir.path(), 4),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(
            read_bytes(&dir.path().join("missing"), 4)
                .unwrap_err()
                .is_not_found()
        );
        #[cfg(unix)]
        assert!(matches!(
            read_bytes(Path::new("/dev/zero"), 4),
            Err(ReadError::NotRegular("a device"))
        ));
    }
}
