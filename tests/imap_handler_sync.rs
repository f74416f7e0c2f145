//! `ImapHandler::sync` and `fetch_headers` against the harness Dovecot: the connection's
//! sync on a pooled connection (the same delta, the same errors), a state that outlives
//! the connection it was taken on, and docs/sync.md's "pool and sync" recipe (worker
//! threads on one handler, a state per account and folder) over several rounds of another
//! client's changes.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mailwire::imap::{
    Flag, ImapConnection, ImapHandler, SearchQuery, SyncState, SyncStrategy, Uids,
};
use mailwire::pool::PoolOptions;
use mailwire::{Config, Error, Security};
use support::dovecot::{Dovecot, User};

fn account(dc: &Dovecot, u: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn mail(tag: &str, n: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {tag} {n}\r\nMessage-ID: <{tag}.{n}@example.org>\r\n\r\nbody of {tag} {n}\r\n"
    )
    .into_bytes()
}

fn server_uids(conn: &ImapConnection, folder: &str) -> BTreeSet<u32> {
    conn.search(folder, &SearchQuery::all())
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn handler_sync_gives_the_connections_delta_across_a_replaced_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let seeded: Vec<Vec<u8>> = (0..3).map(|n| mail("first", n)).collect();
    dc.seed(&u.name, "INBOX", &seeded);
    let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(2)).unwrap();

    let first = handler
        .sync(&acct, "INBOX", &SyncState::new("INBOX"))
        .unwrap();
    assert_eq!(first.new, vec![1, 2, 3]);
    assert!(!first.uid_validity_reset);
    // fetch_headers through the handler: the header blocks of exactly these, no bodies.
    let headers = handler.fetch_headers(&acct, "INBOX", &first.new).unwrap();
    let subjects: Vec<String> = headers.iter().filter_map(|m| m.subject()).collect();
    assert_eq!(subjects, ["first 0", "first 1", "first 2"]);
    for m in &headers {
        let raw = String::from_utf8_lossy(m.raw());
        assert!(
            !raw.contains("body of"),
            "a header fetch brought a body: {raw:?}"
        );
    }

    // The server drops the pooled connection; another client changes the folder.
    dc.kick(&u.name);
    let other = ImapConnection::connect(&acct).unwrap();
    let appended = other
        .append("INBOX", &mail("second", 0), &[], None)
        .unwrap()
        .map(|a| a.uid);
    assert_eq!(appended, Some(4));
    other.add_star("INBOX", &[1]).unwrap();
    other.mark_deleted("INBOX", &[2]).unwrap();
    other.uid_expunge("INBOX", &[2]).unwrap();

    // The stored state is the account's and the folder's, not the connection's.
    let second = handler.sync(&acct, "INBOX", &first.state).unwrap();
    assert_eq!(second.new, vec![4]);
    assert_eq!(second.vanished.iter().collect::<Vec<u32>>(), vec![2]);
    let flags: HashMap<u32, Vec<Flag>> = second.flags_changed.iter().cloned().collect();
    assert_eq!(flags.get(&1), Some(&vec![Flag::Flagged]));
    assert_eq!(flags.get(&4), Some(&vec![]));
    assert_eq!(flags.len(), 2, "{:?}", second.flags_changed);
    // The connection's own sync from the same state says exactly the same.
    let direct = other.sync("INBOX", &first.state).unwrap();
    assert_eq!(second, direct);
    // And a forced strategy through the handler agrees too.
    let plain = handler
        .sync_with(&acct, "INBOX", &first.state, SyncStrategy::Plain)
        .unwrap();
    assert_eq!(
        (&plain.new, &plain.vanished, &plain.flags_changed),
        (&second.new, &second.vanished, &second.flags_changed)
    );
    let nothing = handler.sync(&acct, "INBOX", &second.state).unwrap();
    assert!(nothing.is_empty(), "{nothing:?}");
    other.logout();
}

#[test]
fn fetch_headers_after_a_sync_sees_the_new_messages_on_any_pooled_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    dc.seed(&u.name, "INBOX", &[mail("old", 0)]);
    let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(2)).unwrap();
    let state = handler
        .sync(&acct, "INBOX", &SyncState::new("INBOX"))
        .unwrap()
        .state;
    // Two pooled connections, both with INBOX selected.
    let (first, second) = (
        handler.pool().get(&acct).unwrap(),
        handler.pool().get(&acct).unwrap(),
    );
    first.select("INBOX").unwrap();
    second.select("INBOX").unwrap();
    drop((first, second));

    let other = ImapConnection::connect(&acct).unwrap();
    for n in 1..=3 {
        other.append("INBOX", &mail("new", n), &[], None).unwrap();
    }
    other.logout();
    // The sync selects afresh; the headers come through the other connection (the one
    // the sync used is held meanwhile), whose view of INBOX predates the appends, or
    // through the same one. Either way all three are there.
    for round in 0..2 {
        let delta = handler.sync(&acct, "INBOX", &state).unwrap();
        assert_eq!(delta.new, vec![2, 3, 4], "round {round}");
        let _held = (round == 0).then(|| handler.pool().get(&acct).unwrap());
        let headers = handler.fetch_headers(&acct, "INBOX", &delta.new).unwrap();
        let subjects: Vec<String> = headers.iter().filter_map(|m| m.subject()).collect();
        assert_eq!(subjects, ["new 1", "new 2", "new 3"], "round {round}");
    }
}

#[test]
fn handler_sync_and_fetch_headers_fail_as_the_connection_does() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    dc.seed(&u.name, "INBOX", &[mail("only", 0)]);
    let handler = ImapHandler::new().unwrap();
    let conn = ImapConnection::connect(&acct).unwrap();
    let same = |a: &Error, b: &Error| {
        assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a:?} vs {b:?}"
        );
        // Dovecot appends its timings (" (0.001 + 0.000 secs).") to a refusal.
        let text = |e: &Error| e.to_string().split(" (0.").next().unwrap_or("").to_string();
        assert_eq!(text(a), text(b));
    };

    // A state for another folder: refused before anything is sent.
    let wrong = SyncState::new("Sent");
    let h = handler.sync(&acct, "INBOX", &wrong).unwrap_err();
    assert!(matches!(h, Error::InvalidInput { .. }), "{h:?}");
    same(&h, &conn.sync("INBOX", &wrong).unwrap_err());

    // A folder that does not exist: `MissingFolder`, as the connection gives it.
    let missing = SyncState::new("No such folder");
    let h = handler.sync(&acct, "No such folder", &missing).unwrap_err();
    assert!(h.is_missing_folder(), "{h:?}");
    same(&h, &conn.sync("No such folder", &missing).unwrap_err());
    let h = handler
        .fetch_headers(&acct, "No such folder", &[1])
        .unwrap_err();
    same(&h, &conn.fetch_headers("No such folder", &[1]).unwrap_err());

    // UIDs read under another UIDVALIDITY: refused, nothing fetched.
    let validity = handler.get_uid_validity(&acct, "INBOX").unwrap();
    let stale = Uids::with_validity(validity.wrapping_add(1), &[1]);
    let h = handler.fetch_headers(&acct, "INBOX", &stale).unwrap_err();
    assert!(matches!(h, Error::UidValidityChanged { .. }), "{h:?}");
    same(&h, &conn.fetch_headers("INBOX", &stale).unwrap_err());
    // The handler's connections are still good for the next call.
    assert_eq!(
        handler.fetch_headers(&acct, "INBOX", &[1]).unwrap().len(),
        1
    );
    conn.logout();
}

/// A cache of one folder, kept as docs/sync.md says: vanished out, new in, flags set.
#[derive(Default)]
struct Cached {
    state: Option<String>,
    flags: HashMap<u32, Vec<Flag>>,
}

type Store = Arc<Mutex<HashMap<(String, String), Cached>>>;

fn sync_job(handler: &ImapHandler, store: &Store, acct: &Config, user: &str, folder: &str) {
    let key = (user.to_string(), folder.to_string());
    let stored = store
        .lock()
        .unwrap()
        .get(&key)
        .and_then(|c| c.state.clone());
    let state = match stored {
        Some(text) => text.parse::<SyncState>().unwrap(),
        None => SyncState::new(folder),
    };
    let delta = handler.sync(acct, folder, &state).unwrap();
    let headers = handler.fetch_headers(acct, folder, &delta.new).unwrap();
    assert_eq!(headers.len(), delta.new.len(), "{user}/{folder}");
    let mut store = store.lock().unwrap();
    let cached = store.entry(key).or_default();
    assert!(!delta.uid_validity_reset);
    for uid in &delta.vanished {
        assert!(cached.flags.remove(&uid).is_some(), "{uid} vanished twice");
    }
    for uid in &delta.new {
        assert!(
            cached.flags.insert(*uid, Vec::new()).is_none(),
            "{uid} new twice"
        );
    }
    for (uid, flags) in &delta.flags_changed {
        cached.flags.insert(*uid, flags.clone());
    }
    cached.state = Some(delta.state.to_string());
}

#[test]
fn worker_threads_on_one_handler_keep_a_state_per_account_and_folder() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    const FOLDERS: [&str; 2] = ["INBOX", "Work"];
    let users = [dc.add_user(), dc.add_user()];
    let accounts: Vec<Config> = users.iter().map(|u| account(dc, u)).collect();
    let clients: Vec<ImapConnection> = accounts
        .iter()
        .map(|a| ImapConnection::connect(a).unwrap())
        .collect();
    for (i, c) in clients.iter().enumerate() {
        c.create_folder("Work").unwrap();
        for folder in FOLDERS {
            for n in 0..4 {
                c.append(folder, &mail(&format!("{i}-{folder}"), n), &[], None)
                    .unwrap();
            }
        }
    }
    let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(2)).unwrap();
    let store: Store = Arc::default();
    let (jobs, queue) = crossbeam_channel::unbounded::<(usize, &'static str)>();
    let (done, finished) = crossbeam_channel::unbounded::<()>();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (handler, store, queue, done) =
                (handler.clone(), store.clone(), queue.clone(), done.clone());
            let (accounts, names): (Vec<Config>, Vec<String>) = (
                accounts.clone(),
                users.iter().map(|u| u.name.clone()).collect(),
            );
            thread::spawn(move || {
                for (a, folder) in queue {
                    sync_job(&handler, &store, &accounts[a], &names[a], folder);
                    done.send(()).unwrap();
                }
            })
        })
        .collect();

    let started = Instant::now();
    for round in 0..4 {
        if round > 0 {
            // Another client: two appends, a flag, an expunge in every folder.
            for (i, c) in clients.iter().enumerate() {
                for folder in FOLDERS {
                    for n in 0..2 {
                        c.append(
                            folder,
                            &mail(&format!("{i}-{folder}-r{round}"), n),
                            &[],
                            None,
                        )
                        .unwrap();
                    }
                    let uids: Vec<u32> = server_uids(c, folder).into_iter().collect();
                    c.add_flags(folder, &[uids[uids.len() - 1]], &[Flag::Flagged])
                        .unwrap();
                    c.mark_deleted(folder, &[uids[0]]).unwrap();
                    c.uid_expunge(folder, &[uids[0]]).unwrap();
                }
            }
        }
        for a in 0..accounts.len() {
            for folder in FOLDERS {
                jobs.send((a, folder)).unwrap();
            }
        }
        for _ in 0..accounts.len() * FOLDERS.len() {
            finished
                .recv_timeout(Duration::from_secs(60))
                .expect("a sync job did not finish (a worker failed or hung)");
        }
        // Every stored state and cache names exactly what the server holds, flags too.
        let store = store.lock().unwrap();
        for (i, c) in clients.iter().enumerate() {
            for folder in FOLDERS {
                let cached = &store[&(users[i].name.clone(), folder.to_string())];
                let on_server = server_uids(c, folder);
                let state: SyncState = cached.state.as_deref().unwrap().parse().unwrap();
                let known: BTreeSet<u32> = state.known_uids().iter().collect();
                assert_eq!(known, on_server, "round {round}: {i}/{folder}");
                let in_cache: BTreeSet<u32> = cached.flags.keys().copied().collect();
                assert_eq!(in_cache, on_server, "round {round}: {i}/{folder}");
                let flagged: BTreeSet<u32> = c
                    .search(folder, &SearchQuery::flagged())
                    .unwrap()
                    .iter()
                    .collect();
                let cached_flagged: BTreeSet<u32> = cached
                    .flags
                    .iter()
                    .filter(|(_, f)| f.contains(&Flag::Flagged))
                    .map(|(u, _)| *u)
                    .collect();
                assert_eq!(cached_flagged, flagged, "round {round}: {i}/{folder}");
            }
        }
        for a in &accounts {
            let s = handler.stats(a);
            assert!(s.in_use + s.idle <= 2, "{s:?}");
        }
    }
    drop(jobs);
    for w in workers {
        w.join().unwrap();
    }
    support::assert_within(started, Duration::from_secs(120), "four sync rounds");
    for c in clients {
        c.logout();
    }
}
