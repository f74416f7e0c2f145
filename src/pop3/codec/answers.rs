//! The answers of `STAT`, `LIST` and `UIDL`.

use super::multiline::content_lines;
use super::trim_ascii_blanks;
use crate::error::{Error, Result};

fn parse_number<T: std::str::FromStr>(
    token: Option<(usize, &str)>,
    text: &str,
    what: &str,
) -> Result<T> {
    let Some((offset, token)) = token else {
        return Err(Error::protocol(
            format!("missing {what}"),
            text.as_bytes(),
            text.len(),
        ));
    };
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::protocol(
            format!("{what} is not a number"),
            text.as_bytes(),
            offset,
        ));
    }
    token
        .parse()
        .map_err(|_| Error::protocol(format!("{what} is out of range"), text.as_bytes(), offset))
}

/// Splits on blanks, keeping each token's byte offset.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split([' ', '\t'])
        .scan(0usize, |offset, token| {
            let start = *offset;
            *offset += token.len() + 1;
            Some((start, token))
        })
        .filter(|(_, t)| !t.is_empty())
}

/// Parses the text of a `STAT` answer (`+OK 2 320`): the number of messages and their
/// total size in octets. Text after the two numbers is ignored.
pub fn parse_stat(text: &str) -> Result<(u32, u64)> {
    let mut t = tokens(text);
    let count = parse_number(t.next(), text, "message count in the STAT answer")?;
    let size = parse_number(t.next(), text, "maildrop size in the STAT answer")?;
    Ok((count, size))
}

/// One line of a `LIST` answer: a message number and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ListEntry {
    /// The message number (1-based, valid for this session).
    pub number: u32,
    /// The size in octets (as the server counts it: with CRLF line ends).
    pub size: u64,
}

/// One line of a `UIDL` answer: a message number and its unique id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UidlEntry {
    /// The message number (1-based, valid for this session).
    pub number: u32,
    /// The unique id, stable across sessions.
    pub uid: String,
}

/// Parses `msg-number size`: a line of the multi-line `LIST` answer, or the text of the
/// single-line answer to `LIST n` (`+OK 2 200`). Text after the size is ignored.
pub fn parse_list_line(text: &str) -> Result<ListEntry> {
    let mut t = tokens(text);
    let number = parse_number(t.next(), text, "message number in the LIST answer")?;
    let size = parse_number(t.next(), text, "message size in the LIST answer")?;
    Ok(ListEntry { number, size })
}

/// Parses `msg-number unique-id`: a line of the multi-line `UIDL` answer, or the text of
/// the single-line answer to `UIDL n` (`+OK 2 QhdPYR:00WBw1Ph7x7`). The id must be printable
/// (RFC 1939 allows 0x21 to 0x7E; other non-blank UTF-8 is accepted from lax servers).
pub fn parse_uidl_line(text: &str) -> Result<UidlEntry> {
    let mut t = tokens(text);
    let number = parse_number(t.next(), text, "message number in the UIDL answer")?;
    let Some((offset, uid)) = t.next() else {
        return Err(Error::protocol(
            "missing unique id in the UIDL answer",
            text.as_bytes(),
            text.len(),
        ));
    };
    if let Some(bad) = uid.bytes().position(|b| b.is_ascii_control()) {
        return Err(Error::protocol(
            "control character in a unique id",
            text.as_bytes(),
            offset + bad,
        ));
    }
    Ok(UidlEntry {
        number,
        uid: uid.to_string(),
    })
}

/// Converts a content line to text, failing on invalid UTF-8 at its offset.
fn line_text<'a>(line: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(line).map_err(|e| {
        Error::protocol(
            format!("invalid UTF-8 in a {what} line"),
            line,
            e.valid_up_to(),
        )
    })
}

/// Parses one content line (without its line end) of a multi-line `LIST` answer; `None`
/// for a blank line.
pub(crate) fn parse_list_content_line(line: &[u8]) -> Result<Option<ListEntry>> {
    if trim_ascii_blanks(line).is_empty() {
        return Ok(None);
    }
    parse_list_line(line_text(line, "LIST")?).map(Some)
}

/// Parses one content line (without its line end) of a multi-line `UIDL` answer; `None`
/// for a blank line.
pub(crate) fn parse_uidl_content_line(line: &[u8]) -> Result<Option<UidlEntry>> {
    if trim_ascii_blanks(line).is_empty() {
        return Ok(None);
    }
    parse_uidl_line(line_text(line, "UIDL")?).map(Some)
}

/// Parses the decoded content of a multi-line `LIST` answer (blank lines are skipped).
///
/// The whole content is in memory here; the client itself parses a listing line by line
/// as it arrives, bounded by [`Limits::max_listing_size`](crate::Limits::max_listing_size).
pub fn parse_list(content: &[u8]) -> Result<Vec<ListEntry>> {
    content_lines(content)
        .filter_map(|l| parse_list_content_line(l).transpose())
        .collect()
}

/// Parses the decoded content of a multi-line `UIDL` answer (blank lines are skipped).
///
/// The whole content is in memory here; the client itself parses a listing line by line
/// as it arrives, bounded by [`Limits::max_listing_size`](crate::Limits::max_listing_size).
pub fn parse_uidl(content: &[u8]) -> Result<Vec<UidlEntry>> {
    content_lines(content)
        .filter_map(|l| parse_uidl_content_line(l).transpose())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pop3::codec::{parse_status, protocol_offset};

    #[test]
    fn splitting_content_lines() {
        let lines: Vec<&[u8]> = content_lines(b"a\r\nb\n\r\nc\r\n").collect();
        assert_eq!(lines, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(content_lines(b"").count(), 0);
        assert_eq!(
            content_lines(b"no end").collect::<Vec<_>>(),
            [&b"no end"[..]]
        );
    }

    #[test]
    fn stat_answers() {
        assert_eq!(parse_stat("2 320").unwrap(), (2, 320));
        assert_eq!(parse_stat(" 0  0 extra words").unwrap(), (0, 0));
        assert_eq!(
            parse_stat("4294967295 18446744073709551615").unwrap(),
            (u32::MAX, u64::MAX)
        );
        assert_eq!(protocol_offset(parse_stat("2")).0, 1);
        assert_eq!(protocol_offset(parse_stat("")).0, 0);
        assert_eq!(protocol_offset(parse_stat("2 x20")).0, 2);
        assert_eq!(protocol_offset(parse_stat("-1 20")).0, 0);
        assert_eq!(protocol_offset(parse_stat("4294967296 1")).0, 0);
    }

    #[test]
    fn numbers_too_large_for_their_type_never_wrap() {
        const HUGE: &str = "123456789012345678901234567890";
        let out_of_range = |r: Result<()>| match r {
            Err(Error::Protocol { message, .. }) => assert!(message.contains("out of range")),
            other => panic!("expected a protocol error, got {other:?}"),
        };
        out_of_range(parse_stat(&format!("{HUGE} 1")).map(drop));
        out_of_range(parse_stat(&format!("1 {HUGE}")).map(drop));
        out_of_range(parse_stat("1 18446744073709551616").map(drop));
        out_of_range(parse_list_line(&format!("{HUGE} 1")).map(drop));
        out_of_range(parse_list_line(&format!("1 {HUGE}")).map(drop));
        out_of_range(parse_uidl_line(&format!("{HUGE} uid")).map(drop));
        out_of_range(parse_list(format!("1 2\r\n{HUGE} 3\r\n").as_bytes()).map(drop));
        out_of_range(parse_uidl(format!("{HUGE} a\r\n").as_bytes()).map(drop));
        // Signs and other non-digits are not numbers at all.
        for bad in ["+1 2", "1 -2", "0x10 2", "1 2e3"] {
            assert!(parse_list_line(bad).is_err(), "{bad}");
        }
        // The greatest values still fit.
        assert_eq!(
            parse_list_line("4294967295 18446744073709551615")
                .unwrap()
                .size,
            u64::MAX
        );
    }

    #[test]
    fn list_and_uidl_lines() {
        assert_eq!(
            parse_list_line("1 120").unwrap(),
            ListEntry {
                number: 1,
                size: 120
            }
        );
        // The single-line answer to LIST 2 has the same shape.
        let single = parse_status(b"+OK 2 200\r\n")
            .unwrap()
            .into_result("LIST")
            .unwrap();
        assert_eq!(
            parse_list_line(&single).unwrap(),
            ListEntry {
                number: 2,
                size: 200
            }
        );
        assert_eq!(parse_list_line("3 5 octets").unwrap().size, 5);
        assert_eq!(protocol_offset(parse_list_line("3")).0, 1);
        assert_eq!(protocol_offset(parse_list_line("x 3")).0, 0);

        assert_eq!(
            parse_uidl_line("2 QhdPYR:00WBw1Ph7x7").unwrap(),
            UidlEntry {
                number: 2,
                uid: "QhdPYR:00WBw1Ph7x7".into()
            }
        );
        assert_eq!(parse_uidl_line("1\t<a@b>  ").unwrap().uid, "<a@b>");
        assert_eq!(protocol_offset(parse_uidl_line("1")).0, 1);
        assert_eq!(protocol_offset(parse_uidl_line("1 ab\u{7}c")).0, 4);
        assert_eq!(protocol_offset(parse_uidl_line("one uid")).0, 0);
    }

    #[test]
    fn multi_line_lists() {
        let list = parse_list(b"1 120\r\n2 200\r\n\r\n3 0\n").unwrap();
        assert_eq!(
            list,
            [
                ListEntry {
                    number: 1,
                    size: 120
                },
                ListEntry {
                    number: 2,
                    size: 200
                },
                ListEntry { number: 3, size: 0 }
            ]
        );
        assert!(parse_list(b"").unwrap().is_empty());
        assert!(parse_list(b"1 120\r\n2\r\n").is_err());
        let uidl = parse_uidl(b"1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n").unwrap();
        assert_eq!(uidl.len(), 2);
        assert_eq!(uidl[1].uid, "QhdPYR:00WBw1Ph7x7");
        assert_eq!(protocol_offset(parse_uidl(b"1 ab\xffc\r\n")).0, 4);
    }
}
