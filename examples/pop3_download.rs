//! Downloads a POP3 maildrop into a directory, one file per message, and deletes from the
//! server exactly what was saved — never losing or repeating a message, however a run ends
//! (`mailwire::pop3::Download`; docs/pop3.md, "Downloading without loss or repeats").
//!
//! ```text
//! MAILWIRE_HOST=pop.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=... \
//!     MAILWIRE_DOWNLOAD_DIR=./mail cargo run --example pop3_download
//! ```
//!
//! Environment: as every example (see `examples/common/mod.rs`); the POP3 port is
//! `MAILWIRE_POP3_PORT`, else `MAILWIRE_PORT`, else 995 with TLS and 110 otherwise.
//! `MAILWIRE_DOWNLOAD_DIR` is where messages go (default: `mailwire-pop3-download` in the
//! temp dir). `MAILWIRE_DOWNLOAD_CRASH_AFTER=n` simulates a crash: the process exits (code
//! 3, no `QUIT`) right after saving the n-th message, so the next run shows the leftovers
//! being deleted without being downloaded again.
//!
//! **This deletes the messages it saved from the server.** Each message is written to a
//! temporary name, synced, renamed to its final name (the unique id, `%`-encoded) and the
//! directory synced, before the message is marked for deletion; the deletions are
//! committed by `QUIT` only when the whole run succeeded.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mailwire::pop3::{Download, Incoming, Pop3Store};

#[path = "common/mod.rs"]
mod common;

/// The store's own error: a disk error stays a disk error.
#[derive(Debug)]
enum StoreError {
    Mail(mailwire::Error),
    Disk { path: PathBuf, source: io::Error },
}

impl From<mailwire::Error> for StoreError {
    fn from(e: mailwire::Error) -> Self {
        StoreError::Mail(e)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Mail(e) => write!(f, "{e}"),
            StoreError::Disk { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

/// One file per message, named by its unique id; the directory is the source of truth of
/// what was downloaded.
struct DirStore {
    dir: PathBuf,
    saved: usize,
    crash_after: Option<usize>,
}

impl DirStore {
    fn open(dir: PathBuf, crash_after: Option<usize>) -> Result<DirStore, StoreError> {
        fs::create_dir_all(&dir).map_err(|source| StoreError::Disk {
            path: dir.clone(),
            source,
        })?;
        Ok(DirStore {
            dir,
            saved: 0,
            crash_after,
        })
    }

    /// The file name of a unique id: letters, digits, `-` and `_` as they are, every other
    /// byte as `%XX` (so `/`, `.` and `..` cannot leave the directory or hide a file).
    fn path(&self, uid: &str) -> PathBuf {
        let mut name = String::with_capacity(uid.len() + 4);
        for b in uid.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".eml");
        self.dir.join(name)
    }

    fn disk(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Disk {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl Pop3Store for DirStore {
    type Error = StoreError;

    fn contains(&mut self, uid: &str) -> Result<bool, StoreError> {
        let path = self.path(uid);
        path.try_exists().map_err(DirStore::disk(&path))
    }

    fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), StoreError> {
        let path = self.path(message.uid());
        // A dot name never collides with a final name (dots are encoded there); a
        // temporary file left by a crash is overwritten by the next attempt.
        let temp = self.dir.join(format!(
            ".{}.part",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        let mut file = File::create(&temp).map_err(DirStore::disk(&temp))?;
        let bytes = message.fetch_to_writer(&mut file)?; // streamed: any size
        file.sync_all().map_err(DirStore::disk(&temp))?;
        drop(file);
        fs::rename(&temp, &path).map_err(DirStore::disk(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(DirStore::disk(&self.dir))?;
        self.saved += 1;
        println!(
            "  saved {:>5} {:>9} B  {}",
            message.number(),
            bytes,
            path.display()
        );
        if self.crash_after == Some(self.saved) {
            println!(
                "MAILWIRE_DOWNLOAD_CRASH_AFTER={}: exiting without QUIT",
                self.saved
            );
            std::process::exit(3);
        }
        Ok(())
    }
}

fn run() -> Result<(), StoreError> {
    let config = common::config();
    let dir = match std::env::var("MAILWIRE_DOWNLOAD_DIR") {
        Ok(d) if !d.trim().is_empty() => PathBuf::from(d),
        _ => std::env::temp_dir().join("mailwire-pop3-download"),
    };
    let crash_after = match std::env::var("MAILWIRE_DOWNLOAD_CRASH_AFTER") {
        Ok(n) => Some(n.trim().parse().unwrap_or_else(|_| {
            common::fail(&format!(
                "MAILWIRE_DOWNLOAD_CRASH_AFTER={n:?} is not a number"
            ))
        })),
        Err(_) => None,
    };
    println!("downloading into {}", dir.display());
    let mut store = DirStore::open(dir, crash_after)?;
    let report = Download::new().run(&config, &mut store)?;
    println!(
        "done: {} downloaded ({} bytes), {} deleted, of which {} leftovers saved by an earlier run",
        report.downloaded, report.bytes, report.deleted, report.leftovers_deleted
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "pop3_download: {e} (the server keeps what this run did not commit: run again to resume)"
            );
            ExitCode::FAILURE
        }
    }
}
