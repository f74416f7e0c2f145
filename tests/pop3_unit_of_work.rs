//! A pooled POP3 connection is a unit of work whose deletions are committed only when the
//! caller asks (`Pop3PoolGuard::commit`, or `Pop3Pool::session` with a closure that returned
//! `Ok`): a panic, an early `?` return or a plain drop of the guard commits nothing, against
//! the real Dovecot. Every path that could send `QUIT` is tried: guard drop, the pool's
//! eviction (`Pop3Manager::close`), the handler's own scope and its drop; a unit of work
//! whose closure returns the caller's own error type.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use mailwire::pool::{Manage, PoolOptions};
use mailwire::pop3::{Pop3Handler, Pop3Manager, Pop3Options, Pop3Pool};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};

fn config(dc: &Dovecot, user: &User) -> Config {
    Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .login(&user.name, &user.password)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A user with `n` messages.
fn seeded_user(dc: &Dovecot, n: usize) -> User {
    let user = dc.add_user();
    let messages: Vec<Vec<u8>> = (1..=n)
        .map(|i| format!("Subject: unit of work {i}\r\n\r\nbody {i}\r\n").into_bytes())
        .collect();
    dc.seed(&user, "INBOX", &messages);
    user
}

/// How many messages the maildrop holds, seen from a fresh, unpooled connection.
fn count_on_a_fresh_connection(cfg: &Config) -> u32 {
    Pop3Handler::session(cfg, |pop| pop.stat()).unwrap().count
}

fn pool() -> Pop3Pool {
    Pop3Pool::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_secs(10)),
        Pop3Options::default(),
    )
    .unwrap()
}

#[test]
fn a_panic_in_a_pooled_unit_of_work_commits_nothing() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let pool = pool();

    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_messages(&[1, 2, 3]).unwrap();
        assert_eq!(pop.pending_deletions(), [1, 2, 3]);
        panic!("the unit of work failed half-way");
    }));
    assert!(outcome.is_err(), "the closure panicked");
    assert_eq!(
        count_on_a_fresh_connection(&cfg),
        4,
        "a panic committed deletions"
    );
    // The pool is still usable for the account afterwards, and sees everything.
    assert_eq!(pool.get(&cfg).unwrap().stat().unwrap().count, 4);

    // The same through the scoped helper.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _: mailwire::Result<()> = pool.session(&cfg, |pop| {
            pop.delete_messages(&[1, 2])?;
            panic!("boom inside Pop3Pool::session");
        });
    }));
    assert!(outcome.is_err());
    assert_eq!(count_on_a_fresh_connection(&cfg), 4);
}

/// A unit of work written with `?`: the guard is dropped by the early return.
fn delete_then_fail(pool: &Pop3Pool, cfg: &Config) -> mailwire::Result<()> {
    let pop = pool.get(cfg)?;
    pop.delete_messages(&[1, 2, 3])?;
    pop.fetch_message(99)?; // -ERR: no such message
    Ok(())
}

#[test]
fn an_error_in_a_pooled_unit_of_work_commits_nothing() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let pool = pool();

    let result = delete_then_fail(&pool, &cfg);
    assert!(matches!(result, Err(Error::Server { .. })), "{result:?}");
    assert_eq!(
        count_on_a_fresh_connection(&cfg),
        4,
        "an early return committed deletions"
    );

    let result: mailwire::Result<()> = pool.session(&cfg, |pop| {
        pop.delete_messages(&[1, 2, 3])?;
        pop.fetch_message(99)?;
        Ok(())
    });
    assert!(matches!(result, Err(Error::Server { .. })), "{result:?}");
    assert_eq!(count_on_a_fresh_connection(&cfg), 4);
}

#[test]
fn dropping_a_guard_without_commit_commits_nothing() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 4);
    let cfg = config(dc, &user);
    let pool = pool();

    {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_messages(&[2, 4]).unwrap();
    } // dropped: no QUIT, the connection is discarded
    assert_eq!(
        count_on_a_fresh_connection(&cfg),
        4,
        "a plain drop committed deletions"
    );
    let stats = pool.stats_for(&cfg);
    assert_eq!(
        stats.idle, 0,
        "a connection with uncommitted deletions is never reused"
    );

    // A guard without deletions goes back to the pool, still logged in.
    let id = {
        let pop = pool.get(&cfg).unwrap();
        assert_eq!(pop.stat().unwrap().count, 4);
        pop.id().to_string()
    };
    assert_eq!(pool.get(&cfg).unwrap().id(), id);

    // Marked, then unmarked with RSET: nothing pending, reused as it is.
    {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_message(1).unwrap();
        pop.reset().unwrap();
    }
    assert_eq!(pool.get(&cfg).unwrap().id(), id);
    assert_eq!(count_on_a_fresh_connection(&cfg), 4);
}

#[test]
fn commit_and_a_successful_session_delete() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 6);
    let cfg = config(dc, &user);
    let pool = pool();

    let pop = pool.get(&cfg).unwrap();
    pop.delete_messages(&[1, 2]).unwrap();
    pop.commit().unwrap();
    assert_eq!(count_on_a_fresh_connection(&cfg), 4, "commit deletes");

    // Ok from the closure commits; the value is handed back.
    let deleted = pool
        .session(&cfg, |pop| {
            pop.delete_message(1)?;
            Ok::<_, Error>(pop.pending_deletions())
        })
        .unwrap();
    assert_eq!(deleted, [1]);
    assert_eq!(count_on_a_fresh_connection(&cfg), 3);

    // Committing nothing keeps the connection: it goes back to the pool logged in.
    let pop = pool.get(&cfg).unwrap();
    let id = pop.id().to_string();
    pop.commit().unwrap();
    assert_eq!(pool.get(&cfg).unwrap().id(), id);

    // A commit on a broken connection is an error and deletes nothing.
    let pop = pool.get(&cfg).unwrap();
    pop.delete_message(1).unwrap();
    pop.disconnect();
    assert!(matches!(pop.commit(), Err(Error::Closed { .. })));
    assert_eq!(count_on_a_fresh_connection(&cfg), 3);
}

#[test]
fn closing_a_connection_with_pending_deletions_never_quits() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 3);
    let cfg = config(dc, &user);

    // The pool's close (eviction, clear, pool drop) on a connection holding deletions.
    let pop = Pop3Handler::connect(&cfg).unwrap();
    pop.delete_messages(&[1, 2, 3]).unwrap();
    Pop3Manager::default().close(pop);
    assert_eq!(
        count_on_a_fresh_connection(&cfg),
        3,
        "close committed deletions"
    );

    // A connection without deletions is closed politely (QUIT) and nothing changes.
    let pop = Pop3Handler::connect(&cfg).unwrap();
    Pop3Manager::default().close(pop);
    assert_eq!(count_on_a_fresh_connection(&cfg), 3);

    // Evictions of checked-out connections (max_lifetime passed while in use, a cleared
    // account) go through the same close.
    let pool = Pop3Pool::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .max_lifetime(Duration::from_millis(1)),
        Pop3Options::default(),
    )
    .unwrap();
    {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_message(1).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_message(2).unwrap();
        pool.clear_all();
    }
    assert_eq!(count_on_a_fresh_connection(&cfg), 3);

    // The handler's own scope and drop: a panic in Pop3Handler::session, a dropped handler.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _: mailwire::Result<()> = Pop3Handler::session(&cfg, |pop| {
            pop.delete_messages(&[1, 2])?;
            panic!("boom inside Pop3Handler::session");
        });
    }));
    assert!(outcome.is_err());
    let pop = Pop3Handler::connect(&cfg).unwrap();
    pop.delete_message(3).unwrap();
    drop(pop);
    assert_eq!(count_on_a_fresh_connection(&cfg), 3);
}

/// A writer that panics on its first write.
struct PanickingWriter;

impl std::io::Write for PanickingWriter {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        panic!("the caller's writer panicked");
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panic_midway_through_an_answer_leaves_the_connection_unusable() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    while big.len() < 512 * 1024 {
        big.extend_from_slice(b"a line of the body that is long enough to matter\r\n");
    }
    dc.seed(&user, "INBOX", &[&big, &big]);
    let cfg = config(dc, &user);

    let pop = Pop3Handler::connect(&cfg).unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = pop.fetch_to_writer(1, &mut PanickingWriter);
    }));
    assert!(outcome.is_err());
    // The rest of the message was never read: the connection must not be used again.
    assert!(pop.is_broken() && pop.is_closed());
    match pop.stat() {
        Err(Error::Closed { context }) => assert!(context.contains("panicked"), "{context}"),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(matches!(pop.quit(), Err(Error::Closed { .. })));

    // In a pool: the guard is dropped while the thread panics; nothing is committed and
    // the connection is not reused.
    let pool = pool();
    let first_id = pool.get(&cfg).unwrap().id().to_string();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pop = pool.get(&cfg).unwrap();
        pop.delete_message(2).unwrap();
        let _ = pop.fetch_to_writer(1, &mut PanickingWriter);
    }));
    assert!(outcome.is_err());
    let pop = pool.get(&cfg).unwrap();
    assert_ne!(pop.id(), first_id, "an interrupted connection was reused");
    assert_eq!(pop.stat().unwrap().count, 2);
    drop(pop);
    assert_eq!(count_on_a_fresh_connection(&cfg), 2);
}

/// A caller's own error type for a unit of work: a failure to save is not a mail error.
#[derive(Debug)]
enum SaveError {
    Mail(Error),
    Disk(std::io::Error),
}

impl From<Error> for SaveError {
    fn from(e: Error) -> Self {
        SaveError::Mail(e)
    }
}

fn disk_full() -> SaveError {
    SaveError::Disk(std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        "no space left on device",
    ))
}

#[test]
fn a_unit_of_work_with_the_callers_error_commits_only_on_ok() {
    let Some(dc) = dovecot::shared() else { return };
    let user = seeded_user(dc, 5);
    let cfg = config(dc, &user);
    let pool = pool();

    // The caller's own failure comes back as it was, and nothing is deleted: on a fresh
    // connection and on a pooled one.
    let result: Result<(), SaveError> = Pop3Handler::session(&cfg, |pop| {
        pop.delete_messages(&[1, 2])?;
        Err(disk_full())
    });
    assert!(
        matches!(&result, Err(SaveError::Disk(e)) if e.kind() == std::io::ErrorKind::StorageFull),
        "{result:?}"
    );
    let result: Result<(), SaveError> = pool.session(&cfg, |pop| {
        pop.delete_messages(&[1, 2])?;
        Err(disk_full())
    });
    assert!(matches!(result, Err(SaveError::Disk(_))), "{result:?}");
    assert_eq!(count_on_a_fresh_connection(&cfg), 5);

    // mailwire's errors inside convert into it through `?`, and commit nothing either.
    let result: Result<(), SaveError> = pool.session(&cfg, |pop| {
        pop.delete_messages(&[1, 2])?;
        pop.fetch_message(99)?;
        Ok(())
    });
    assert!(
        matches!(result, Err(SaveError::Mail(Error::Server { .. }))),
        "{result:?}"
    );
    assert_eq!(count_on_a_fresh_connection(&cfg), 5);

    // And so does a failure to connect, before the closure runs.
    let wrong = Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .login(&user.name, "not the password")
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let ran = std::cell::Cell::new(false);
    let result: Result<(), SaveError> = Pop3Handler::session(&wrong, |_| {
        ran.set(true);
        Ok(())
    });
    assert!(
        matches!(result, Err(SaveError::Mail(Error::Auth { .. }))),
        "{result:?}"
    );
    assert!(!ran.get());

    // `Ok` of the caller's type commits: through the handler, then through the pool.
    let saved: Result<usize, SaveError> = Pop3Handler::session(&cfg, |pop| {
        pop.delete_message(1)?;
        Ok(1)
    });
    assert_eq!(saved.unwrap(), 1);
    assert_eq!(count_on_a_fresh_connection(&cfg), 4);
    let saved: Result<Vec<u32>, SaveError> = pool.session(&cfg, |pop| {
        pop.delete_messages(&[1, 2])?;
        Ok(pop.pending_deletions())
    });
    assert_eq!(saved.unwrap(), [1, 2]);
    assert_eq!(count_on_a_fresh_connection(&cfg), 2);
}
