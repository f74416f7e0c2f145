//! The reference service (`examples/sync_service/`) against the test Dovecot: its core
//! (workers on one handler, SQLite store, listeners, coalescing, retries) runs here while
//! other clients append, flag and expunge, and the server drops its connections; at the
//! end the database equals the server (the example's own check). A restart after the
//! folder's UIDVALIDITY changed replaces the folder's rows.

mod support;

#[allow(dead_code)]
#[path = "../examples/sync_service/store.rs"]
mod store;

#[allow(dead_code)]
#[path = "../examples/sync_service/service.rs"]
mod service;

#[allow(dead_code)]
#[path = "../examples/sync_service/check.rs"]
mod check;

#[allow(dead_code)]
#[path = "../examples/sync_service/mutate.rs"]
mod mutate;

use std::path::Path;
use std::time::{Duration, Instant};

use mailwire::imap::{ImapConnection, ImapHandler};
use mailwire::pool::PoolOptions;
use mailwire::{Cancel, Config, Flag, Security};
use service::{Account, Service, Settings, Summary};
use store::Store;
use support::dovecot::{Dovecot, User};

fn account(dc: &Dovecot, u: &User) -> Account {
    Account::new(
        Config::builder("127.0.0.1")
            .port(dc.imaps_port())
            .security(Security::Tls)
            .add_root_certificate_pem(dc.cert_pem().to_vec())
            .login(&u.name, &u.password)
            .timeouts(Duration::from_secs(30))
            .build()
            .unwrap(),
    )
}

fn settings(folders: &[&str]) -> Settings {
    Settings {
        workers: 3,
        folders: folders.iter().map(|f| f.to_string()).collect(),
        verbose: true,
    }
}

/// Waits (at most 20 s) until the service has no job left and the database equals the
/// server; returns the last check.
fn wait_in_step(
    svc: &Service,
    accounts: &[Account],
    folders: &[String],
    db: &Path,
) -> check::CheckReport {
    let reader = Store::open(db).unwrap();
    let started = Instant::now();
    loop {
        let report = check::check(accounts, folders, &reader).unwrap();
        if (report.is_ok() && svc.is_idle()) || started.elapsed() > Duration::from_secs(20) {
            return report;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The final check on the closed database, as `sync_service --check` does it.
fn final_check(accounts: &[Account], folders: &[String], db: &Path) -> check::CheckReport {
    let store = Store::open(db).unwrap();
    let report = check::check(accounts, folders, &store).unwrap();
    store.close().unwrap();
    report
}

fn server_count(acct: &Account, folder: &str) -> u64 {
    let conn = ImapConnection::connect(&acct.config).unwrap();
    let n = conn
        .search(folder, &mailwire::imap::SearchQuery::all())
        .unwrap()
        .len() as u64;
    conn.logout();
    n
}

#[test]
fn the_service_keeps_the_database_in_step_through_mutations_and_dropped_connections() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let users = [dc.add_user(), dc.add_user()];
    for (i, u) in users.iter().enumerate() {
        let seeded: Vec<Vec<u8>> = (0..5)
            .map(|n| mutate::message(&format!("seed{i}"), n))
            .collect();
        dc.seed(&u.name, "INBOX", &seeded);
        dc.seed(&u.name, "Work", &seeded[..2]);
    }
    let accounts: Vec<Account> = users.iter().map(|u| account(dc, u)).collect();
    let folders = ["INBOX", "Work"];
    let dir = support::make_temp_dir("mw-svc-");
    support::remove_at_exit(&dir);
    let db = dir.join("service.db");

    let started = Instant::now();
    let shutdown = Cancel::new();
    let handler = ImapHandler::new().unwrap();
    let svc = Service::start(
        accounts.clone(),
        settings(&folders),
        Store::open(&db).unwrap(),
        &handler,
        &shutdown,
    )
    .unwrap();

    // Other clients change both folders of both accounts, in two phases; in between the
    // server drops every connection of the first account (its listeners reconnect, the
    // pool replaces its connections). The second phase also flags and expunges a seeded
    // message the service has certainly stored (UIDs 2 and 1).
    let folders_s: Vec<String> = folders.iter().map(|f| f.to_string()).collect();
    let phase = |name: &str, seeded_too: bool| {
        std::thread::scope(|scope| {
            for (i, acct) in accounts.iter().enumerate() {
                for folder in folders {
                    scope.spawn(move || {
                        let conn = ImapConnection::connect(&acct.config).unwrap();
                        let tag = format!("{name}{i}-{folder}");
                        let done =
                            mutate::mutate(&conn, folder, &tag, 6, Duration::from_millis(60))
                                .unwrap();
                        assert_eq!((done.appended, done.expunged), (6, 1));
                        if seeded_too {
                            conn.add_flags(folder, 2, &[Flag::Flagged]).unwrap();
                            conn.mark_deleted(folder, 1).unwrap();
                            conn.uid_expunge(folder, 1).unwrap();
                        }
                        conn.logout();
                    });
                }
            }
        })
    };
    phase("a", false);
    let report = wait_in_step(&svc, &accounts, &folders_s, &db);
    assert!(
        report.is_ok(),
        "the database did not catch up: {:#?}",
        report.differences
    );
    dc.kick(&users[0].name);
    phase("b", true);

    let folders: Vec<String> = folders.iter().map(|f| f.to_string()).collect();
    let report = wait_in_step(&svc, &accounts, &folders, &db);
    assert!(
        report.is_ok(),
        "the database did not catch up: {:#?}",
        report.differences
    );
    let summary: Summary = svc.shutdown();
    println!("{summary}");
    support::assert_within(started, Duration::from_secs(60), "service run");

    // Every change reached the database through the deltas, and nothing else did.
    let expected: u64 = accounts
        .iter()
        .flat_map(|a| folders.iter().map(move |f| server_count(a, f)))
        .sum();
    // 5 + 2 seeded, 12 appended and 3 expunged per folder, per account.
    assert_eq!(expected, 2 * (5 + 12 - 3) + 2 * (2 + 12 - 3));
    let report = final_check(&accounts, &folders, &db);
    assert!(report.is_ok(), "{:#?}", report.differences);
    assert_eq!(report.messages, expected);
    assert_eq!(summary.inserted - summary.deleted, expected, "{summary}");
    // At least the seeded messages' flag change and expunge, in each of the 4 folders.
    assert!(summary.updated >= 4, "flag changes missing: {summary}");
    assert!(summary.deleted >= 4, "expunges missing: {summary}");
    assert_eq!(summary.jobs_dropped, 0, "{summary}");
    // The headers came along: subjects and Message-IDs of the appended messages.
    let store = Store::open(&db).unwrap();
    let rows = store.rows(&accounts[1].name, "Work").unwrap();
    assert!(
        rows.values()
            .any(|r| r.subject.as_deref() == Some("b1-Work 5")
                && r.message_id.as_deref() == Some("b1-Work.5@mutator.example.org")),
        "{rows:#?}"
    );
}

#[test]
fn a_restart_after_a_uidvalidity_reset_replaces_the_folders_rows() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let seeded: Vec<Vec<u8>> = (0..3).map(|n| mutate::message("old", n)).collect();
    dc.seed(&u.name, "Reset", &seeded);
    let accounts = vec![acct.clone()];
    let folders = vec!["Reset".to_string()];
    let dir = support::make_temp_dir("mw-svc-");
    support::remove_at_exit(&dir);
    let db = dir.join("service.db");
    let handler = ImapHandler::new().unwrap();

    let run = |what: &str| -> Summary {
        let shutdown = Cancel::new();
        let svc = Service::start(
            accounts.clone(),
            settings(&["Reset"]),
            Store::open(&db).unwrap(),
            &handler,
            &shutdown,
        )
        .unwrap();
        let report = wait_in_step(&svc, &accounts, &folders, &db);
        assert!(report.is_ok(), "{what}: {:#?}", report.differences);
        let summary = svc.shutdown();
        println!("{what}: {summary}");
        summary
    };
    let first = run("first run");
    assert_eq!(first.inserted, 3);

    // While the service is off, the folder is deleted and recreated with two other
    // messages: new UIDVALIDITY, UIDs 1 and 2 again (naming other messages).
    let conn = ImapConnection::connect(&acct.config).unwrap();
    let before = conn.uid_validity("Reset").unwrap();
    conn.delete_folder("Reset").unwrap();
    conn.create_folder("Reset").unwrap();
    for n in 0..2 {
        conn.append("Reset", &mutate::message("new", n), &[], None)
            .unwrap();
    }
    assert_ne!(conn.uid_validity("Reset").unwrap(), before);
    conn.logout();

    let second = run("after the reset");
    assert_eq!((second.inserted, second.deleted), (2, 3), "{second}");
    let report = final_check(&accounts, &folders, &db);
    assert!(report.is_ok(), "{:#?}", report.differences);
    let store = Store::open(&db).unwrap();
    let subjects: Vec<Option<String>> = store
        .rows(&acct.name, "Reset")
        .unwrap()
        .into_values()
        .map(|r| r.subject)
        .collect();
    assert_eq!(
        subjects,
        [Some("new 0".to_string()), Some("new 1".to_string())]
    );
}

#[test]
fn a_job_that_finds_the_pool_busy_is_retried_after_its_hint_and_completes() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let seeded: Vec<Vec<u8>> = (0..4).map(|n| mutate::message("busy", n)).collect();
    dc.seed(&u.name, "INBOX", &seeded);
    let accounts = vec![acct.clone()];
    let folders = vec!["INBOX".to_string()];
    let dir = support::make_temp_dir("mw-svc-");
    support::remove_at_exit(&dir);
    let db = dir.join("service.db");
    // One connection per account, held by the test for a while: the first sync's wait
    // for it ends in PoolTimeout (Retry::Now), and the retries get it once it is free.
    let handler = ImapHandler::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_millis(250)),
    )
    .unwrap();
    let held = handler.pool().get(&acct.config).unwrap();
    let shutdown = Cancel::new();
    let svc = Service::start(
        accounts.clone(),
        settings(&["INBOX"]),
        Store::open(&db).unwrap(),
        &handler,
        &shutdown,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    drop(held);
    let report = wait_in_step(&svc, &accounts, &folders, &db);
    let summary = svc.shutdown();
    println!("{summary}");
    assert!(report.is_ok(), "{:#?}", report.differences);
    assert!(
        summary.errors.get("pool-timeout").copied().unwrap_or(0) >= 1,
        "{summary}"
    );
    assert!(summary.jobs_retried >= 1, "{summary}");
    assert_eq!(
        (summary.jobs_dropped, summary.inserted),
        (0, 4),
        "{summary}"
    );
}

#[test]
fn the_shutdown_cuts_a_job_waiting_for_a_pooled_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let dir = support::make_temp_dir("mw-svc-");
    support::remove_at_exit(&dir);
    let db = dir.join("service.db");
    // The pool's wait would last 30 s; the token cuts it.
    let handler = ImapHandler::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let held = handler.pool().get(&acct.config).unwrap();
    let shutdown = Cancel::new();
    let svc = Service::start(
        vec![acct],
        settings(&["INBOX"]),
        Store::open(&db).unwrap(),
        &handler,
        &shutdown,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    shutdown.cancel(); // as the Ctrl-C handler does
    let summary = svc.shutdown();
    support::assert_within(
        started,
        Duration::from_secs(10),
        "shutdown with a job waiting for the pool",
    );
    println!("{summary}");
    assert_eq!(summary.jobs_cut_by_shutdown, 1, "{summary}");
    assert_eq!(summary.jobs_ok, 0, "{summary}");
    drop(held);
}
