//! The envelope of a message fetched without its bytes: a few headers, as a server reported them.

use std::borrow::Cow;

use super::Address;
use super::encoded_words::decode_value;

/// The headers a server reports for a message without sending it (IMAP's `ENVELOPE`):
/// the date, the subject, the address fields and the message ids.
///
/// The text fields are raw bytes as sent (RFC 2047 encoded words undecoded); the
/// [`Message`](super::Message) accessors decode them as they decode a header. `A` is what
/// an address is: in a message's metadata an [`Address`], read already (display name
/// decoded, group markers dropped, their members kept); a protocol's parser may keep the
/// addresses as it received them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope<A = Address> {
    /// `Date:` header.
    pub date: Option<Vec<u8>>,
    /// `Subject:` header.
    pub subject: Option<Vec<u8>>,
    /// `From:` addresses.
    pub from: Vec<A>,
    /// `Sender:` addresses.
    pub sender: Vec<A>,
    /// `Reply-To:` addresses.
    pub reply_to: Vec<A>,
    /// `To:` addresses.
    pub to: Vec<A>,
    /// `Cc:` addresses.
    pub cc: Vec<A>,
    /// `Bcc:` addresses.
    pub bcc: Vec<A>,
    /// `In-Reply-To:` header.
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:` header.
    pub message_id: Option<Vec<u8>>,
}

impl<A> Default for Envelope<A> {
    fn default() -> Self {
        Envelope {
            date: None,
            subject: None,
            from: Vec::new(),
            sender: Vec::new(),
            reply_to: Vec::new(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            in_reply_to: None,
            message_id: None,
        }
    }
}

impl<A> Envelope<A> {
    /// The text fields with their header names, in header order.
    pub(crate) fn text_fields(&self) -> [(&'static str, Option<&[u8]>); 4] {
        [
            ("Date", self.date.as_deref()),
            ("Subject", self.subject.as_deref()),
            ("Message-ID", self.message_id.as_deref()),
            ("In-Reply-To", self.in_reply_to.as_deref()),
        ]
    }

    /// The address fields with their header names, in header order.
    pub(crate) fn address_fields(&self) -> [(&'static str, &[A]); 6] {
        [
            ("From", &self.from),
            ("Sender", &self.sender),
            ("Reply-To", &self.reply_to),
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Bcc", &self.bcc),
        ]
    }

    /// The same envelope with each address list replaced by `f` of it.
    pub(crate) fn map_addresses<B>(self, mut f: impl FnMut(Vec<A>) -> Vec<B>) -> Envelope<B> {
        Envelope {
            date: self.date,
            subject: self.subject,
            from: f(self.from),
            sender: f(self.sender),
            reply_to: f(self.reply_to),
            to: f(self.to),
            cc: f(self.cc),
            bcc: f(self.bcc),
            in_reply_to: self.in_reply_to,
            message_id: self.message_id,
        }
    }
}

impl Envelope {
    /// The raw value of the text header `name` (case-insensitive), if the envelope has it
    /// and it is not empty.
    fn text(&self, name: &str) -> Option<&[u8]> {
        self.text_fields()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))?
            .1
            .filter(|value| !value.is_empty())
    }

    /// The addresses of the address header `name` (case-insensitive); empty for any other
    /// name.
    pub(super) fn addresses(&self, name: &str) -> &[Address] {
        self.address_fields()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, list)| list)
    }

    /// The decoded value of header `name` as a header of the message would read: a text
    /// field unfolded and RFC 2047 decoded, an address field its addresses written out
    /// (`Name <box@host>, …`). `None` when the envelope does not have it.
    pub(super) fn value(&self, name: &str) -> Option<String> {
        if let Some(raw) = self.text(name) {
            return Some(decode_value(&header_text(raw)));
        }
        let list = self.addresses(name);
        if list.is_empty() {
            return None;
        }
        let written: Vec<String> = list.iter().map(Address::to_string).collect();
        Some(written.join(", "))
    }
}

/// Raw header bytes on one line: CR and LF as spaces (as they are in a header value read
/// from an envelope).
fn one_line(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    }
}

/// Raw header bytes as a one-line header value, UTF-8 or else Latin-1 (as a header of the
/// message is read).
fn header_text(raw: &[u8]) -> String {
    let line = one_line(raw);
    match std::str::from_utf8(&line) {
        Ok(s) => s.to_string(),
        Err(_) => charset::decode_latin1(&line).into_owned(),
    }
}

/// One address as a server reported it in pieces: the display name, the local part and the
/// domain, raw header bytes.
pub(crate) struct AddressParts<'a> {
    /// The display name, if any.
    pub(crate) name: Option<&'a [u8]>,
    /// The local part.
    pub(crate) mailbox: &'a [u8],
    /// The domain.
    pub(crate) host: &'a [u8],
}

/// The [`Address`]es of one address field given in pieces, read as the field's header would
/// be: each display name unfolded, RFC 2047 decoded and trimmed, each address
/// `mailbox@host` trimmed; the field's bytes taken as UTF-8, or all as Latin-1 when any piece
/// is not UTF-8 (a header value is decoded whole).
pub(crate) fn addresses_from_parts(parts: &[AddressParts<'_>]) -> Vec<Address> {
    let names = || {
        parts
            .iter()
            .filter_map(|p| p.name.filter(|n| !n.is_empty()))
    };
    let utf8 = names()
        .chain(parts.iter().flat_map(|p| [p.mailbox, p.host]))
        .all(|piece| std::str::from_utf8(piece).is_ok());
    let text = |raw: &[u8]| -> String {
        if utf8 {
            header_text(raw)
        } else {
            charset::decode_latin1(&one_line(raw)).into_owned()
        }
    };
    parts
        .iter()
        .map(|p| {
            let name = p
                .name
                .filter(|n| !n.is_empty())
                .map(|n| trimmed(decode_value(&text(n))))
                .filter(|n| !n.is_empty());
            let email = trimmed(format!("{}@{}", text(p.mailbox), text(p.host)));
            Address { name, email }
        })
        .collect()
}

/// `s` without its leading and trailing whitespace (without a copy when it has none).
fn trimmed(s: String) -> String {
    if s.trim().len() == s.len() {
        s
    } else {
        s.trim().to_string()
    }
}
