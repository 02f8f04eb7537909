//! Reading files a user names, with a bound: a path can point at a device, a FIFO or a huge
//! file, and none of those may hang the command or fill memory.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file could not be read; `Display` names the path (escaped) and the reason only,
/// never the content.
#[derive(Debug)]
pub struct FileError {
    path: String,
    reason: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Reads a regular file of at most `max` bytes. Anything else (a directory, FIFO, socket or
/// device, also through a symlink) is refused before it is opened, so a FIFO cannot block.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let err = |reason: String| FileError {
        // Debug quoting escapes control characters a crafted name could carry.
        path: format!("{:?}", path.display().to_string()),
        reason,
    };
    let meta =
        std::fs::metadata(path).map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > max {
        return Err(err(format!("larger than {max} bytes")));
    }
    let file =
        std::fs::File::open(path).map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    // The file may have been swapped or grown since the check: bound the read itself too.
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > max {
        return Err(err(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
