//! Files and folders only the service's own user can read: the data
//! directory is 0700, keys and secrets are created 0600 (never written
//! first and restricted after), and a data directory that others can read
//! is refused.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Creates `dir` (and missing parents) readable by its owner only.
pub fn create_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Writes `bytes` to `path`, created 0600 from the start. An existing file
/// is replaced through a new file and a rename, so no reader ever sees a
/// half-written key or a moment where it was readable by others.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let staged = stage(path, bytes)?;
    std::fs::rename(&staged, path).with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` to `path` unless it exists; `false` when another
/// process made it first (its content stands, whole).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    let staged = stage(path, bytes)?;
    let linked = std::fs::hard_link(&staged, path);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// A new private file beside `path`, with `bytes` on disk, named for this
/// writer alone.
fn stage(path: &Path, bytes: &[u8]) -> Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let nonce: u64 = rand::random();
    let staged = path.with_file_name(format!(
        ".{}.{}-{nonce:016x}.new",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&staged)
        .with_context(|| format!("creating {}", staged.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", staged.display()))?;
    Ok(staged)
}

/// Fails, with the command that fixes it, when other users of the machine
/// can read or enter `dir`.
pub fn check_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} can be read by other users of this machine (mode {:o}): it holds every \
                 student's documents and the service's keys. Make it private, then start again:\n    \
                 chmod -R go-rwx {}",
                dir.display(),
                mode & 0o777,
                shell_quote(&dir.display().to_string())
            );
        }
    }
    Ok(())
}

/// Makes files this process creates from now on private (umask 077). For
/// the service's own binary: the umask is the whole process's.
pub fn restrict_new_files() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_and_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        check_dir(&dir).unwrap();
        let key = dir.join("k.pem");
        write(&key, b"one").unwrap();
        write(&key, b"two").unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"two");
        assert!(!write_new(&key, b"three").unwrap());
        assert_eq!(std::fs::read(&key).unwrap(), b"two");
        assert!(write_new(&dir.join("new"), b"four").unwrap());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no staged file left"
        );
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("chmod -R go-rwx"), "{err}");
    }
}
