//! MIME parsing of `mailwire::Message` against hand-written fixtures in tests/messages/.

use mailwire::{Address, Disposition, Message};
use proptest::prelude::*;

fn fixture(name: &str) -> Message {
    let path = format!("{}/tests/messages/{name}", env!("CARGO_MANIFEST_DIR"));
    Message::from_bytes(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn addr(name: Option<&str>, email: &str) -> Address {
    Address::new(name.map(str::to_string), email)
}

/// Calls every accessor; used on malformed input, where only "no panic" and consistency
/// are asserted by the callers.
fn touch_everything(m: &Message) {
    let _ = m.subject();
    let _ = m.from();
    let _ = m.to();
    let _ = m.cc();
    let _ = m.bcc();
    let _ = m.reply_to();
    let _ = m.date();
    let _ = m.date_header();
    let _ = m.message_id();
    let _ = m.in_reply_to();
    let _ = m.references();
    let _ = m.header("Content-Type");
    let _ = m.headers("Received");
    let _ = m.text_body();
    let _ = m.html_body();
    for a in m.attachments() {
        let _ = (
            a.filename(),
            a.content_type(),
            a.content_id(),
            a.disposition(),
        );
        assert_eq!(a.size(), a.data().len());
    }
    for p in m.parts() {
        let _ = (p.path(), p.charset(), p.filename(), p.text());
        assert!(p.offset() <= m.raw().len());
    }
    for e in m.mime_errors() {
        assert!(!e.to_string().is_empty());
        assert!(e.offset <= m.raw().len());
    }
    let _ = format!("{m:?}");
    // Bodies plus attachments are exactly the parts.
    let bodies = usize::from(m.text_body().is_some()) + usize::from(m.html_body().is_some());
    assert_eq!(bodies + m.attachments().len(), m.parts().len());
}

#[test]
fn nested_multipart_parses_into_the_right_parts() {
    let m = fixture("nested.eml");
    assert!(m.mime_errors().is_empty(), "{:?}", m.mime_errors());

    let paths: Vec<(&str, &str)> = m
        .parts()
        .iter()
        .map(|p| (p.path(), p.content_type()))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("1.1.1", "text/plain"),
            ("1.1.2", "text/html"),
            ("1.2", "image/png"),
            ("2", "text/plain"),
            ("3", "application/pdf"),
        ]
    );

    // Quoted-printable ISO-8859-1 with a soft line break.
    assert_eq!(
        m.text_body(),
        Some("Grüße aus München!\r\nDie Äpfel sind süß, der Preis beträgt 5 Euro.")
    );
    assert_eq!(
        m.html_body(),
        Some(
            "<html><body><p>Grüße aus München!</p><img src=\"cid:logo@example.de\"></body></html>"
        )
    );

    let atts = m.attachments();
    assert_eq!(atts.len(), 3);

    let image = &atts[0];
    assert_eq!(image.path(), "1.2");
    assert_eq!(image.content_type(), "image/png");
    assert_eq!(image.content_id(), Some("logo@example.de"));
    assert_eq!(image.disposition(), Disposition::Inline);
    assert_eq!(image.filename(), None);
    assert_eq!(&image.data()[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(image.size(), 33);

    let rates = &atts[1];
    assert_eq!(rates.filename(), Some("€ Kurse 2024.txt"));
    assert_eq!(rates.content_type(), "text/plain");
    assert_eq!(rates.disposition(), Disposition::Attachment);
    assert_eq!(rates.data(), "EUR/USD 1,09 €\n".as_bytes());
    assert_eq!(rates.size(), "EUR/USD 1,09 €\n".len());
    assert_eq!(rates.part().text().as_deref(), Some("EUR/USD 1,09 €\n"));

    // RFC 2231 continuations win over the Content-Type name parameter.
    let pdf = &atts[2];
    assert_eq!(pdf.filename(), Some("Übersicht €.pdf"));
    assert_eq!(pdf.content_type(), "application/pdf");
    assert_eq!(pdf.disposition(), Disposition::Attachment);
    assert_eq!(pdf.data(), b"%PDF-1.4\n%fake pdf for tests\n");
    assert_eq!(pdf.content_id(), None);
}

#[test]
fn nested_multipart_headers() {
    let m = fixture("nested.eml");
    assert_eq!(m.subject().as_deref(), Some("Quartalsbericht € für Q3"));
    assert_eq!(
        m.from(),
        vec![addr(Some("Jürgen Müller"), "juergen@example.de")]
    );
    assert_eq!(
        m.to(),
        vec![
            addr(Some("Anna Schmidt"), "anna@example.org"),
            addr(Some("René François"), "rene@example.fr"),
        ]
    );
    // Group members are flattened.
    assert_eq!(
        m.cc(),
        vec![
            addr(None, "bob@example.org"),
            addr(None, "carol@example.org")
        ]
    );
    assert!(m.bcc().is_empty());
    assert_eq!(m.reply_to(), vec![addr(None, "replies@example.de")]);
    // 2024-10-01T12:30:00Z
    assert_eq!(m.date(), Some(1_727_785_800));
    assert_eq!(
        m.date_header().as_deref(),
        Some("Tue, 01 Oct 2024 14:30:00 +0200")
    );
    assert_eq!(m.message_id().as_deref(), Some("q3-report@example.de"));
    assert_eq!(m.in_reply_to(), vec!["q3-request@example.org"]);
    assert_eq!(
        m.references(),
        vec!["q3-kickoff@example.org", "q3-request@example.org"]
    );
    assert_eq!(m.header("mime-version").as_deref(), Some("1.0"));
    assert_eq!(m.header("X-Missing"), None);
}

#[test]
fn rfc2047_subject_and_display_names() {
    let m = fixture("encoded_headers.eml");
    assert_eq!(m.subject().as_deref(), Some("📧 Neuigkeiten für Sie"));
    let from = m.from();
    assert_eq!(
        from,
        vec![addr(Some("François Müller"), "francois@example.fr")]
    );
    assert_eq!(from[0].to_string(), "François Müller <francois@example.fr>");
    assert_eq!(
        m.to(),
        vec![
            addr(Some("山田太郎"), "taro@example.jp"),
            addr(None, "plain@example.com")
        ]
    );
    assert_eq!(m.headers("x-custom"), vec!["first", "zweiter Wert ä"]);
    assert_eq!(m.header("X-CUSTOM").as_deref(), Some("first"));
    assert_eq!(m.date(), Some(1_709_370_900));
    assert_eq!(m.text_body(), Some("Kurzer Text.\r\n"));
    assert!(m.attachments().is_empty());
}

#[test]
fn plain_seven_bit_message() {
    let m = fixture("plain.eml");
    assert_eq!(
        m.subject().as_deref(),
        Some("Lunch on Friday? (folded subject line)")
    );
    assert_eq!(
        m.from(),
        vec![addr(Some("Alice Example"), "alice@example.com")]
    );
    assert_eq!(m.to(), vec![addr(None, "bob@example.org")]);
    assert_eq!(m.headers("Received").len(), 1);
    assert_eq!(
        m.text_body(),
        Some("Hi Bob,\r\n\r\nshall we have lunch on Friday at noon?\r\n\r\nAlice\r\n")
    );
    assert_eq!(m.html_body(), None);
    assert_eq!(m.parts().len(), 1);
    assert_eq!(m.parts()[0].path(), "1");
    assert_eq!(m.parts()[0].content_type(), "text/plain");
    assert!(m.attachments().is_empty());
    assert!(m.mime_errors().is_empty());
    assert_eq!(m.message_id().as_deref(), Some("lunch.42@example.com"));
}

#[test]
fn message_without_body() {
    let m = fixture("no_body.eml");
    assert_eq!(m.subject().as_deref(), Some("headers only"));
    assert_eq!(m.message_id().as_deref(), Some("empty@example.com"));
    assert_eq!(m.text_body(), None);
    assert!(m.parts().is_empty());
    assert!(m.attachments().is_empty());
    assert!(m.mime_errors().is_empty());
}

#[test]
fn bare_lf_line_ends() {
    let m = fixture("bare_lf.eml");
    assert_eq!(m.subject().as_deref(), Some("bare LF line ends"));
    assert_eq!(m.text_body(), Some("line one\nline two"));
    assert_eq!(m.html_body(), Some("<p>line one<br>line two</p>"));
    assert!(m.attachments().is_empty());
    assert!(m.mime_errors().is_empty());
    let paths: Vec<&str> = m.parts().iter().map(|p| p.path()).collect();
    assert_eq!(paths, vec!["1", "2"]);
}

#[test]
fn boundary_never_closed_keeps_all_parts() {
    let m = fixture("unclosed_boundary.eml");
    touch_everything(&m);
    assert_eq!(m.text_body(), Some("first part"));
    let atts = m.attachments();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].filename(), Some("tail.bin"));
    assert_eq!(atts[0].data(), b"tail bytes without closing boundary\r\n");
    assert_eq!(m.mime_errors().len(), 1);
    assert!(
        m.mime_errors()[0].message.contains("closing boundary"),
        "{:?}",
        m.mime_errors()
    );
}

#[test]
fn unknown_charset_falls_back_to_lossy_utf8_and_is_recorded() {
    let m = fixture("unknown_charset.eml");
    touch_everything(&m);
    assert_eq!(m.text_body(), Some("caf\u{fffd} ok"));
    // A known single-byte charset is still honoured in the sibling part.
    assert_eq!(m.html_body(), Some("<p>€ 5</p>"));
    let errors = m.mime_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "1");
    assert!(errors[0].message.contains("x-klingon-9"), "{errors:?}");
    let as_error: mailwire::Error = errors[0].clone().into();
    assert!(matches!(as_error, mailwire::Error::Protocol { .. }));
    assert!(as_error.to_string().contains("part 1"), "{as_error}");
}

#[test]
fn invalid_base64_part_is_skipped_and_recorded() {
    let m = fixture("bad_base64.eml");
    touch_everything(&m);
    assert_eq!(m.text_body(), Some("The body is fine."));
    let errors = m.mime_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "2");
    assert!(errors[0].message.contains("base64"), "{errors:?}");
    // The broken part is gone; the one after it still decodes, its RFC 2047 name from
    // Content-Type used as the file name.
    let paths: Vec<&str> = m.parts().iter().map(|p| p.path()).collect();
    assert_eq!(paths, vec!["1", "3"]);
    let atts = m.attachments();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].filename(), Some("Bär.jpg"));
    assert_eq!(atts[0].content_type(), "image/jpeg");
    // No Content-Disposition and no Content-ID outside multipart/related: an attachment.
    assert_eq!(atts[0].disposition(), Disposition::Attachment);
    assert_eq!(atts[0].data(), b"\xff\xd8\xff\xe0JFIF-ish bear");
}

#[test]
fn multipart_without_boundary_is_read_as_text() {
    let m = fixture("no_boundary.eml");
    touch_everything(&m);
    assert_eq!(m.text_body(), Some("Just some text, no parts at all.\r\n"));
    assert_eq!(m.mime_errors().len(), 1);
    assert!(m.mime_errors()[0].message.contains("boundary"));
}

#[test]
fn garbage_and_empty_input_do_not_panic() {
    let empty = Message::from_bytes(Vec::new());
    touch_everything(&empty);
    assert_eq!(empty.subject(), None);
    assert!(empty.from().is_empty());
    assert_eq!(empty.text_body(), None);
    assert!(empty.parts().is_empty());

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let m = Message::from_bytes(garbage.clone());
    touch_everything(&m);
    assert_eq!(m.raw(), &garbage[..]);

    for weird in [
        &b"\r"[..],
        b"\n",
        b"\r\n\r\n",
        b" ",
        b":",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--",
        b"Content-Type: text/plain; charset*=''%\r\n\r\n\xff",
        b"Content-Disposition: attachment; filename*0*=x; filename*1=y; filename*0*0=z\r\n\r\n.",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=\xff=",
        b"From: <<<@>>>, \"unterminated\r\nTo: =?x?Q?=?=\r\nDate: 99 Foo 99999999999\r\n\r\n",
    ] {
        touch_everything(&Message::from_bytes(weird.to_vec()));
    }
}

#[test]
fn deep_nesting_is_capped_without_overflowing_the_stack() {
    let depth = 10_000;
    let mut raw = Vec::new();
    for i in 0..depth {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\ndeep\r\n");
    let m = Message::from_bytes(raw);
    touch_everything(&m);
    assert!(m.parts().is_empty());
    assert!(
        m.mime_errors()
            .iter()
            .any(|e| e.message.contains("nested more than")),
        "{:?}",
        m.mime_errors()
    );

    // Within the cap the leaf is found, with its full part number.
    let mut raw = Vec::new();
    for i in 0..10 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\ndeep\r\n");
    let m = Message::from_bytes(raw);
    assert_eq!(m.text_body(), Some("deep\r\n"));
    assert_eq!(m.parts()[0].path(), "1.1.1.1.1.1.1.1.1.1");
}

#[test]
fn huge_header_count() {
    // Up to the cap every field is indexed (beyond it: tests/message_hostile.rs).
    let hops = Message::MAX_HEADER_FIELDS - 1;
    let mut raw = Vec::new();
    for i in 0..hops {
        raw.extend_from_slice(format!("Received: hop {i}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Subject: many hops\r\n\r\nbody");
    let m = Message::from_bytes(raw);
    assert_eq!(m.subject().as_deref(), Some("many hops"));
    assert_eq!(m.headers("received").len(), hops);
    assert_eq!(m.headers("received")[hops - 1], format!("hop {}", hops - 1));
    assert_eq!(m.text_body(), Some("body"));
    assert!(m.mime_errors().is_empty(), "{:?}", m.mime_errors());
}

#[test]
fn message_is_send_sync_clone_and_debug_is_short() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<Message>();
    assert_send_sync::<mailwire::Attachment>();
    assert_send_sync::<mailwire::Part>();
    assert_send_sync::<mailwire::MimeError>();

    let m = fixture("nested.eml");
    let before_parse = m.clone();
    let _ = m.attachments();
    let after_parse = m.clone();
    assert_eq!(after_parse.attachments().len(), 3);
    assert_eq!(before_parse.attachments().len(), 3);
    assert_eq!(after_parse.raw(), m.raw());

    let debug = format!("{m:?}");
    assert!(debug.contains("q3-report@example.de"), "{debug}");
    assert!(debug.contains(&m.raw().len().to_string()), "{debug}");
    assert!(!debug.contains("iVBORw0KGgo"), "{debug}");
    assert!(!debug.contains("Epilogue"), "{debug}");
    assert!(debug.len() < 400, "{debug}");

    let raw = m.raw().to_vec();
    assert_eq!(m.into_raw(), raw);
}

#[test]
fn parsed_concurrently_from_threads() {
    let m = fixture("nested.eml");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                assert_eq!(m.attachments().len(), 3);
                assert_eq!(m.subject().as_deref(), Some("Quartalsbericht € für Q3"));
            });
        }
    });
}

#[test]
fn address_display_quotes_when_needed() {
    assert_eq!(addr(None, "a@b.c").to_string(), "a@b.c");
    assert_eq!(
        addr(Some("Ann Lee"), "a@b.c").to_string(),
        "Ann Lee <a@b.c>"
    );
    assert_eq!(
        addr(Some("Lee, Ann \"AL\""), "a@b.c").to_string(),
        "\"Lee, Ann \\\"AL\\\"\" <a@b.c>"
    );
}

/// Pieces that steer random messages into the MIME code paths.
fn mime_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"Content-Type: multipart/mixed; boundary=b\r\n".to_vec()),
        Just(b"Content-Type: multipart/related; boundary=\"b\"\n".to_vec()),
        Just(b"Content-Type: text/plain; charset=iso-8859-1\r\n".to_vec()),
        Just(b"Content-Type: text/html; charset*=utf-8''x\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(
            b"Content-Disposition: attachment; filename*0*=UTF-8''%E2%82; filename*1*=%AC\r\n"
                .to_vec()
        ),
        Just(b"Content-ID: <x@y>\r\n".to_vec()),
        Just(b"From: =?utf-8?B?w6Q=?= <a@b>, g: c@d;\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b"=?iso-8859-1?q?=E4?=".to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let m = Message::from_bytes(raw.clone());
        touch_everything(&m);
        prop_assert_eq!(m.raw(), &raw[..]);
    }

    #[test]
    fn mime_shaped_bytes_never_panic(pieces in prop::collection::vec(mime_piece(), 0..24)) {
        let raw = pieces.concat();
        let m = Message::from_bytes(raw);
        touch_everything(&m);
    }
}

#[test]
fn embedded_message_is_an_attachment_and_parses_on_its_own() {
    let raw = concat!(
        "From: fwd@example.com\r\n",
        "Subject: Fwd: hello\r\n",
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n",
        "\r\n",
        "--m\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "\r\n",
        "See below.\r\n",
        "--m\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Disposition: inline; filename=\"=?UTF-8?B?R3LDvMOfZS5lbWw=?=\"\r\n",
        "\r\n",
        "From: orig@example.org\r\n",
        "Subject: hello\r\n",
        "Content-Type: multipart/alternative; boundary=\"inner\"\r\n",
        "\r\n",
        "--inner\r\n",
        "Content-Type: text/plain\r\n",
        "\r\n",
        "original text\r\n",
        "--inner--\r\n",
        "--m--\r\n",
    );
    let m = Message::from_bytes(raw.as_bytes().to_vec());
    assert!(m.mime_errors().is_empty(), "{:?}", m.mime_errors());
    // The embedded message's text is not taken as this message's body.
    assert_eq!(m.text_body(), Some("See below."));
    let atts = m.attachments();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].content_type(), "message/rfc822");
    assert_eq!(atts[0].disposition(), Disposition::Inline);
    // RFC 2047 inside a quoted filename parameter (not allowed, but common).
    assert_eq!(atts[0].filename(), Some("Grüße.eml"));
    let inner = Message::from_bytes(atts[0].data().to_vec());
    assert_eq!(inner.subject().as_deref(), Some("hello"));
    assert_eq!(inner.text_body(), Some("original text"));
}

#[test]
fn pathological_headers_do_not_panic() {
    let mut raw = Vec::new();
    raw.extend_from_slice(b"From: ");
    raw.extend(std::iter::repeat_n(b':', 20_000));
    raw.extend_from_slice(b"\r\nTo: ");
    raw.extend(std::iter::repeat_n(b'(', 20_000));
    raw.extend_from_slice(b"a@b\r\nCc: ");
    for _ in 0..2_000 {
        raw.extend_from_slice(b"=?utf-8?q?=C3?= ");
    }
    raw.extend_from_slice(b"\r\nSubject: ");
    for _ in 0..2_000 {
        raw.extend_from_slice(b"=?utf-8?b?w6Q=?=\r\n ");
    }
    raw.extend_from_slice(b"\r\nDate: ");
    raw.extend(std::iter::repeat_n(b'9', 5_000));
    raw.extend_from_slice(b"\r\nReferences: ");
    raw.extend(std::iter::repeat_n(b'<', 20_000));
    raw.extend_from_slice(b"\r\n\r\nbody");
    let m = Message::from_bytes(raw);
    touch_everything(&m);
    assert_eq!(
        m.subject().map(|s| s.chars().filter(|&c| c == 'ä').count()),
        Some(2_000)
    );
    assert_eq!(m.text_body(), Some("body"));
}
