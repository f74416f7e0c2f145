#![no_main]
//! Arbitrary bytes as a message: every accessor must return (possibly empty or with
//! recorded MIME errors) without panicking, the raw bytes are kept exactly, and the caps
//! documented on `Message` hold (parts, header fields, short `Debug`). Run it with
//! `-timeout` and `-rss_limit_mb`: every accessor is linear in the input.

use libfuzzer_sys::fuzz_target;
use mailwire::Message;

fuzz_target!(|data: &[u8]| {
    let message = Message::from_bytes(data.to_vec());
    assert_eq!(message.raw(), data);
    assert_eq!(message.size(), data.len() as u64);
    let _ = message.header("Subject");
    let _ = message.header("");
    assert!(message.headers("Received").len() <= Message::MAX_HEADER_FIELDS);
    let _ = message.subject();
    let _ = message.from();
    let _ = message.to();
    let _ = message.cc();
    let _ = message.bcc();
    let _ = message.reply_to();
    let _ = message.date();
    let _ = message.date_header();
    let _ = message.message_id();
    let _ = message.in_reply_to();
    let _ = message.references();
    let _ = message.text_body();
    let _ = message.html_body();
    assert!(message.parts().len() <= Message::MAX_PARTS);
    let bodies =
        usize::from(message.text_body().is_some()) + usize::from(message.html_body().is_some());
    assert_eq!(bodies + message.attachments().len(), message.parts().len());
    for attachment in message.attachments() {
        assert_eq!(attachment.size(), attachment.data().len());
        assert!(format!("{attachment:?}").len() < 8_000);
    }
    for part in message.parts() {
        assert!(part.offset() <= data.len());
        let _ = part.text();
        assert!(format!("{part:?}").len() < 8_000);
    }
    for error in message.mime_errors() {
        assert!(error.offset <= data.len());
        assert!(error.to_string().len() < 8_000);
    }
    let _ = message.uid();
    let _ = message.flags();
    let _ = message.is_seen();
    let _ = message.is_flagged();
    assert!(format!("{message:?}").len() < 8_000);
    assert_eq!(message.into_raw(), data);
});
