//! API guarantees: what crosses threads is `Send + Sync`, every public type is `Debug`, and
//! `Debug` never shows a secret.

use std::fmt::Debug;

use mailwire::imap::{
    Folder, IdleEvent, IdleGroup, IdleGroupBuilder, IdleListener, IdleListenerBuilder,
    ImapConnection, ImapHandler, ImapPool, Mailbox, SearchQuery, SequenceSet,
};
use mailwire::pool::{AccountKey, AccountStats, PoolOptions};
use mailwire::pop3::{MailboxStat, Pop3Handler, Pop3Manager, Pop3Options, Pop3Pool, Pop3PoolGuard};
use mailwire::{
    Config, ConfigBuilder, Credentials, Error, Message, Protocol, RetryPolicy, Security,
};

fn send_sync<T: Send + Sync>() {}
fn debug<T: Debug>() {}

#[test]
fn handles_and_values_cross_threads() {
    send_sync::<Config>();
    send_sync::<Error>();
    send_sync::<Message>();
    send_sync::<ImapConnection>();
    send_sync::<ImapHandler>();
    send_sync::<ImapPool>();
    send_sync::<IdleListener>();
    send_sync::<IdleGroup>();
    send_sync::<IdleEvent>();
    send_sync::<Pop3Handler>();
    send_sync::<MailboxStat>();
    send_sync::<Pop3Pool>();
    send_sync::<Pop3PoolGuard>();
    send_sync::<Pop3Manager>();
    send_sync::<Folder>();
    send_sync::<Mailbox>();
    send_sync::<SearchQuery>();
    send_sync::<AccountKey>();
    send_sync::<mailwire::Cancel>();
    send_sync::<mailwire::Progress>();
}

#[test]
fn public_types_are_debug() {
    debug::<Config>();
    debug::<ConfigBuilder>();
    debug::<Credentials>();
    debug::<Error>();
    debug::<Message>();
    debug::<ImapConnection>();
    debug::<ImapHandler>();
    debug::<ImapPool>();
    debug::<IdleListener>();
    debug::<IdleListenerBuilder>();
    debug::<IdleGroup>();
    debug::<IdleGroupBuilder>();
    debug::<Pop3Handler>();
    debug::<Pop3Pool>();
    debug::<Pop3Options>();
    debug::<PoolOptions>();
    debug::<AccountStats>();
    debug::<SequenceSet>();
    debug::<RetryPolicy>();
    debug::<mailwire::Cancel>();
    debug::<mailwire::Progress>();
}

#[test]
fn debug_output_never_shows_a_secret() {
    let secret = "s3cr3t-P@ss";
    let builder = Config::builder("imap.example.org").login("alice", secret);
    let config = builder.clone().build().unwrap();
    let oauth = Config::builder("imap.example.org")
        .oauth2("alice", secret)
        .build()
        .unwrap();
    let key = AccountKey::for_config(&config, Protocol::Imap);
    let listener = IdleListener::builder(config.clone());
    for text in [
        format!("{builder:?}"),
        format!("{config:?}"),
        format!("{oauth:?}"),
        format!("{:?}", config.credentials()),
        format!("{key:?}"),
        format!("{key}"),
        format!("{listener:?}"),
    ] {
        assert!(!text.contains(secret), "secret shown: {text}");
        assert!(
            text.contains("alice") || text.contains("imap.example.org"),
            "{text}"
        );
    }
}

#[test]
fn security_round_trips_through_text() {
    for s in [Security::Tls, Security::StartTls, Security::Plain] {
        assert_eq!(s.to_string().parse::<Security>().unwrap(), s);
    }
}
