//! `.bento` export archives (`bentoml export`): tar compressed with xz, with
//! member names either bare (`bento.yaml`, BentoML ≤ 1.4.19) or prefixed
//! with `./` (1.4.20+). Only the metadata bentoray reads is extracted:
//! `bento.yaml`, the models' `latest` and `model.yaml` files, and the
//! Python sources (for the Service name, services and custom runnables). Model
//! binaries are skipped.

use std::cell::Cell;
use std::collections::HashSet;
use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use crate::input::{self, size};

/// xz's magic bytes.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// How much of an archive bentoray reads at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest metadata member extracted; bigger ones are skipped
    /// (`bento.yaml` bigger than this is an error).
    pub member: u64,
    /// Total bytes of metadata members extracted.
    pub extracted: u64,
    /// Total bytes decompressed before the metadata is complete: an xz
    /// archive cannot skip a member without decompressing it.
    pub decompressed: u64,
}

/// The limits `bentoray` uses (documented in the README).
pub const LIMITS: Limits = Limits {
    member: input::METADATA_CAP,
    extracted: 64 * 1024 * 1024,
    decompressed: 1024 * 1024 * 1024,
};

/// Extracts the archive's metadata into `into`.
pub fn extract_metadata(archive: &Path, into: &Path) -> Result<(), String> {
    extract_with_limits(archive, into, LIMITS).map(|_| ())
}

/// [`extract_metadata`] with explicit limits; returns how many bytes of tar
/// stream were read (decompressed), which stops growing once everything
/// needed was found.
pub fn extract_with_limits(archive: &Path, into: &Path, limits: Limits) -> Result<u64, String> {
    let mut file = input::open_regular(archive).map_err(|e| format!("cannot open: {e}"))?;
    let mut magic = [0u8; 6];
    let is_xz = file.read_exact(&mut magic).is_ok() && magic == XZ_MAGIC;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let not_an_archive =
        |e: std::io::Error| format!("not a .bento archive (xz-compressed tar): {e}");
    if is_xz {
        let read = Rc::new(Cell::new(0));
        let counted = Counted {
            inner: xz2::read::XzDecoder::new(BufReader::new(file)),
            read: read.clone(),
            limit: limits.decompressed,
        };
        let mut tar = tar::Archive::new(counted);
        let entries = tar.entries().map_err(not_an_archive)?;
        extract_entries(entries, into, limits, &|| read.get())?;
        Ok(read.get())
    } else {
        // `bentoml import` also reads plain tar; anything else fails below.
        // Plain tar skips unneeded members by seeking.
        let mut tar = tar::Archive::new(file);
        let entries = tar.entries_with_seek().map_err(not_an_archive)?;
        extract_entries(entries, into, limits, &|| 0)?;
        Ok(0)
    }
}

/// A reader that counts what it yields and fails past `limit`.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read.get() >= self.limit {
            return Err(std::io::Error::other(DECOMPRESSED_LIMIT));
        }
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

const DECOMPRESSED_LIMIT: &str = "decompression limit reached";

fn extract_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    into: &Path,
    limits: Limits,
    decompressed: &dyn Fn() -> u64,
) -> Result<(), String> {
    let too_long = || {
        format!(
            "its metadata (bento.yaml, models' model.yaml, the Python sources) is not within the first {} of the archive",
            size(limits.decompressed)
        )
    };
    let corrupt = |e: std::io::Error| {
        if e.to_string().contains(DECOMPRESSED_LIMIT) || decompressed() >= limits.decompressed {
            too_long()
        } else {
            format!("not a .bento archive (xz-compressed tar): {e}")
        }
    };
    let mut extracted: HashSet<PathBuf> = HashSet::new();
    let mut extracted_bytes = 0u64;
    // bento.yaml's text once found: it says which other members are needed.
    let mut bento_yaml: Option<String> = None;
    for entry in entries {
        let mut entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Some(relative) = entry.path().ok().and_then(|p| wanted(&p)) else {
            continue;
        };
        let is_bento_yaml = relative == Path::new("bento.yaml");
        if entry.size() > limits.member {
            if is_bento_yaml {
                return Err(format!(
                    "its bento.yaml is larger than {}",
                    size(limits.member)
                ));
            }
            continue;
        }
        if extracted.contains(&relative) {
            continue;
        }
        extracted_bytes += entry.size();
        if extracted_bytes > limits.extracted {
            return Err(format!(
                "its metadata members total more than {}",
                size(limits.extracted)
            ));
        }
        let target = into.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limits.member)
            .read_to_end(&mut bytes)
            .map_err(corrupt)?;
        fs::write(&target, &bytes).map_err(|e| e.to_string())?;
        if is_bento_yaml {
            bento_yaml = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        extracted.insert(relative);
        if let Some(yaml) = &bento_yaml {
            let present = |p: &Path| extracted.contains(p);
            let read_latest = |p: &Path| {
                extracted
                    .contains(p)
                    .then(|| fs::read_to_string(into.join(p)).ok())
                    .flatten()
            };
            if super::metadata_complete(yaml, &present, &read_latest) {
                // Everything read_bento needs is here: stop reading (and
                // decompressing) the rest of the archive.
                return Ok(());
            }
        }
    }
    if bento_yaml.is_some() {
        Ok(())
    } else {
        Err("the archive has no bento.yaml".into())
    }
}

/// The member's path inside the bento if bentoray needs it: only plain
/// relative components (no `..`, no root), `./` prefix removed.
fn wanted(path: &Path) -> Option<PathBuf> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            _ => return None,
        }
    }
    let keep = match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["bento.yaml"] => true,
        ["models", _, "latest"] | ["models", _, _, "model.yaml"] => true,
        ["src", .., last] => last.ends_with(".py"),
        _ => false,
    };
    keep.then(|| parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::{Limits, extract_with_limits, wanted};
    use std::io::Read;
    use std::path::{Path, PathBuf};

    const MIB: u64 = 1024 * 1024;
    const LIMITS: Limits = Limits {
        member: MIB,
        extracted: 2 * MIB,
        decompressed: 8 * MIB,
    };
    /// Names its Service, so the service source is not needed.
    const BENTO_YAML: &str = "name: t\nversion: v1\nservice: service:svc\nentry_service: t\nrunners:\n- name: clf\n  runnable_type: SklearnRunnable\n  models: [clf:m1]\n";

    /// An xz-compressed tar of `members` (name, size of zeros or text).
    fn archive<S: AsRef<str>>(dir: &Path, members: &[(S, Member)]) -> PathBuf {
        let path = dir.join("t.bento");
        let xz = xz2::write::XzEncoder::new(std::fs::File::create(&path).unwrap(), 1);
        let mut tar = tar::Builder::new(xz);
        for (name, member) in members {
            let mut header = tar::Header::new_gnu();
            let (size, data): (u64, Box<dyn Read>) = match member {
                Member::Zeros(n) => (*n, Box::new(std::io::repeat(0).take(*n))),
                Member::Text(t) => (t.len() as u64, Box::new(t.as_bytes())),
            };
            header.set_size(size);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name.as_ref(), data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    enum Member {
        Zeros(u64),
        Text(&'static str),
    }
    use Member::{Text, Zeros};

    #[test]
    fn stops_reading_once_the_metadata_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let into = tempfile::tempdir().unwrap();
        let path = archive(
            dir.path(),
            &[
                ("bento.yaml", Text(BENTO_YAML)),
                (
                    "models/clf/m1/model.yaml",
                    Text("module: bentoml.sklearn\n"),
                ),
                // Twice the decompression limit: never reached.
                ("models/clf/m1/saved_model.pkl", Zeros(16 * MIB)),
            ],
        );
        let read = extract_with_limits(&path, into.path(), LIMITS).unwrap();
        assert!(read < MIB, "read {read} bytes");
        assert!(into.path().join("models/clf/m1/model.yaml").is_file());
    }

    #[test]
    fn a_plain_tar_skips_unneeded_members_without_reading_them() {
        use std::io::{Seek, SeekFrom, Write};
        let dir = tempfile::tempdir().unwrap();
        let into = tempfile::tempdir().unwrap();
        // A 4 GiB member stored as a hole (sparse file), then bento.yaml.
        let path = dir.path().join("t.bento");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_path("models/clf/m1/saved_model.pkl").unwrap();
        header.set_size(4 * 1024 * MIB);
        header.set_cksum();
        file.write_all(header.as_bytes()).unwrap();
        file.seek(SeekFrom::Current(4 * 1024 * MIB as i64)).unwrap();
        let mut tar = tar::Builder::new(file);
        let mut header = tar::Header::new_gnu();
        header.set_size(BENTO_YAML.len() as u64);
        header.set_cksum();
        tar.append_data(&mut header, "bento.yaml", BENTO_YAML.as_bytes())
            .unwrap();
        tar.finish().unwrap();
        extract_with_limits(&path, into.path(), LIMITS).unwrap();
        assert!(into.path().join("bento.yaml").is_file());
    }

    #[test]
    fn metadata_behind_too_much_data_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let into = tempfile::tempdir().unwrap();
        let path = archive(
            dir.path(),
            &[
                ("models/clf/m1/saved_model.pkl", Zeros(16 * MIB)),
                ("bento.yaml", Text(BENTO_YAML)),
            ],
        );
        let err = extract_with_limits(&path, into.path(), LIMITS).unwrap_err();
        assert!(
            err.contains("is not within the first 8 MiB of the archive"),
            "{err}"
        );
    }

    #[test]
    fn extracted_metadata_is_capped_in_total_and_per_member() {
        let dir = tempfile::tempdir().unwrap();
        let into = tempfile::tempdir().unwrap();
        // Sources before bento.yaml are all candidates: their total is capped.
        let members: Vec<(String, Member)> = (0..5)
            .map(|i| (format!("src/m{i}.py"), Zeros(MIB / 2)))
            .chain([("bento.yaml".to_string(), Text(BENTO_YAML))])
            .collect();
        let path = archive(dir.path(), &members);
        let err = extract_with_limits(&path, into.path(), LIMITS).unwrap_err();
        assert!(
            err.contains("metadata members total more than 2 MiB"),
            "{err}"
        );

        let path = archive(dir.path(), &[("bento.yaml", Zeros(MIB + 1))]);
        let err = extract_with_limits(&path, into.path(), LIMITS).unwrap_err();
        assert!(err.contains("bento.yaml is larger than 1 MiB"), "{err}");
    }

    #[test]
    fn keeps_metadata_and_rejects_escapes() {
        assert_eq!(
            wanted(Path::new("./bento.yaml")),
            Some(PathBuf::from("bento.yaml"))
        );
        assert_eq!(
            wanted(Path::new("models/iris_clf/v1/model.yaml")),
            Some(PathBuf::from("models/iris_clf/v1/model.yaml"))
        );
        assert_eq!(
            wanted(Path::new("models/iris_clf/v1/saved_model.pkl")),
            None
        );
        assert_eq!(wanted(Path::new("../bento.yaml")), None);
        assert_eq!(wanted(Path::new("/bento.yaml")), None);
        assert_eq!(wanted(Path::new("src/../../x.py")), None);
        assert_eq!(
            wanted(Path::new("src/pkg/service.py")),
            Some(PathBuf::from("src/pkg/service.py"))
        );
    }
}
