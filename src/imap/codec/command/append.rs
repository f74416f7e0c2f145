//! `APPEND`'s arguments: the flags, the [`InternalDate`] and the message literal.

use std::fmt;

use super::mailbox::MailboxName;
use super::store::flag_list;
use crate::error::{Error, Result};
use crate::flag::Flag;
use crate::imap::codec::writer::Writer;
use crate::imap::search::ImapDate;

/// The internal date given to `APPEND`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InternalDate {
    date: ImapDate,
    hour: u8,
    minute: u8,
    second: u8,
    zone_minutes: i16,
}

impl InternalDate {
    /// A date and time with its UTC offset in minutes (east positive, e.g. 60 for +0100).
    /// Fails on an hour over 23, a minute or second over 59, or an offset beyond ±23:59.
    pub fn new(
        date: ImapDate,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> Result<InternalDate> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(Error::invalid(
                "internal date",
                format!("{hour:02}:{minute:02}:{second:02} is not a valid time"),
            ));
        }
        if zone_minutes.unsigned_abs() > 23 * 60 + 59 {
            return Err(Error::invalid(
                "internal date",
                format!("UTC offset of {zone_minutes} minutes is out of range"),
            ));
        }
        Ok(InternalDate {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    /// Parses the IMAP form `dd-Mon-yyyy hh:mm:ss +zzzz` (the day may be one digit or
    /// space-padded), refusing anything else.
    pub fn parse(s: &str) -> Result<InternalDate> {
        let bad = || {
            Error::invalid(
                "internal date",
                format!("{s:?} is not dd-Mon-yyyy hh:mm:ss +zzzz"),
            )
        };
        let s2 = s.strip_prefix(' ').unwrap_or(s);
        let mut fields = s2.split(' ');
        let (Some(date), Some(time), Some(zone), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let date = ImapDate::parse(date)?;
        let num = |t: &str| -> Result<u8> {
            if t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let mut hms = time.split(':');
        let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
        else {
            return Err(bad());
        };
        let (sign, digits) = match zone.as_bytes().first() {
            Some(b'+') => (1i16, zone.get(1..).unwrap_or("")),
            Some(b'-') => (-1i16, zone.get(1..).unwrap_or("")),
            _ => return Err(bad()),
        };
        if digits.len() != 4 {
            return Err(bad());
        }
        let zh = num(digits.get(..2).unwrap_or(""))?;
        let zm = num(digits.get(2..).unwrap_or(""))?;
        if zh > 23 || zm > 59 {
            return Err(bad());
        }
        let zone_minutes = sign * (i16::from(zh) * 60 + i16::from(zm));
        InternalDate::new(date, num(h)?, num(m)?, num(sec)?, zone_minutes)
    }

    /// The date part.
    pub fn date(&self) -> ImapDate {
        self.date
    }

    /// Hour, minute and second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// The UTC offset in minutes.
    pub fn zone_minutes(&self) -> i16 {
        self.zone_minutes
    }
}

impl fmt::Display for InternalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let z = self.zone_minutes.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.date.day(),
            self.date.month_name(),
            self.date.year(),
            self.hour,
            self.minute,
            self.second,
            z / 60,
            z % 60
        )
    }
}

/// One message of a multi-message `APPEND` (MULTIAPPEND, RFC 3502): the raw message with
/// the flags and, optionally, the internal date it is stored with.
///
/// ```
/// use mailwire::imap::AppendMessage;
/// use mailwire::imap::Flag;
///
/// let m = AppendMessage::new(b"Subject: hi\r\n\r\nHello\r\n".to_vec()).with_flags([Flag::Seen]);
/// assert_eq!(m.flags(), &[Flag::Seen]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AppendMessage {
    message: Vec<u8>,
    flags: Vec<Flag>,
    date: Option<InternalDate>,
}

impl AppendMessage {
    /// The raw message (RFC 5322, CRLF line ends), with no flags and the server's clock as
    /// its internal date.
    pub fn new(message: impl Into<Vec<u8>>) -> AppendMessage {
        AppendMessage {
            message: message.into(),
            flags: Vec::new(),
            date: None,
        }
    }

    /// Sets the flags the message is stored with.
    #[must_use]
    pub fn with_flags(mut self, flags: impl IntoIterator<Item = Flag>) -> AppendMessage {
        self.flags = flags.into_iter().collect();
        self
    }

    /// Sets the internal date.
    #[must_use]
    pub fn with_date(mut self, date: InternalDate) -> AppendMessage {
        self.date = Some(date);
        self
    }

    /// The raw message.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The flags.
    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    /// The internal date, if set.
    pub fn date(&self) -> Option<InternalDate> {
        self.date
    }

    /// Takes the message bytes out.
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }
}

impl fmt::Debug for AppendMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message itself may be private mail: its size only.
        f.debug_struct("AppendMessage")
            .field("bytes", &self.message.len())
            .field("flags", &self.flags)
            .field("date", &self.date)
            .finish()
    }
}

/// `mailbox [(flags)] ["date"] literal`.
pub(super) fn append(
    w: &mut Writer<'_>,
    mailbox: &MailboxName,
    flags: &[Flag],
    date: Option<&InternalDate>,
    message: &[u8],
    binary: bool,
) -> Result<()> {
    w.sp();
    w.mailbox(mailbox)?;
    append_message(w, flags, date, message, binary)
}

/// `mailbox 1*(SP [(flags)] ["date"] literal)` (MULTIAPPEND, RFC 3502): one literal per
/// message, each synchronizing unless the options allow otherwise. At least one message.
pub(super) fn multi_append(
    w: &mut Writer<'_>,
    mailbox: &MailboxName,
    messages: &[AppendMessage],
) -> Result<()> {
    if messages.is_empty() {
        return Err(Error::invalid(
            "MULTIAPPEND",
            "at least one message is needed",
        ));
    }
    w.sp();
    w.mailbox(mailbox)?;
    for m in messages {
        append_message(w, &m.flags, m.date.as_ref(), &m.message, false)?;
    }
    Ok(())
}

/// ` [(flags)] ["date"] literal`: one message of an APPEND, after the mailbox or the
/// previous message.
fn append_message(
    w: &mut Writer<'_>,
    flags: &[Flag],
    date: Option<&InternalDate>,
    message: &[u8],
    binary: bool,
) -> Result<()> {
    if !flags.is_empty() {
        w.sp();
        flag_list(w, flags)?;
    }
    if let Some(date) = date {
        w.token(" \"");
        w.token(&date.to_string());
        w.token("\"");
    }
    if message.is_empty() {
        return Err(Error::invalid(
            "message",
            "an empty message cannot be appended",
        ));
    }
    if !binary && message.contains(&0) {
        return Err(Error::invalid(
            "message",
            "contains NUL bytes, which need a binary APPEND (server capability BINARY)",
        ));
    }
    w.sp();
    message_data(w, message, binary);
    Ok(())
}

/// The message argument: a literal (`~{n}` when `binary`), or, after `ENABLE UTF8=ACCEPT`
/// for a message whose header holds 8-bit bytes, RFC 6855 §4's `UTF8 (~{n}…)`, which is
/// how a client must send UTF-8 headers to such a server (not under IMAP4rev2, which takes
/// them in a plain literal and has no `UTF8` append data).
fn message_data(w: &mut Writer<'_>, message: &[u8], binary: bool) {
    let opts = *w.options();
    if opts.utf8_accept && !opts.imap4rev2 && has_8bit_header(message) {
        w.token("UTF8 (");
        w.literal(message, true, false);
        w.token(")");
    } else {
        w.literal(message, binary, false);
    }
}

/// Whether the header section of `message` (up to the first empty line, or all of it when
/// there is none) holds a byte above 127.
fn has_8bit_header(message: &[u8]) -> bool {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| message.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(message.len());
    message
        .get(..end)
        .unwrap_or(message)
        .iter()
        .any(|&b| b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc_with;
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::{EncodeOptions, LITERAL_MINUS_MAX, LiteralMode};

    #[test]
    fn append_forms() {
        let date = InternalDate::parse("01-Feb-2024 10:00:00 +0100").unwrap();
        assert_eq!(date.to_string(), "01-Feb-2024 10:00:00 +0100");
        assert_eq!(
            InternalDate::parse(" 7-Jul-1999 23:59:59 -0830")
                .unwrap()
                .to_string(),
            "07-Jul-1999 23:59:59 -0830"
        );
        for bad in [
            "31-Feb-2024 10:00:00 +0100",
            "01-Feb-2024 24:00:00 +0100",
            "01-Feb-2024 10:00 +0100",
            "01-Feb-2024 10:00:00 0100",
            "01-Feb-2024 10:00:00 +01000",
            "01-Feb-2024 10:00:00 +0160",
            "01-Feb-2024  10:00:00 +0100",
            "",
        ] {
            assert!(InternalDate::parse(bad).is_err(), "{bad:?}");
        }
        let append = Command::Append {
            mailbox: "Drafts".into(),
            flags: vec![Flag::Draft, Flag::Seen],
            date: Some(date),
            message: b"Subject: x\r\n\r\nhi\r\n".to_vec(),
            binary: false,
        };
        let e = enc_with(&append, EncodeOptions::new());
        assert_eq!(
            e.parts()[0],
            b"A1 APPEND Drafts (\\Draft \\Seen) \"01-Feb-2024 10:00:00 +0100\" {18}\r\n"
        );
        assert_eq!(e.parts()[1], b"Subject: x\r\n\r\nhi\r\n\r\n");
        let with_nul = Command::append("INBOX", [], b"a\0b".to_vec());
        assert!(with_nul.encode("A1", &EncodeOptions::new()).is_err());
        let binary = Command::Append {
            mailbox: "INBOX".into(),
            flags: vec![],
            date: None,
            message: b"a\0b".to_vec(),
            binary: true,
        };
        assert_eq!(
            enc_with(
                &binary,
                EncodeOptions::new().with_literal(LiteralMode::Plus)
            )
            .to_bytes(),
            b"A1 APPEND INBOX ~{3+}\r\na\0b\r\n"
        );
        // RFC 6855 §4: 8-bit headers after UTF8=ACCEPT go as UTF8 (literal8); an 8-bit
        // body alone, no UTF8=ACCEPT, or IMAP4rev2 keep the plain literal.
        let utf8 = EncodeOptions::new().with_utf8_accept(true);
        let headers = "Subject: Grüße\r\n\r\nhi\r\n".as_bytes().to_vec();
        let n = headers.len();
        assert_eq!(
            enc_with(&Command::append("INBOX", [], headers.clone()), utf8).to_bytes(),
            [
                format!("A1 APPEND INBOX UTF8 (~{{{n}}}\r\n").as_bytes(),
                &headers,
                b")\r\n"
            ]
            .concat()
        );
        let parts = enc_with(&Command::append("INBOX", [], headers.clone()), utf8);
        assert_eq!(
            parts.parts()[0],
            format!("A1 APPEND INBOX UTF8 (~{{{n}}}\r\n").as_bytes()
        );
        for (opts, message) in [
            (EncodeOptions::new(), headers.clone()),
            (utf8.with_imap4rev2(true), headers.clone()),
            (utf8, "Subject: x\r\n\r\nGrüße\r\n".as_bytes().to_vec()),
        ] {
            let bytes = enc_with(&Command::append("INBOX", [], message.clone()), opts).to_bytes();
            let head = format!("A1 APPEND INBOX {{{}}}\r\n", message.len());
            assert!(
                bytes.starts_with(head.as_bytes()),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        assert!(has_8bit_header("Subject: é".as_bytes()));
        assert!(!has_8bit_header("Subject: e\n\né".as_bytes()));
        assert!(
            Command::append("INBOX", [], Vec::new())
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }

    #[test]
    fn multi_append_sends_8bit_headers_in_utf8_form_after_utf8_accept() {
        let command = Command::MultiAppend {
            mailbox: "Archive".into(),
            messages: vec![
                AppendMessage::new("Subject: Grüße\r\n\r\nx\r\n".as_bytes().to_vec()),
                AppendMessage::new(b"Subject: plain\r\n\r\nx\r\n".to_vec()),
            ],
        };
        let utf8 = EncodeOptions::new()
            .with_utf8_accept(true)
            .with_literal(LiteralMode::Plus);
        let wire = String::from_utf8(enc_with(&command, utf8).to_bytes()).unwrap();
        assert!(wire.starts_with("A1 APPEND Archive UTF8 (~{"), "{wire}");
        assert_eq!(wire.matches("UTF8 (").count(), 1, "{wire}");
        let plain = String::from_utf8(
            enc_with(
                &command,
                EncodeOptions::new().with_literal(LiteralMode::Plus),
            )
            .to_bytes(),
        )
        .unwrap();
        assert!(!plain.contains("UTF8"), "{plain}");
    }

    #[test]
    fn multi_append_sends_one_literal_per_message() {
        let date = InternalDate::parse("01-Feb-2024 10:00:00 +0100").unwrap();
        let command = Command::MultiAppend {
            mailbox: "Archive".into(),
            messages: vec![
                AppendMessage::new(b"m1".to_vec()).with_flags([Flag::Seen]),
                AppendMessage::new(b"m2".to_vec()),
                AppendMessage::new(b"m3".to_vec()).with_date(date),
            ],
        };
        assert_eq!(command.name(), "APPEND");
        // Synchronizing: a part ends at every literal announcement.
        let e = enc_with(&command, EncodeOptions::new());
        assert_eq!(
            e.parts(),
            [
                b"A1 APPEND Archive (\\Seen) {2}\r\n".to_vec(),
                b"m1 {2}\r\n".to_vec(),
                b"m2 \"01-Feb-2024 10:00:00 +0100\" {2}\r\n".to_vec(),
                b"m3\r\n".to_vec(),
            ]
        );
        assert_eq!(
            e.trace_text(),
            "A1 APPEND Archive (\\Seen) {2}m1 {2}m2 \"01-Feb-2024 10:00:00 +0100\" {2}m3"
        );
        // LITERAL+: one part.
        let plus = enc_with(
            &command,
            EncodeOptions::new().with_literal(LiteralMode::Plus),
        );
        assert_eq!(
            plus.to_bytes(),
            b"A1 APPEND Archive (\\Seen) {2+}\r\nm1 {2+}\r\nm2 \"01-Feb-2024 10:00:00 +0100\" {2+}\r\nm3\r\n"
        );
        assert_eq!(plus.parts().len(), 1);
        // LITERAL-: non-synchronizing up to 4096 bytes only.
        let big = vec![b'x'; LITERAL_MINUS_MAX + 1];
        let mixed = Command::MultiAppend {
            mailbox: "A".into(),
            messages: vec![
                AppendMessage::new(b"m1".to_vec()),
                AppendMessage::new(big.clone()),
                AppendMessage::new(vec![b'y'; LITERAL_MINUS_MAX]),
            ],
        };
        let minus = enc_with(
            &mixed,
            EncodeOptions::new().with_literal(LiteralMode::Minus),
        );
        assert_eq!(minus.parts().len(), 2);
        assert!(minus.parts()[0].ends_with(b" {4097}\r\n"), "{minus:?}");
        assert!(minus.parts()[0].starts_with(b"A1 APPEND A {2+}\r\nm1 "));
        assert!(minus.parts()[1].windows(9).any(|w| w == b" {4096+}\r"));
        // Refused before sending: no message, an empty one, a NUL.
        let no = |messages: Vec<AppendMessage>| {
            Command::MultiAppend {
                mailbox: "A".into(),
                messages,
            }
            .encode("A1", &EncodeOptions::new())
            .is_err()
        };
        assert!(no(vec![]));
        assert!(no(vec![
            AppendMessage::new(b"ok".to_vec()),
            AppendMessage::new(Vec::new())
        ]));
        assert!(no(vec![AppendMessage::new(b"a\0b".to_vec())]));
        // Debug shows no message text.
        let shown = format!("{:?}", AppendMessage::new(b"secret text".to_vec()));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
