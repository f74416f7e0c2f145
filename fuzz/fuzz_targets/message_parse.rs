#![no_main]
//! Arbitrary bytes as a message: every accessor must return (possibly empty or with
//! recorded MIME errors) without panicking, and the raw bytes are kept exactly.

use libfuzzer_sys::fuzz_target;
use mailwire::Message;

fuzz_target!(|data: &[u8]| {
    let message = Message::from_bytes(data.to_vec());
    assert_eq!(message.raw(), data);
    assert_eq!(message.size(), data.len() as u64);
    let _ = message.header("Subject");
    let _ = message.header("");
    let _ = message.headers("Received");
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
    for attachment in message.attachments() {
        let _ = format!("{attachment:?}");
    }
    for part in message.parts() {
        let _ = format!("{part:?}");
    }
    let _ = message.mime_errors();
    let _ = message.uid();
    let _ = message.flags();
    let _ = message.is_seen();
    let _ = message.is_flagged();
    let _ = format!("{message:?}");
    assert_eq!(message.into_raw(), data);
});
