//! Folder paths that work on every server: `folder_layout` / `folder_path` against the real
//! Dovecot in each of three namespace setups (no prefix with `/`, `INBOX.` with `.`,
//! `INBOX/` with `/`): nested folders created, listed, selected and deleted through the
//! path type, listed names taken back apart into their levels; scripted servers for what
//! Dovecot cannot show (no NAMESPACE, a flat `NIL` delimiter, hostile answers).

#[path = "support/configs.rs"]
mod configs;
mod support;

use std::time::{Duration, Instant};

use mailwire::imap::{
    FolderKind, FolderLayout, ImapConnection, ImapHandler, LayoutSource, SearchQuery,
};
use mailwire::{Config, Error};
use support::dovecot::{self, Dovecot, Namespace, User};
use support::script_server::{Script, ScriptServer};

fn dovecot_config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn scripted_config(port: u16) -> Config {
    configs::scripted(port).build().unwrap()
}

/// `levels` as the setup names them: its prefix, then the levels joined by its separator.
fn expected(ns: Namespace, levels: &[&str]) -> String {
    format!(
        "{}{}",
        ns.prefix(),
        levels.join(&ns.separator().to_string())
    )
}

/// What every setup must show, on one server.
fn nested_folders_through_paths(dc: &Dovecot) {
    let ns = dc.namespace();
    let user = dc.add_user();
    let conn = ImapConnection::connect(&dovecot_config(dc, &user)).unwrap();
    let layout = conn.folder_layout().unwrap();
    assert_eq!(layout.source(), LayoutSource::Namespace, "{ns:?}");
    assert_eq!(layout.prefix(), ns.prefix(), "{ns:?}");
    assert_eq!(layout.delimiter(), Some(ns.separator()), "{ns:?}");

    // Three levels, one of them not ASCII (sent as modified UTF-7 by the writer).
    let levels = [
        vec!["mw-paths"],
        vec!["mw-paths", "Entwürfe"],
        vec!["mw-paths", "Entwürfe", "2026"],
    ];
    let mut paths = Vec::new();
    for l in &levels {
        let path = conn.folder_path(l).unwrap();
        assert_eq!(path.as_str(), expected(ns, l), "{ns:?}");
        conn.create_folder(&path).unwrap();
        paths.push(path);
    }
    let deepest = paths.last().unwrap();
    conn.append(deepest, b"Subject: deep\r\n\r\nbody\r\n", &[], None)
        .unwrap();
    assert_eq!(conn.select(deepest).unwrap().exists, 1, "{ns:?}");
    assert_eq!(
        conn.search(deepest, &SearchQuery::all()).unwrap().len(),
        1,
        "{ns:?}"
    );

    // INBOX's own child, and INBOX itself.
    let child = conn.folder_path(["INBOX", "mw-child"]).unwrap();
    let child_name = match ns {
        Namespace::Default => "INBOX/mw-child".to_string(),
        _ => expected(ns, &["mw-child"]),
    };
    assert_eq!(child.as_str(), child_name, "{ns:?}");
    conn.create_folder(&child).unwrap();
    assert_eq!(conn.folder_path(["INBOX"]).unwrap().as_str(), "INBOX");

    // The listing, taken back apart: every listed name round-trips, and the created
    // folders show as their levels.
    let folders = conn.list_folders().unwrap();
    for f in &folders {
        let components = layout.components(&f.name);
        assert_eq!(
            layout.path(&components).unwrap().as_str(),
            f.name,
            "{ns:?}: {f:?} -> {components:?}"
        );
    }
    for (l, path) in levels.iter().zip(&paths) {
        let f = folders
            .iter()
            .find(|f| f.name == path.as_str())
            .unwrap_or_else(|| panic!("{ns:?}: {path} not listed in {folders:?}"));
        assert_eq!(layout.components(&f.name), *l, "{ns:?}");
        assert_eq!(f.delimiter, Some(ns.separator()), "{ns:?}");
    }
    // On the wire the non-ASCII level is modified UTF-7, inside the setup's layout.
    let raw = folders
        .iter()
        .find(|f| f.name == paths[1].as_str())
        .map(|f| String::from_utf8_lossy(&f.raw_name).into_owned())
        .unwrap();
    assert_eq!(raw, expected(ns, &["mw-paths", "Entw&APw-rfe"]), "{ns:?}");
    // The special folders are found by kind, at the top level of every setup.
    for kind in [FolderKind::Sent, FolderKind::Drafts, FolderKind::Trash] {
        let f = folders
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("{ns:?}: no {kind} folder in {folders:?}"));
        assert_eq!(layout.components(&f.name).len(), 1, "{ns:?}: {f:?}");
    }

    // Deleted through the paths, children first.
    conn.delete_folder(&child).unwrap();
    for path in paths.iter().rev() {
        conn.delete_folder(path).unwrap();
    }
    let left = conn.list_folders().unwrap();
    assert!(
        !left.iter().any(|f| f.name.contains("mw-")),
        "{ns:?}: {left:?}"
    );
    conn.logout();
}

#[test]
fn nested_folders_work_through_paths_on_every_namespace_setup() {
    for ns in Namespace::ALL {
        let Some(dc) = dovecot::start_with_namespace(ns) else {
            return;
        };
        nested_folders_through_paths(&dc);
    }
}

/// The reason paths exist: a name built with `/` and no prefix is refused by the
/// `INBOX.` setup, and a level holding the delimiter is refused before anything is sent.
#[test]
fn slash_names_fail_on_the_inbox_dot_setup_and_a_level_with_the_delimiter_is_refused() {
    let Some(dc) = dovecot::start_with_namespace(Namespace::InboxDot) else {
        return;
    };
    let user = dc.add_user();
    let conn = ImapConnection::connect(&dovecot_config(&dc, &user)).unwrap();
    let hardcoded = conn.create_folder("mw-flat/child");
    assert!(
        matches!(hardcoded, Err(Error::Server { .. })),
        "{hardcoded:?}"
    );
    match conn.folder_path(["mw", "v1.2"]) {
        Err(Error::InvalidInput { what, reason }) => {
            assert_eq!(what, "folder path");
            assert!(
                reason.contains("v1.2") && reason.contains("'.'"),
                "{reason}"
            );
        }
        other => panic!("not refused: {other:?}"),
    }
    // What the path type builds instead works.
    let path = conn.folder_path(["mw-flat", "child"]).unwrap();
    assert_eq!(path.as_str(), "INBOX.mw-flat.child");
    conn.create_folder(&path).unwrap();
    conn.select(&path).unwrap();
    conn.delete_folder(&path).unwrap();
    conn.logout();
}

#[test]
fn the_handler_builds_the_same_paths_as_the_connection() {
    let Some(dc) = dovecot::start_with_namespace(Namespace::InboxSlash) else {
        return;
    };
    let user = dc.add_user();
    let config = dovecot_config(&dc, &user);
    let handler = ImapHandler::new().unwrap();
    let layout = handler.folder_layout(&config).unwrap();
    assert_eq!((layout.prefix(), layout.delimiter()), ("INBOX/", Some('/')));
    let path = handler.folder_path(&config, ["Reports", "2026"]).unwrap();
    assert_eq!(path.as_str(), "INBOX/Reports/2026");
    handler.create_folder(&config, &path).unwrap();
    assert_eq!(handler.select(&config, &path).unwrap().exists, 0);
    handler.delete_folder(&config, &path).unwrap();
    handler.disconnect_all();
}

// ---- scripted servers -------------------------------------------------------------

/// Greeting with `caps` and a LOGIN.
fn logged_in(caps: &str) -> Script {
    Script::new()
        .send_line(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] logged in"))
}

/// Connects to a script that answers `NAMESPACE` with `answer` (a whole untagged line).
fn namespace_answer(answer: &str) -> (ScriptServer, ImapConnection) {
    let answer = answer.to_string();
    let server = ScriptServer::start(move |_| {
        logged_in("NAMESPACE")
            .expect_contains("NAMESPACE")
            .send(format!("{answer}\r\n"))
            .reply_tagged("OK namespace")
            .read_until_closed()
    });
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    (server, conn)
}

#[test]
fn without_namespace_the_delimiter_comes_from_list_and_the_layout_is_asked_once() {
    let server = ScriptServer::start(|_| {
        logged_in("UIDPLUS")
            .expect_contains("LIST \"\" \"\"")
            .send_line("* LIST (\\Noselect) \".\" \"\"")
            .reply_tagged("OK listed")
            .expect_contains("CREATE a.b")
            .reply_tagged("OK created")
            .read_until_closed()
    });
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let layout = conn.folder_layout().unwrap();
    assert_eq!(layout.source(), LayoutSource::List);
    assert_eq!((layout.prefix(), layout.delimiter()), ("", Some('.')));
    // Asked once: these send nothing (the script expects the CREATE next).
    let path = conn.folder_path(["a", "b"]).unwrap();
    assert_eq!(conn.folder_layout().unwrap(), layout);
    conn.create_folder(&path).unwrap();
    conn.logout();
    server.assert_ok();
    let sent = server.received(0);
    assert_eq!(
        sent.iter().filter(|l| l.contains("LIST")).count(),
        1,
        "{sent:?}"
    );
    assert!(!sent.iter().any(|l| l.contains("NAMESPACE")), "{sent:?}");
}

#[test]
fn a_namespace_without_a_personal_entry_falls_back_to_list() {
    let server = ScriptServer::start(|_| {
        logged_in("NAMESPACE")
            .expect_contains("NAMESPACE")
            .send_line("* NAMESPACE NIL NIL ((\"#shared/\" \"/\"))")
            .reply_tagged("OK namespace")
            .expect_contains("LIST \"\" \"\"")
            .send_line("* LIST (\\Noselect) \"/\" \"\"")
            .reply_tagged("OK listed")
            .read_until_closed()
    });
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let layout = conn.folder_layout().unwrap();
    assert_eq!(layout.source(), LayoutSource::List);
    assert_eq!(conn.folder_path(["x", "y"]).unwrap().as_str(), "x/y");
    conn.logout();
    server.assert_ok();
}

#[test]
fn a_nil_delimiter_is_a_flat_namespace() {
    let (server, conn) = namespace_answer("* NAMESPACE ((\"\" NIL)) NIL NIL");
    let layout = conn.folder_layout().unwrap();
    assert_eq!(layout.delimiter(), None);
    assert_eq!(conn.folder_path(["a/b.c"]).unwrap().as_str(), "a/b.c");
    match conn.folder_path(["a", "b"]) {
        Err(Error::InvalidInput { reason, .. }) => assert!(reason.contains("flat"), "{reason}"),
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(layout.components("a/b.c"), ["a/b.c"]);
    conn.logout();
    server.assert_ok();
}

#[test]
fn the_first_personal_namespace_counts_and_its_prefix_is_decoded() {
    // A modified UTF-7 prefix (`Ä/`), a backslash delimiter, a second personal entry
    // ignored; the CREATE goes out encoded again.
    let server = ScriptServer::start(|_| {
        logged_in("NAMESPACE")
            .expect_contains("NAMESPACE")
            .send_line("* NAMESPACE ((\"&AMQ-\\\\\" \"\\\\\")(\"\" \"/\")) NIL NIL")
            .reply_tagged("OK namespace")
            .expect_contains("CREATE \"&AMQ-\\\\x\\\\y\"")
            .reply_tagged("OK created")
            .read_until_closed()
    });
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let layout = conn.folder_layout().unwrap();
    assert_eq!((layout.prefix(), layout.delimiter()), ("Ä\\", Some('\\')));
    let path = conn.folder_path(["x", "y"]).unwrap();
    assert_eq!(path.as_str(), "Ä\\x\\y");
    conn.create_folder(&path).unwrap();
    assert_eq!(layout.components("Ä\\x\\y"), ["x", "y"]);
    conn.logout();
    server.assert_ok();
}

/// Hostile answers: typed errors, quickly, never a layout that builds nonsense.
#[test]
fn hostile_namespace_answers_are_refused_or_bounded() {
    let letter = namespace_answer("* NAMESPACE ((\"\" \"a\")) NIL NIL");
    match letter.1.folder_layout() {
        Err(Error::Protocol { message, .. }) => {
            assert!(
                message.contains("'a'") && message.contains("NAMESPACE"),
                "{message}"
            )
        }
        other => panic!("a letter as delimiter accepted: {other:?}"),
    }
    let huge_prefix = format!(
        "* NAMESPACE ((\"{}/\" \"/\")) NIL NIL",
        "p".repeat(FolderLayout::MAX_PREFIX + 10)
    );
    let huge = namespace_answer(&huge_prefix);
    match huge.1.folder_layout() {
        Err(Error::Protocol { message, .. }) => assert!(message.contains("prefix"), "{message}"),
        other => panic!("a huge prefix accepted: {other:?}"),
    }
    // A very long answer (20,000 personal namespaces): the first counts, promptly.
    let mut many = String::from("* NAMESPACE (");
    for i in 0..20_000 {
        many.push_str(&format!("(\"n{i}.\" \".\")"));
    }
    many.push_str(") NIL NIL");
    let started = Instant::now();
    let (server, conn) = namespace_answer(&many);
    let layout = conn.folder_layout().unwrap();
    assert_eq!((layout.prefix(), layout.delimiter()), ("n0.", Some('.')));
    support::assert_within(started, Duration::from_secs(20), "a 20,000-entry NAMESPACE");
    conn.logout();
    server.assert_ok();
}

#[test]
fn list_without_an_answer_line_is_a_protocol_error() {
    let server = ScriptServer::start(|_| {
        logged_in("UIDPLUS")
            .expect_contains("LIST \"\" \"\"")
            .reply_tagged("OK nothing")
            .read_until_closed()
    });
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    match conn.folder_layout() {
        Err(Error::Protocol { message, .. }) => assert!(message.contains("delimiter"), "{message}"),
        other => panic!("{other:?}"),
    }
}
