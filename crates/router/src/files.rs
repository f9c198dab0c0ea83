//! Opening files without following links: whatever sluice writes or reads
//! inside a directory it manages (an archive, a processing log) is opened so
//! that a symbolic link planted at that path is refused, never followed, and
//! a new file is created only where nothing exists yet.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// Adds `O_NOFOLLOW` where the platform has it.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options
}

/// Names the path in an error, and says so when it is a link.
fn with_path(path: &Path, error: io::Error) -> io::Error {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        return io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: is a symbolic link, which is not followed",
                path.display()
            ),
        );
    }
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Opens an existing file for reading; a link is refused.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("sluice-files-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("a"), b"x").unwrap();
/// assert!(sluice_router::files::open_read(&dir.join("a")).is_ok());
/// # #[cfg(unix)] {
/// std::os::unix::fs::symlink(dir.join("a"), dir.join("b")).unwrap();
/// assert!(sluice_router::files::open_read(&dir.join("b")).is_err());
/// # }
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn open_read(path: &Path) -> io::Result<File> {
    no_follow(OpenOptions::new().read(true))
        .open(path)
        .map_err(|e| with_path(path, e))
}

/// Reads a whole file of at most `limit` bytes; a link is refused.
///
/// ```
/// let path = std::env::temp_dir().join(format!("sluice-files-read-{}", std::process::id()));
/// std::fs::write(&path, b"12345").unwrap();
/// assert_eq!(sluice_router::files::read_limited(&path, 5).unwrap(), b"12345");
/// assert!(sluice_router::files::read_limited(&path, 4).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_read(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| with_path(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: larger than {limit} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// Creates a new file for writing; fails if anything (a link included)
/// exists at `path`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("sluice-files-new-{}", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// assert!(sluice_router::files::create_new(&path).is_ok());
/// assert!(sluice_router::files::create_new(&path).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| with_path(path, e))
}

/// Opens a file for appending, creating it if needed; a link is refused.
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("sluice-files-append-{}", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// sluice_router::files::open_append(&path).unwrap().write_all(b"a").unwrap();
/// sluice_router::files::open_append(&path).unwrap().write_all(b"b").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"ab");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn open_append(path: &Path) -> io::Result<File> {
    no_follow(OpenOptions::new().append(true).create(true))
        .open(path)
        .map_err(|e| with_path(path, e))
}

/// Moves `from` to `to` only if nothing exists at `to` (a hard link, then
/// the old name removed), so a live file is never replaced.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("sluice-files-move-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("a"), b"1").unwrap();
/// std::fs::write(dir.join("b"), b"2").unwrap();
/// assert!(sluice_router::files::rename_new(&dir.join("a"), &dir.join("b")).is_err());
/// assert_eq!(std::fs::read(dir.join("b")).unwrap(), b"2");
/// sluice_router::files::rename_new(&dir.join("a"), &dir.join("c")).unwrap();
/// assert_eq!(std::fs::read(dir.join("c")).unwrap(), b"1");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    fs::hard_link(from, to).map_err(|e| with_path(to, e))?;
    fs::remove_file(from).map_err(|e| with_path(from, e))
}

/// Creates `dir` (and its parents) if needed, and checks that it is a
/// directory and not a link to one.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("sluice-files-dir-{}", std::process::id()));
/// sluice_router::files::real_dir(&dir.join("x")).unwrap();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn real_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| with_path(dir, e))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a directory (a symbolic link is not followed)",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Makes a directory's entries (new and renamed files) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))
}

/// Writes `bytes` to a new file at `path` through a temporary name beside
/// it, synced, then moved over `path` (replacing it) and the directory
/// synced. A link at `path` is replaced, not followed.
pub fn replace_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let temporary = dir.join(format!(".{name}.partial"));
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(with_path(&temporary, e)),
    }
    let mut file = create_new(&temporary)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| with_path(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| with_path(path, e))?;
    sync_dir(dir)
}
