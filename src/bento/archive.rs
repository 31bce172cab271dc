//! `.bento` export archives (`bentoml export`): tar compressed with xz, with
//! member names either bare (`bento.yaml`, BentoML ≤ 1.4.19) or prefixed
//! with `./` (1.4.20+). Only the metadata bentoray reads is extracted:
//! `bento.yaml`, the models' `latest` and `model.yaml` files, and the
//! Python sources (to find the Service name). Model binaries are skipped.

use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

/// xz's magic bytes.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// Largest metadata member extracted; bigger ones are skipped.
const MAX_MEMBER: u64 = 16 * 1024 * 1024;

/// Extracts the archive's metadata into `into`.
pub fn extract_metadata(archive: &Path, into: &Path) -> Result<(), String> {
    let mut file = File::open(archive).map_err(|e| format!("cannot open: {e}"))?;
    let mut magic = [0u8; 6];
    let is_xz = file.read_exact(&mut magic).is_ok() && magic == XZ_MAGIC;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let reader: Box<dyn Read> = if is_xz {
        Box::new(xz2::read::XzDecoder::new(BufReader::new(file)))
    } else {
        // `bentoml import` also reads plain tar; anything else fails below.
        Box::new(BufReader::new(file))
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| format!("not a .bento archive (xz-compressed tar): {e}"))?;
    let mut found_bento_yaml = false;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| format!("not a .bento archive (xz-compressed tar): {e}"))?;
        if !entry.header().entry_type().is_file() || entry.size() > MAX_MEMBER {
            continue;
        }
        let Some(relative) = entry.path().ok().and_then(|p| wanted(&p)) else {
            continue;
        };
        let target = into.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = File::create(&target).map_err(|e| e.to_string())?;
        std::io::copy(&mut entry, &mut out).map_err(|e| format!("corrupt archive: {e}"))?;
        found_bento_yaml |= relative == Path::new("bento.yaml");
    }
    if found_bento_yaml {
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
    use super::wanted;
    use std::path::{Path, PathBuf};

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
