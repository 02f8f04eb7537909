//! Reading files named on the command line: regular files only, with a size bound, so a
//! FIFO, a device or a symlink to `/dev/zero` is a clear error at once instead of a hang or
//! an unbounded read.

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// Largest config, certificate or body file read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The bytes of the regular file at `path`, at most [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, CliError> {
    let name = path.display();
    let fail = |what: &str| CliError::Invalid(format!("{name}: {what}"));
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    let meta = std::fs::metadata(path).map_err(|e| fail(&format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(fail("not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(&format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(&format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(&format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(&format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    String::from_utf8(read_bounded(path)?)
        .map_err(|_| CliError::Invalid(format!("{}: not UTF-8 text", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn fifos_devices_directories_and_huge_files_are_refused_fast() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.toml");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        let zero_link = dir.path().join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &zero_link).unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        let mut cases = vec![zero_link, big, dir.path().to_path_buf()];
        if status.is_ok_and(|s| s.success()) {
            cases.push(fifo);
        }
        for path in cases {
            let t = Instant::now();
            let err = read_bounded(&path).unwrap_err();
            assert!(matches!(err, CliError::Invalid(_)), "{path:?}");
            assert!(t.elapsed() < Duration::from_secs(1), "{path:?}");
        }
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "a = 1").unwrap();
        assert_eq!(read_text(&ok).unwrap(), "a = 1");
    }
}
