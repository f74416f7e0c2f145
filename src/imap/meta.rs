//! IMAP's `ENVELOPE` as the protocol-neutral [`Envelope`] of a [`Message`](crate::Message)'s
//! metadata (and of a message embedded in a body structure).

use crate::imap::types::{self, EnvelopeAddress};
use crate::message::{Address, AddressParts, Envelope, addresses_from_parts};

/// An IMAP envelope as a neutral one: the text fields moved as they are, each address list
/// read as its header would be (group markers dropped, their members kept).
pub(crate) fn envelope(e: types::Envelope) -> Envelope {
    e.map_addresses(|list| addresses(&list))
}

/// The mailboxes of an envelope address list: the entries with a local part and a domain
/// (a group's start and end markers lack one of them).
fn addresses(list: &[EnvelopeAddress]) -> Vec<Address> {
    let parts: Vec<AddressParts<'_>> = list
        .iter()
        .filter_map(|a| match (&a.mailbox, &a.host) {
            (Some(mailbox), Some(host)) => Some(AddressParts {
                name: a.name.as_deref(),
                mailbox,
                host,
            }),
            _ => None,
        })
        .collect();
    addresses_from_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, MessageMeta};
    use proptest::prelude::*;

    /// How metadata-only messages were read before the neutral envelope: a header block
    /// written from the IMAP envelope and parsed as a message. The reference the
    /// conversion is held to.
    fn header_block(envelope: &types::Envelope) -> Vec<u8> {
        let mut out = Vec::new();
        let mut field = |name: &str, value: &[u8]| {
            if value.is_empty() {
                return;
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend(
                value
                    .iter()
                    .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        };
        for (name, value) in envelope.text_fields() {
            if let Some(value) = value {
                field(name, value);
            }
        }
        for (name, list) in envelope.address_fields() {
            field(name, &address_list(list));
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn address_list(list: &[EnvelopeAddress]) -> Vec<u8> {
        let mut out = Vec::new();
        for address in list {
            let (Some(mailbox), Some(host)) = (&address.mailbox, &address.host) else {
                continue;
            };
            if !out.is_empty() {
                out.extend_from_slice(b", ");
            }
            if let Some(name) = address.name.as_ref().filter(|n| !n.is_empty()) {
                let encoded_word = name.starts_with(b"=?")
                    && name.ends_with(b"?=")
                    && !name.iter().any(|b| b.is_ascii_whitespace() || *b == b'"');
                if encoded_word {
                    out.extend_from_slice(name);
                } else {
                    out.push(b'"');
                    for &b in name {
                        if b == b'"' || b == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                }
                out.push(b' ');
            }
            out.push(b'<');
            out.extend_from_slice(mailbox);
            out.push(b'@');
            out.extend_from_slice(host);
            out.push(b'>');
        }
        out
    }

    fn imap_address(
        name: Option<&[u8]>,
        mailbox: Option<&[u8]>,
        host: Option<&[u8]>,
    ) -> EnvelopeAddress {
        EnvelopeAddress {
            name: name.map(<[u8]>::to_vec),
            mailbox: mailbox.map(<[u8]>::to_vec),
            host: host.map(<[u8]>::to_vec),
            ..EnvelopeAddress::default()
        }
    }

    /// The accessors of a metadata-only message agree with the old header-block reading.
    fn assert_reads_as_before(e: &types::Envelope) {
        let before = Message::from_bytes(header_block(e));
        let meta = MessageMeta {
            envelope: Some(Box::new(envelope(e.clone()))),
            ..MessageMeta::default()
        };
        let now = Message::with_meta(Vec::new(), meta);
        assert_eq!(now.subject(), before.subject(), "{e:?}");
        assert_eq!(now.headers("subject"), before.headers("subject"), "{e:?}");
        assert_eq!(now.date(), before.date(), "{e:?}");
        assert_eq!(now.date_header(), before.date_header(), "{e:?}");
        assert_eq!(now.message_id(), before.message_id(), "{e:?}");
        assert_eq!(now.in_reply_to(), before.in_reply_to(), "{e:?}");
        assert_eq!(now.references(), before.references(), "{e:?}");
        assert_eq!(now.from(), before.from(), "{e:?}");
        assert_eq!(now.to(), before.to(), "{e:?}");
        assert_eq!(now.cc(), before.cc(), "{e:?}");
        assert_eq!(now.bcc(), before.bcc(), "{e:?}");
        assert_eq!(now.reply_to(), before.reply_to(), "{e:?}");
    }

    #[test]
    fn envelopes_read_as_the_header_block_they_replace() {
        let group = |name: &[u8]| imap_address(None, Some(name), None);
        let end = imap_address(None, None, None);
        let e = types::Envelope {
            date: Some(b"Tue, 14 May 2024 10:00:00 +0000".to_vec()),
            subject: Some(
                b"=?UTF-8?B?R3LDvMOfZQ==?= from\r\n the =?iso-8859-1?q?caf=E9?=".to_vec(),
            ),
            from: vec![imap_address(
                Some(b"=?UTF-8?B?SsO8cmdlbg==?="),
                Some(b"j"),
                Some(b"example.org"),
            )],
            sender: vec![imap_address(
                Some(b"Alice Example"),
                Some(b"alice"),
                Some(b"example.org"),
            )],
            reply_to: vec![imap_address(None, Some(b"r"), Some(b"example.org"))],
            to: vec![
                imap_address(
                    Some(b"O'Brien, \"Pat\" \\ Co"),
                    Some(b"pat"),
                    Some(b"example.org"),
                ),
                group(b"team"),
                imap_address(
                    Some(b"=?utf-8?q?a?= =?utf-8?q?b?= c"),
                    Some(b"ab"),
                    Some(b"x.org"),
                ),
                imap_address(Some(b""), Some(b" spaced "), Some(b"x.org")),
                end.clone(),
                imap_address(Some(b"  "), Some(b"blank"), Some(b"x.org")),
            ],
            cc: vec![
                imap_address(Some(b"Ren\xe9"), Some(b"rene"), Some(b"x.org")),
                imap_address(Some("Jürgen".as_bytes()), Some(b"j2"), Some(b"x.org")),
            ],
            bcc: vec![imap_address(
                Some(b"=?bogus?x?y?="),
                Some(b"b"),
                Some(b"x.org"),
            )],
            in_reply_to: Some(b"<a@x> <b@x>".to_vec()),
            message_id: Some(b"<m1@example.org>".to_vec()),
        };
        assert_reads_as_before(&e);
        assert_reads_as_before(&types::Envelope::default());
        let empty = types::Envelope {
            subject: Some(Vec::new()),
            date: Some(b"\r\n".to_vec()),
            message_id: Some(b" m2@example.org ".to_vec()),
            from: vec![group(b"undisclosed-recipients"), end.clone()],
            ..types::Envelope::default()
        };
        assert_reads_as_before(&empty);
    }

    fn name_strategy() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            "[A-Za-z0-9 .,'()<>@;:-]{0,8}".prop_map(String::into_bytes),
            Just(b"=?UTF-8?B?SsO8cmdlbg==?=".to_vec()),
            Just(b"=?iso-8859-1?q?caf=E9?=".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\r\n ".to_vec()),
            Just("é".as_bytes().to_vec()),
        ];
        // Joined by spaces. (An encoded word run into other text, `=?a?q?b?==?a?q?c?=`, was
        // read differently depending on the other names in the same header line; each
        // name is now read on its own.)
        prop::collection::vec(piece, 0..4).prop_map(|pieces| pieces.join(&b' '))
    }

    proptest! {
        #[test]
        fn generated_envelopes_read_as_before(
            subject in name_strategy(),
            names in prop::collection::vec(prop::option::of(name_strategy()), 0..4),
            mailbox in "[a-z0-9.+-]{1,6}",
        ) {
            let from = names
                .iter()
                .map(|n| imap_address(n.as_deref(), Some(mailbox.as_bytes()), Some(b"example.org")))
                .collect();
            let e = types::Envelope { subject: Some(subject), from, ..types::Envelope::default() };
            assert_reads_as_before(&e);
        }
    }
}
