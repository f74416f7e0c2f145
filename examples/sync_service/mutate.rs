//! The mutate mode: another client changing a folder while the service runs — appends
//! messages, flags and unflags some, expunges some, spread over a few seconds.

use std::time::Duration;

use mailwire::Flag;
use mailwire::imap::ImapConnection;

/// What the mutator did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mutations {
    pub appended: usize,
    pub flagged: usize,
    pub expunged: usize,
}

/// A small message with a unique subject and Message-ID.
pub fn message(tag: &str, n: usize) -> Vec<u8> {
    format!(
        "From: mutator@example.org\r\nTo: service@example.org\r\nSubject: {tag} {n}\r\n\
         Message-ID: <{tag}.{n}@mutator.example.org>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

/// Appends `count` messages to `folder` one by one, `pause` apart; after every third
/// append marks the newest two `\Seen` (one also `\Flagged`), after every fifth removes
/// `\Seen` from one, and after every fourth expunges the oldest message it appended.
pub fn mutate(
    conn: &ImapConnection,
    folder: &str,
    tag: &str,
    count: usize,
    pause: Duration,
) -> mailwire::Result<Mutations> {
    let mut done = Mutations::default();
    let mut mine: Vec<u32> = Vec::new();
    for n in 0..count {
        if let Some(appended) = conn.append(folder, &message(tag, n), &[], None)? {
            mine.push(appended.uid);
        }
        done.appended += 1;
        if n % 3 == 2 && mine.len() >= 2 {
            let newest = &mine[mine.len() - 2..];
            conn.add_flags(folder, newest, &[Flag::Seen])?;
            conn.add_flags(folder, &newest[..1], &[Flag::Flagged])?;
            done.flagged += 2;
        }
        if n % 5 == 4 && mine.len() >= 3 {
            let uid = mine[mine.len() - 3];
            conn.remove_flags(folder, uid, &[Flag::Seen])?;
            done.flagged += 1;
        }
        if n % 4 == 3 && !mine.is_empty() {
            let oldest = mine.remove(0);
            conn.mark_deleted(folder, oldest)?;
            conn.uid_expunge(folder, oldest)?;
            done.expunged += 1;
        }
        std::thread::sleep(pause);
    }
    Ok(done)
}
