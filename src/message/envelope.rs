//! A header block written from an IMAP envelope, for messages fetched without their bytes.

/// A header block (`Date`, `Subject`, `Message-ID`, `In-Reply-To`, the address fields)
/// written from an IMAP envelope, for messages fetched without their bytes. Values are kept
/// as sent (encoded words are decoded when read); CR and LF are replaced by spaces.
pub(super) fn envelope_header_block(envelope: &crate::imap::types::Envelope) -> Vec<u8> {
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
    for (name, value) in [
        ("Date", &envelope.date),
        ("Subject", &envelope.subject),
        ("Message-ID", &envelope.message_id),
        ("In-Reply-To", &envelope.in_reply_to),
    ] {
        if let Some(value) = value {
            field(name, value);
        }
    }
    for (name, list) in [
        ("From", &envelope.from),
        ("Sender", &envelope.sender),
        ("Reply-To", &envelope.reply_to),
        ("To", &envelope.to),
        ("Cc", &envelope.cc),
        ("Bcc", &envelope.bcc),
    ] {
        field(name, &envelope_addresses(list));
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// An envelope address list as a header value (`"Name" <box@host>, …`); group markers are
/// dropped, their members kept.
fn envelope_addresses(list: &[crate::imap::types::Address]) -> Vec<u8> {
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
