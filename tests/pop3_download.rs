//! `pop3::Download` against the real Dovecot: a run that crashes after saving two of four
//! messages — the store's error, a panic, the process aborted — and its rerun: every
//! message saved exactly once, every message deleted, the maildrop empty. Leftovers (saved
//! by a run that never committed) are deleted without being downloaded again; a store that
//! fails half-way (in `contains`, in its writer, in `flush`, by not reading the message, by
//! a message over `max_literal_size`) leaves everything on the server. Large messages
//! stream to a store past `max_literal_size`; `max_messages`, the pooled run, and the
//! refusal of a UIDL listing with one id twice (scripted server).

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mailwire::pool::PoolOptions;
use mailwire::pop3::{
    Download, DownloadReport, Incoming, Pop3Handler, Pop3Options, Pop3Pool, Pop3Store,
};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn config_for(host: &str, port: u16, user: &str, password: &str, cert: Vec<u8>) -> Config {
    Config::builder(host)
        .pop3_port(port)
        .security(Security::Tls)
        .login(user, password)
        .add_root_certificate_pem(cert)
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn config(dc: &Dovecot, user: &User) -> Config {
    config_for(
        dc.host(),
        dc.pop3s_port(),
        &user.name,
        &user.password,
        dc.cert_pem().to_vec(),
    )
}

fn message(i: usize) -> Vec<u8> {
    format!("Subject: download {i}\r\nMessage-ID: <{i}@download.test>\r\n\r\nbody {i}\r\n")
        .into_bytes()
}

/// A user with `n` messages; returns them too.
fn seeded_user(dc: &Dovecot, n: usize) -> (User, Vec<Vec<u8>>) {
    let user = dc.add_user();
    let messages: Vec<Vec<u8>> = (1..=n).map(message).collect();
    dc.seed(&user, "INBOX", &messages);
    (user, messages)
}

/// How many messages the maildrop holds, seen from a fresh connection.
fn count_on_server(cfg: &Config) -> u32 {
    Pop3Handler::session(cfg, |pop| pop.stat()).unwrap().count
}

/// The unique ids on the server, in message-number order.
fn uids_on_server(cfg: &Config) -> Vec<String> {
    Pop3Handler::session(cfg, |pop| pop.uidl())
        .unwrap()
        .into_iter()
        .map(|e| e.uid)
        .collect()
}

/// The store's own error: a disk error need not pose as a mailwire one.
#[derive(Debug)]
enum StoreError {
    Disk(String),
    Mail(Error),
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        StoreError::Mail(e)
    }
}

/// What a test store does wrong, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// `save` of the n-th new message (1-based) returns a disk error before reading it.
    ErrorOnSave(usize),
    /// `save` of the n-th new message panics after reading it.
    PanicOnSave(usize),
    /// `contains` fails on the n-th call.
    ErrorOnContains(usize),
    /// The n-th save's writer fails half-way through the message.
    WriterFailsOnSave(usize),
    /// The n-th save returns `Ok` without reading the message.
    OkWithoutReading(usize),
    /// `flush` fails.
    ErrorOnFlush,
}

/// A store in memory that counts every save per unique id across runs.
#[derive(Default)]
struct Recording {
    held: HashMap<String, Vec<u8>>,
    saves: HashMap<String, usize>,
    /// Read with `Incoming::fetch` (into memory) instead of streaming.
    in_memory: bool,
    fault: Option<Fault>,
    saves_this_run: usize,
    contains_this_run: usize,
}

impl Recording {
    fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    fn rerun(&mut self) {
        self.fault = None;
        self.saves_this_run = 0;
        self.contains_this_run = 0;
    }

    fn fault(&self) -> Fault {
        self.fault.unwrap_or(Fault::None)
    }
}

/// A writer that fails after `left` bytes.
struct FailingAfter<'a> {
    out: &'a mut Vec<u8>,
    left: usize,
}

impl Write for FailingAfter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.out.extend_from_slice(&buf[..n]);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Pop3Store for Recording {
    type Error = StoreError;

    fn contains(&mut self, uid: &str) -> Result<bool, StoreError> {
        self.contains_this_run += 1;
        if self.fault() == Fault::ErrorOnContains(self.contains_this_run) {
            return Err(StoreError::Disk("index unreadable".into()));
        }
        Ok(self.held.contains_key(uid))
    }

    fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), StoreError> {
        self.saves_this_run += 1;
        let n = self.saves_this_run;
        match self.fault() {
            Fault::ErrorOnSave(k) if k == n => return Err(StoreError::Disk("disk full".into())),
            Fault::OkWithoutReading(k) if k == n => return Ok(()),
            Fault::WriterFailsOnSave(k) if k == n => {
                let mut partial = Vec::new();
                message.fetch_to_writer(&mut FailingAfter {
                    out: &mut partial,
                    left: 10,
                })?;
                return Ok(());
            }
            _ => {}
        }
        let bytes = if self.in_memory {
            message.fetch()?.raw().to_vec()
        } else {
            let mut bytes = Vec::new();
            message.fetch_to_writer(&mut bytes)?;
            bytes
        };
        if let Fault::PanicOnSave(k) = self.fault()
            && k == n
        {
            panic!(
                "the store crashed while saving message {}",
                message.number()
            );
        }
        self.held.insert(message.uid().to_string(), bytes);
        *self.saves.entry(message.uid().to_string()).or_default() += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.fault() == Fault::ErrorOnFlush {
            return Err(StoreError::Disk("fsync failed".into()));
        }
        Ok(())
    }
}

/// After the rerun: every message held once with its exact bytes, nothing on the server.
fn assert_all_saved_once_and_gone(
    store: &Recording,
    cfg: &Config,
    messages: &[Vec<u8>],
    uids: &[String],
) {
    assert_eq!(store.held.len(), messages.len(), "every message is held");
    for (uid, original) in uids.iter().zip(messages) {
        assert_eq!(
            store.saves.get(uid),
            Some(&1),
            "{uid} saved exactly once: {:?}",
            store.saves
        );
        assert_eq!(
            store.held.get(uid),
            Some(original),
            "{uid} holds the message's bytes"
        );
    }
    assert_eq!(count_on_server(cfg), 0, "the maildrop is empty");
}

fn report(downloaded: usize, leftovers: usize) -> (usize, usize, usize) {
    (downloaded, leftovers, downloaded + leftovers)
}

fn counts(r: &DownloadReport) -> (usize, usize, usize) {
    (r.downloaded, r.leftovers_deleted, r.deleted)
}

#[test]
fn a_store_error_after_two_saves_then_a_rerun_saves_each_once_and_deletes_all() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);

    let mut store = Recording::default().with_fault(Fault::ErrorOnSave(3));
    let err = Download::new().run(&cfg, &mut store).unwrap_err();
    assert!(
        matches!(err, StoreError::Disk(ref d) if d == "disk full"),
        "the store's own error: {err:?}"
    );
    assert_eq!(store.held.len(), 2, "two were saved before the crash");
    assert_eq!(
        count_on_server(&cfg),
        4,
        "nothing was deleted: no QUIT after a failure"
    );

    store.rerun();
    let done = Pop3Handler::download(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_eq!(done.remaining, 0);
    assert_eq!(
        done.bytes,
        messages[2..].iter().map(|m| m.len() as u64).sum::<u64>()
    );
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);

    // A third run finds nothing to do.
    store.rerun();
    assert_eq!(
        Pop3Handler::download(&cfg, &mut store).unwrap(),
        DownloadReport::default()
    );
}

#[test]
fn a_panicking_store_after_two_saves_then_a_rerun_saves_each_once_and_deletes_all() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);

    let mut store = Recording::default().with_fault(Fault::PanicOnSave(3));
    let outcome = catch_unwind(AssertUnwindSafe(|| Download::new().run(&cfg, &mut store)));
    assert!(outcome.is_err(), "the store panicked");
    assert_eq!(store.held.len(), 2);
    assert_eq!(count_on_server(&cfg), 4, "a panic committed deletions");

    store.rerun();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

/// A store of one file per unique id (hex-encoded name), written to a temp name, synced,
/// renamed: what `examples/pop3_download.rs` does, here shared by the aborting child and
/// the parent's rerun.
struct Dir {
    path: PathBuf,
    /// Abort the process in the middle of the n-th save (after part of it was written).
    abort_on_save: Option<usize>,
    saves: usize,
}

fn file_name(uid: &str) -> String {
    uid.bytes().map(|b| format!("{b:02x}")).collect()
}

impl Pop3Store for Dir {
    type Error = Error;

    fn contains(&mut self, uid: &str) -> Result<bool, Error> {
        Ok(self.path.join(file_name(uid)).exists())
    }

    fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), Error> {
        self.saves += 1;
        let io = |e: std::io::Error| Error::Io {
            operation: "saving a message".into(),
            source: e,
        };
        let temp = self.path.join(format!("{}.tmp", file_name(message.uid())));
        let mut file = fs::File::create(&temp).map_err(io)?;
        message.fetch_to_writer(&mut file)?;
        if self.abort_on_save == Some(self.saves) {
            std::process::abort();
        }
        file.sync_all().map_err(io)?;
        fs::rename(&temp, self.path.join(file_name(message.uid()))).map_err(io)?;
        fs::File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }
}

fn saved_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".tmp"))
        .collect();
    names.sort();
    names
}

/// Run by `an_aborted_process_...` in a child process of this test binary (the account in
/// `MAILWIRE_TEST_CHILD_*`): downloads into the directory and aborts the process in the
/// middle of the third save. Ignored, and does nothing when run without that setup.
#[test]
#[ignore = "the child process of an_aborted_process_after_two_saves_then_a_rerun_saves_each_once_and_deletes_all"]
fn child_download_that_aborts_in_the_third_save() {
    if std::env::var_os("MAILWIRE_TEST_CHILD_DIR").is_none() {
        // Run with --ignored / --include-ignored by hand: only the parent test sets it up.
        eprintln!("SKIP: run only as the child of the aborted-process test");
        return;
    }
    let var = |name: &str| std::env::var(format!("MAILWIRE_TEST_CHILD_{name}")).unwrap();
    let cfg = config_for(
        &var("HOST"),
        var("PORT").parse().unwrap(),
        &var("USER"),
        &var("PASSWORD"),
        fs::read(var("CERT")).unwrap(),
    );
    let mut store = Dir {
        path: PathBuf::from(var("DIR")),
        abort_on_save: Some(3),
        saves: 0,
    };
    let _ = Download::new().run(&cfg, &mut store);
    unreachable!("the store aborts the process in its third save");
}

#[test]
fn an_aborted_process_after_two_saves_then_a_rerun_saves_each_once_and_deletes_all() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);
    let dir = support::make_temp_dir("mw-dl-");
    support::remove_at_exit(&dir);

    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_download_that_aborts_in_the_third_save",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MAILWIRE_TEST_CHILD_HOST", dc.host())
        .env("MAILWIRE_TEST_CHILD_PORT", dc.pop3s_port().to_string())
        .env("MAILWIRE_TEST_CHILD_USER", &user.name)
        .env("MAILWIRE_TEST_CHILD_PASSWORD", &user.password)
        .env("MAILWIRE_TEST_CHILD_CERT", dc.cert_path())
        .env("MAILWIRE_TEST_CHILD_DIR", &dir)
        .output()
        .unwrap();
    let status = child.status;
    let output = String::from_utf8_lossy(&child.stderr);
    assert!(!status.success(), "the child aborted: {status:?} {output}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(6),
            "killed by SIGABRT: {status:?} {output}"
        );
    }
    assert_eq!(saved_files(&dir).len(), 2, "two saved before the abort");
    assert_eq!(
        count_on_server(&cfg),
        4,
        "an aborted process committed deletions"
    );

    let mut store = Dir {
        path: dir.clone(),
        abort_on_save: None,
        saves: 0,
    };
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_eq!(
        store.saves, 2,
        "only the two not saved were downloaded again"
    );
    let mut expected: Vec<String> = uids.iter().map(|u| file_name(u)).collect();
    expected.sort();
    assert_eq!(saved_files(&dir), expected, "one file per message");
    for (uid, original) in uids.iter().zip(&messages) {
        assert_eq!(&fs::read(dir.join(file_name(uid))).unwrap(), original);
    }
    assert_eq!(count_on_server(&cfg), 0, "the maildrop is empty");
}

#[test]
fn leftovers_are_deleted_without_downloading_again() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);

    // Messages 1 and 3 were saved by an earlier run that never committed.
    let mut store = Recording::default();
    for i in [0, 2] {
        store.held.insert(uids[i].clone(), messages[i].clone());
        store.saves.insert(uids[i].clone(), 1);
    }
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_eq!(
        store.saves_this_run, 2,
        "only messages 2 and 4 were handed to save"
    );
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

/// Runs a download with `store`'s fault, checks the server still holds all four messages,
/// then reruns without the fault: all saved once, all gone.
fn fails_then_recovers(mut store: Recording, check: impl FnOnce(&StoreError)) {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);

    let err = Download::new().run(&cfg, &mut store).unwrap_err();
    check(&err);
    assert_eq!(
        count_on_server(&cfg),
        4,
        "a failed run deleted something ({err:?})"
    );

    store.rerun();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(done.deleted, 4, "{done:?}");
    assert_eq!(done.downloaded, 4 - done.leftovers_deleted);
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

#[test]
fn a_store_failing_in_contains_leaves_everything_on_the_server() {
    fails_then_recovers(
        Recording::default().with_fault(Fault::ErrorOnContains(3)),
        |e| {
            assert!(
                matches!(e, StoreError::Disk(d) if d == "index unreadable"),
                "{e:?}"
            )
        },
    );
}

#[test]
fn a_store_whose_writer_fails_leaves_everything_on_the_server() {
    fails_then_recovers(
        Recording::default().with_fault(Fault::WriterFailsOnSave(2)),
        |e| assert!(matches!(e, StoreError::Mail(Error::Io { .. })), "{e:?}"),
    );
}

#[test]
fn a_store_that_returns_ok_without_reading_is_refused_and_nothing_is_deleted() {
    fails_then_recovers(
        Recording::default().with_fault(Fault::OkWithoutReading(3)),
        |e| {
            let StoreError::Mail(e @ Error::InvalidInput { .. }) = e else {
                panic!("{e:?}")
            };
            assert!(e.to_string().contains("without reading the message"), "{e}");
        },
    );
}

#[test]
fn a_failing_flush_commits_nothing_and_the_rerun_deletes_the_leftovers() {
    fails_then_recovers(Recording::default().with_fault(Fault::ErrorOnFlush), |e| {
        assert!(
            matches!(e, StoreError::Disk(d) if d == "fsync failed"),
            "{e:?}"
        )
    });
}

#[test]
fn a_failure_in_a_run_with_leftovers_deletes_none_of_them() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);
    let mut store = Recording::default().with_fault(Fault::ErrorOnSave(2));
    store.held.insert(uids[0].clone(), messages[0].clone());
    store.saves.insert(uids[0].clone(), 1);

    // Message 1 is a leftover (DELE sent), 2 is saved, 3 fails.
    assert!(Download::new().run(&cfg, &mut store).is_err());
    assert_eq!(
        count_on_server(&cfg),
        4,
        "the leftover's DELE was committed"
    );
    store.rerun();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

#[test]
fn large_messages_stream_to_the_store_past_max_literal_size() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    while big.len() < 3 * 1024 * 1024 {
        big.extend_from_slice(
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
        );
    }
    let messages = vec![message(1), big.clone(), message(3)];
    dc.seed(&user, "INBOX", &messages);
    let cfg = Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .login(&user.name, &user.password)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .max_literal_size(1024 * 1024)
        .build()
        .unwrap();
    let uids = uids_on_server(&cfg);

    // Into memory: over max_literal_size, refused; nothing deleted.
    let mut store = Recording {
        in_memory: true,
        ..Recording::default()
    };
    let err = Download::new().run(&cfg, &mut store).unwrap_err();
    assert!(
        matches!(err, StoreError::Mail(Error::LimitExceeded { .. })),
        "{err:?}"
    );
    assert_eq!(store.held.len(), 1);
    assert_eq!(count_on_server(&cfg), 3);

    // Streamed: any size.
    store.in_memory = false;
    store.rerun();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 1), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

#[test]
fn max_messages_bounds_a_run_and_leaves_the_rest_for_the_next() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);
    let mut store = Recording::default();

    let first = Download::new()
        .max_messages(3)
        .run(&cfg, &mut store)
        .unwrap();
    assert_eq!(counts(&first), report(3, 0), "{first:?}");
    assert_eq!(first.remaining, 1);
    assert_eq!(count_on_server(&cfg), 1);

    // 0: only leftovers are deleted; there are none, the new message stays.
    store.rerun();
    let none = Download::new()
        .max_messages(0)
        .run(&cfg, &mut store)
        .unwrap();
    assert_eq!((counts(&none), none.remaining), (report(0, 0), 1));
    assert_eq!(count_on_server(&cfg), 1);

    store.rerun();
    let last = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&last), report(1, 0));
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}

#[test]
fn a_pooled_download_commits_on_success_and_discards_on_failure() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);
    let pool = Pop3Pool::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_secs(10)),
        Pop3Options::default(),
    )
    .unwrap();

    let mut store = Recording::default().with_fault(Fault::ErrorOnSave(3));
    assert!(Download::new().run_pooled(&pool, &cfg, &mut store).is_err());
    assert_eq!(
        count_on_server(&cfg),
        4,
        "a failed pooled run deleted something"
    );
    // The pool's one slot for the account is free again.
    store.rerun();
    let done = Download::new().run_pooled(&pool, &cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
    // Nothing to delete: the connection goes back to the pool, still usable.
    store.rerun();
    let again = Download::new().run_pooled(&pool, &cfg, &mut store).unwrap();
    assert_eq!(again, DownloadReport::default());
    assert_eq!(pool.get(&cfg).unwrap().stat().unwrap().count, 0);
}

#[test]
fn a_message_can_be_read_once_per_save() {
    struct Twice(usize);
    impl Pop3Store for Twice {
        type Error = Error;
        fn contains(&mut self, _: &str) -> Result<bool, Error> {
            Ok(false)
        }
        fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), Error> {
            assert!(message.size()? > 0);
            message.fetch()?;
            self.0 += 1;
            message.fetch_to_writer(&mut std::io::sink()).map(drop)
        }
    }
    let Some(dc) = dovecot::shared() else { return };
    let (user, _) = seeded_user(dc, 2);
    let cfg = config(dc, &user);
    let err = Download::new().run(&cfg, &mut Twice(0)).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("already read"), "{err}");
    assert_eq!(count_on_server(&cfg), 2);
}

#[test]
fn a_uidl_listing_with_one_id_twice_is_refused_before_anything_is_done() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\nUIDL\r\n.\r\n")
            .expect_line("USER alice")
            .send_line("+OK")
            .expect_line("PASS secret")
            .send_line("+OK logged in")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\nUIDL\r\n.\r\n")
            .expect_line("UIDL")
            .send("+OK\r\n1 aaa\r\n2 bbb\r\n3 aaa\r\n.\r\n")
            .read_until_closed()
    });
    let cfg = Config::builder("127.0.0.1")
        .pop3_port(server.port())
        .security(Security::Plain)
        .login("alice", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut store = Recording::default();
    let err = Download::new().run(&cfg, &mut store).unwrap_err();
    let StoreError::Mail(e @ Error::Protocol { .. }) = &err else {
        panic!("{err:?}")
    };
    assert!(e.to_string().contains("messages 1 and 3"), "{e}");
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
    let sent = server.received_all();
    assert!(
        !sent
            .iter()
            .any(|l| l.starts_with("RETR") || l.starts_with("DELE") || l.starts_with("QUIT")),
        "{sent:?}"
    );
    assert_eq!(store.contains_this_run, 0);
}

#[test]
fn a_thousand_messages_download_in_one_run() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 1000);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);
    let mut store = Recording::default();
    let started = std::time::Instant::now();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(counts(&done), report(1000, 0), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
    println!(
        "bench pop3_download: 1000 messages ({} bytes) saved and deleted in one run in {:.0} ms (POP3S, loopback)",
        done.bytes,
        elapsed.as_secs_f64() * 1000.0
    );
}

/// A store that cancels the run's token once it has saved `after` messages.
struct CancellingAfter {
    inner: Recording,
    cancel: mailwire::Cancel,
    after: usize,
}

impl Pop3Store for CancellingAfter {
    type Error = StoreError;

    fn contains(&mut self, uid: &str) -> Result<bool, StoreError> {
        self.inner.contains(uid)
    }

    fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), StoreError> {
        self.inner.save(message)?;
        if self.inner.saves_this_run == self.after {
            self.cancel.cancel();
        }
        Ok(())
    }
}

#[test]
fn a_cancelled_download_deletes_nothing_and_the_rerun_finishes_it() {
    let Some(dc) = dovecot::shared() else { return };
    let (user, messages) = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let uids = uids_on_server(&cfg);

    // Cancelled before it starts: nothing is done, not even a connect.
    let cancel = mailwire::Cancel::new();
    cancel.cancel();
    let mut store = Recording::default();
    let err = Download::new()
        .cancel(&cancel)
        .run(&cfg, &mut store)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Mail(Error::Cancelled { .. })),
        "{err:?}"
    );
    assert_eq!(store.contains_this_run, 0);

    // Cancelled from inside the run after two saves: stopped before the third message,
    // without QUIT, so all four are still on the server.
    let cancel = mailwire::Cancel::new();
    let mut store = CancellingAfter {
        inner: Recording::default(),
        cancel: cancel.clone(),
        after: 2,
    };
    let err = Download::new()
        .cancel(&cancel)
        .run(&cfg, &mut store)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Mail(Error::Cancelled { .. })),
        "{err:?}"
    );
    assert_eq!(store.inner.saves_this_run, 2);
    assert_eq!(
        count_on_server(&cfg),
        4,
        "a cancelled run committed deletions"
    );

    // The rerun (no token): the two saved are leftovers, the other two are downloaded.
    let mut store = store.inner;
    store.rerun();
    let done = Download::new().run(&cfg, &mut store).unwrap();
    assert_eq!(counts(&done), report(2, 2), "{done:?}");
    assert_all_saved_once_and_gone(&store, &cfg, &messages, &uids);
}
