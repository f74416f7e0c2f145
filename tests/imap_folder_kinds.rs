//! Folder kinds across a listing: a SPECIAL-USE attribute takes the kind from folders that
//! have it only by name (`Entwürfe` is not Drafts when `Drafts` carries `\Drafts`), on a
//! scripted server in both listing orders and on the harness Dovecot.

mod support;

use std::time::Duration;

use mailwire::imap::{Folder, FolderKind, ImapConnection, ImapHandler};
use mailwire::{Config, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn kind_of(folders: &[Folder], name: &str) -> FolderKind {
    folders
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.kind)
        .unwrap_or_else(|| panic!("{name} not listed: {folders:?}"))
}

fn find(folders: &[Folder], kind: FolderKind) -> Option<&str> {
    folders
        .iter()
        .find(|f| f.kind == kind)
        .map(|f| f.name.as_str())
}

#[test]
fn the_attributed_folder_alone_gets_the_kind_in_either_order() {
    let list = |lines: &[&str], script: Script| {
        let mut script = script.expect_contains("LIST");
        for line in lines {
            script = script.send_line(line);
        }
        script
            .reply_tagged("OK listed")
            .expect_contains("LSUB")
            .reply_tagged("OK lsub")
    };
    let script = Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1 SPECIAL-USE] scripted")
        .expect_contains("LOGIN user")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 SPECIAL-USE] logged in");
    let script = list(
        &[
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren) \"/\" Papierkorb",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Messages\"",
            "* LIST (\\HasNoChildren) \"/\" Gesendet",
        ],
        script,
    );
    let script = list(
        &[
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
        ],
        script,
    );
    // A server that sends no attribute at all: names decide, as before.
    let script = list(
        &[
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
            "* LIST (\\HasNoChildren) \"/\" Drafts",
        ],
        script,
    );
    let server = ScriptServer::start_seq(vec![
        script
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();

    let folders = conn.list_folders().unwrap();
    assert_eq!(kind_of(&folders, "INBOX"), FolderKind::Inbox);
    assert_eq!(kind_of(&folders, "Entwürfe"), FolderKind::Other);
    assert_eq!(kind_of(&folders, "Drafts"), FolderKind::Drafts);
    assert_eq!(find(&folders, FolderKind::Drafts), Some("Drafts"));
    assert_eq!(kind_of(&folders, "Gesendet"), FolderKind::Other);
    assert_eq!(find(&folders, FolderKind::Sent), Some("Sent Messages"));
    // No folder carries \Trash: the name still tells.
    assert_eq!(kind_of(&folders, "Papierkorb"), FolderKind::Trash);

    let folders = conn.list_folders().unwrap();
    assert_eq!(kind_of(&folders, "Entwürfe"), FolderKind::Other);
    assert_eq!(find(&folders, FolderKind::Drafts), Some("Drafts"));

    let folders = conn.list_folders().unwrap();
    assert_eq!(kind_of(&folders, "Entwürfe"), FolderKind::Drafts);
    assert_eq!(kind_of(&folders, "Drafts"), FolderKind::Drafts);
    conn.logout();
}

#[test]
fn dovecot_drafts_beats_a_created_entwuerfe() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let config = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    // Dovecot lists Drafts (\Drafts) from its config beside these plain folders.
    conn.create_folder("Entwürfe").unwrap();
    conn.create_folder("Papierkorb").unwrap();
    let folders = conn.list_folders().unwrap();
    let drafts = folders.iter().find(|f| f.name == "Drafts").unwrap();
    assert!(drafts.has_attribute("\\Drafts"), "{drafts:?}");
    assert_eq!(kind_of(&folders, "Entwürfe"), FolderKind::Other);
    assert_eq!(find(&folders, FolderKind::Drafts), Some("Drafts"));
    // Dovecot marks Trash too: the German name is not a second trash.
    assert_eq!(kind_of(&folders, "Papierkorb"), FolderKind::Other);
    assert_eq!(find(&folders, FolderKind::Trash), Some("Trash"));
    // The handler's listing is the same.
    let handler = ImapHandler::new().unwrap();
    let listed = handler.list_folders(&config).unwrap();
    assert_eq!(kind_of(&listed, "Entwürfe"), FolderKind::Other);
    assert_eq!(find(&listed, FolderKind::Drafts), Some("Drafts"));
    conn.logout();
}
