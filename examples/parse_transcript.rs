//! Frames and parses a file of raw server bytes, one line per response.
//!
//! ```text
//! cargo run --example parse_transcript -- server-bytes.bin
//! ```
//!
//! Record the bytes a server sent (server side only, e.g. with `openssl s_client -quiet`
//! and `tee`), run this over them and attach the output to a bug report. The exit status
//! is 1 when any response could not be framed or parsed.

use std::process::ExitCode;

use mailwire::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer};
use mailwire::imap::codec::parse::parse_response;
use mailwire::imap::types::{FetchData, Response, Untagged};

fn summary(r: &Response) -> String {
    match r {
        Response::Tagged {
            tag,
            status,
            code,
            text,
        } => format!("TAGGED {tag} {status:?} code={code:?} text={text:?}"),
        Response::Continuation(c) => format!("CONTINUATION code={:?} text={:?}", c.code, c.text),
        Response::Untagged(Untagged::Fetch { seq, items }) => {
            let names: Vec<String> = items
                .iter()
                .map(|i| match i {
                    FetchData::BodySection {
                        section,
                        origin,
                        data,
                    } => format!(
                        "BODY[{section}]{} ({} bytes)",
                        origin.map(|o| format!("<{o}>")).unwrap_or_default(),
                        data.as_ref().map_or(0, Vec::len)
                    ),
                    FetchData::Binary { section, data, .. } => format!(
                        "BINARY[{section}] ({} bytes)",
                        data.as_ref().map_or(0, Vec::len)
                    ),
                    FetchData::Envelope(e) => format!(
                        "ENVELOPE(subject={:?})",
                        e.subject.as_deref().map(String::from_utf8_lossy)
                    ),
                    FetchData::BodyStructure(_) => "BODYSTRUCTURE".to_string(),
                    FetchData::Body(_) => "BODY".to_string(),
                    other => format!("{other:?}"),
                })
                .collect();
            format!("FETCH {seq} {}", names.join(" "))
        }
        Response::Untagged(Untagged::Other { raw }) => {
            let shown: String = String::from_utf8_lossy(raw).chars().take(80).collect();
            format!("OTHER {shown:?}")
        }
        Response::Untagged(u) => {
            let s = format!("{u:?}");
            if s.len() > 200 {
                format!("{}…", s.chars().take(200).collect::<String>())
            } else {
                s
            }
        }
        _ => format!("{r:?}"),
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse_transcript FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let mut framer = Framer::new(Limits::default());
    framer.extend(&bytes);
    let mut failed = false;
    let mut count = 0usize;
    loop {
        match framer.next_frame() {
            Ok(Some(FrameEvent::Response(frame))) => {
                count += 1;
                match parse_response(frame.bytes) {
                    Ok(r) => println!("{:>8} {}", frame.stream_offset, summary(&r)),
                    Err(e) => {
                        failed = true;
                        println!(
                            "{:>8} ERROR {e} (offset {} is within this response)",
                            frame.stream_offset,
                            match &e {
                                mailwire::Error::Protocol { offset, .. } => *offset,
                                _ => 0,
                            }
                        );
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                if !framer.is_idle() {
                    failed = true;
                    println!("incomplete response at the end of the file");
                }
                break;
            }
            Err(e) => {
                failed = true;
                println!("FRAMING ERROR {e}");
                break;
            }
        }
    }
    eprintln!("{count} responses");
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
