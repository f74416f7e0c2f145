//! Header values: unfolding and RFC 2047 encoded words, in one linear pass.
//!
//! The rules are mailparse's (`MailHeader::get_value`), so values decode exactly as they did
//! before this module existed: a value is split into lines (each trimmed at the start), an
//! encoded word `=?charset?B|Q?text?=` is decoded when it is delimited by whitespace, a
//! quote, a parenthesis, an angle bracket or a comma (or the start or end of the line), the
//! whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2) and every
//! unfolded line break becomes one space.
//!
//! mailparse's tokenizer is quadratic, though: it looks up the character before and after
//! each `=?` / `?=` by counting characters from the start of the line, and it rescans the
//! rest of the line for a closing `?=` from every opener. One `Subject:` of a megabyte of
//! `=?` took 44 s. Here a neighbouring character is read in place, and the search for the
//! next usable `?=` is remembered, so that every byte of a value is read a bounded number of
//! times whatever it contains. (One deliberate difference: mailparse indexes characters by
//! byte offset when a line holds non-ASCII text, which makes it look at the wrong character;
//! this module looks at the right one.)

use charset::Charset;

use super::guard;
use super::transfer::{base64, quoted_printable};

/// One token of a header value after unfolding and the RFC 2047 whitespace rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Text that is not an encoded word (it may contain whitespace).
    Text(&'a str),
    /// Whitespace only.
    Whitespace(&'a str),
    /// An unfolded line break: the whitespace it stands for.
    Newline(String),
    /// The decoded content of an encoded word.
    Word(String),
}

/// The decoded value of a header field (`value` is the raw value after the colon, folded
/// lines included), as a string.
pub(super) fn decode_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for token in tokens(value) {
        match token {
            Token::Text(t) | Token::Whitespace(t) => out.push_str(t),
            Token::Newline(ws) => out.push_str(&ws),
            Token::Word(w) => out.push_str(&w),
        }
    }
    out
}

/// The tokens of a raw header value, produced lazily.
pub(super) fn tokens(value: &str) -> impl Iterator<Item = Token<'_>> {
    Normalize {
        inner: Lines::new(value),
        saved: None,
        queued: None,
    }
}

/// Whether `c` ends an encoded word on the left or right (mailparse's `is_boundary`).
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '(' | ')' | '<' | '>' | ',')
}

/// Where the two-byte sequence `first second` (both ASCII) next occurs in `line` at or
/// after `from`. (A plain byte loop: `str::find` sets up a substring search on each call,
/// which costs more than the search when occurrences are dense.)
fn find_pair(line: &str, from: usize, first: u8, second: u8) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut at = from;
    loop {
        let found = at.saturating_add(bytes.get(at..)?.iter().position(|&b| b == first)?);
        if bytes.get(found.saturating_add(1)) == Some(&second) {
            return Some(found);
        }
        at = found.saturating_add(1);
    }
}

/// Tokens before the whitespace rules: a value's lines, with a line break between them.
enum Raw<'a> {
    Text(&'a str),
    Whitespace(&'a str),
    Newline,
    Word(String),
}

fn maybe_whitespace(text: &str) -> Raw<'_> {
    if text.trim_end().is_empty() {
        Raw::Whitespace(text)
    } else {
        Raw::Text(text)
    }
}

/// Splits a value into lines (trimmed at the start) and each line into raw tokens.
struct Lines<'a> {
    lines: std::str::Lines<'a>,
    current: Option<LineTokens<'a>>,
    first: bool,
}

impl<'a> Lines<'a> {
    fn new(value: &'a str) -> Lines<'a> {
        Lines {
            lines: value.lines(),
            current: None,
            first: true,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Raw<'a>;

    fn next(&mut self) -> Option<Raw<'a>> {
        loop {
            if let Some(token) = self.current.as_mut().and_then(Iterator::next) {
                return Some(token);
            }
            let line = self.lines.next()?.trim_start();
            self.current = Some(LineTokens::new(line));
            if self.first {
                self.first = false;
            } else {
                return Some(Raw::Newline);
            }
        }
    }
}

/// The raw tokens of one line.
struct LineTokens<'a> {
    line: &'a str,
    /// Where the search for the next `=?` starts.
    at: usize,
    /// Tokens to return before searching again, in order.
    queued: [Option<Raw<'a>>; 2],
    /// The whitespace before the `=?` at `at` was returned already.
    lead_returned: bool,
    done: bool,
    /// The last search for a closing `?=`: where it started and what it found.
    close: Option<(usize, Option<usize>)>,
}

impl<'a> LineTokens<'a> {
    fn new(line: &'a str) -> LineTokens<'a> {
        LineTokens {
            line,
            at: 0,
            queued: [None, None],
            lead_returned: false,
            done: false,
            close: None,
        }
    }

    /// The first `?=` at or after `from` that is followed by a delimiter (or the end of the
    /// line). Searches start at increasing offsets; a search that starts before the last
    /// result reuses it, so the line is scanned once in all.
    fn next_close(&mut self, from: usize) -> Option<usize> {
        if let Some((start, found)) = self.close
            && start <= from
            && found.is_none_or(|at| at >= from)
        {
            return found;
        }
        let line = self.line;
        let mut search = from;
        let found = loop {
            let Some(at) = find_pair(line, search, b'?', b'=') else {
                break None;
            };
            let after = at.saturating_add(2);
            if line
                .get(after..)
                .and_then(|rest| rest.chars().next())
                .is_none_or(is_delimiter)
            {
                break Some(at);
            }
            search = after;
        };
        self.close = Some((from, found));
        found
    }
}

impl<'a> Iterator for LineTokens<'a> {
    type Item = Raw<'a>;

    /// mailparse's `tokenize_header_line`, except that a run of tokens with no encoded word
    /// in it comes out as one text token. The whitespace rules and the address parser read
    /// it exactly as the tokens it stands for: a run holds a `=?`, so it is text, and the
    /// tokens whose kind matters stay separate (the whitespace before an encoded word, and
    /// whitespace that starts a run, which drops an unfolded line break saved after an
    /// encoded word).
    fn next(&mut self) -> Option<Raw<'a>> {
        if let Some(token) = self.queued[0].take() {
            self.queued.swap(0, 1);
            return Some(token);
        }
        if self.done {
            return None;
        }
        let line = self.line;
        let lead_returned = std::mem::take(&mut self.lead_returned);
        // Text without an encoded word so far (`run..self.at`).
        let run = self.at;
        let rest_of_line = |done: &mut bool| {
            *done = true;
            Some(maybe_whitespace(line.get(run..).unwrap_or("")))
        };
        loop {
            let Some(open) = find_pair(line, self.at, b'=', b'?') else {
                return rest_of_line(&mut self.done);
            };
            let begin = open.saturating_add(2);
            let delimited_before = line
                .get(..open)
                .and_then(|before| before.chars().next_back())
                .is_none_or(is_delimiter);
            if !delimited_before {
                self.at = begin;
                continue;
            }
            let Some(end) = self.next_close(begin) else {
                let lead = line.get(self.at..open).unwrap_or("");
                if self.at == run && !lead_returned && lead.trim_end().is_empty() {
                    self.lead_returned = true;
                    self.at = open;
                    return Some(Raw::Whitespace(lead));
                }
                // No `?=` that could close a word anywhere after: the rest is text.
                return rest_of_line(&mut self.done);
            };
            let after = end.saturating_add(2);
            let word = decode_word(line.get(begin..end).unwrap_or(""));
            let lead = line.get(self.at..open).unwrap_or("");
            if word.is_none() && self.at == run && !lead_returned && lead.trim_end().is_empty() {
                // A run that starts with whitespace: that whitespace is a token of its own.
                self.lead_returned = true;
                self.at = open;
                return Some(Raw::Whitespace(lead));
            }
            let Some(word) = word else {
                self.at = after;
                continue;
            };
            let before = maybe_whitespace(line.get(self.at..open).unwrap_or(""));
            let pending = self.at > run;
            let run_text = Raw::Text(line.get(run..self.at).unwrap_or(""));
            self.at = after;
            if pending {
                self.queued = [Some(before), Some(Raw::Word(word))];
                return Some(run_text);
            }
            self.queued = [Some(Raw::Word(word)), None];
            return Some(before);
        }
    }
}

/// RFC 2047 §6.2 whitespace rules and line unfolding over the raw tokens (mailparse's
/// `normalize_header_whitespace`, as a stream).
struct Normalize<'a, I> {
    inner: I,
    /// Whitespace (or an unfolded line break) after an encoded word, kept until it is known
    /// whether another encoded word follows (then it is dropped).
    saved: Option<Saved<'a>>,
    queued: Option<Token<'a>>,
}

enum Saved<'a> {
    Whitespace(&'a str),
    Newline(String),
    /// An encoded word was the last token.
    Word,
}

impl<'a, I: Iterator<Item = Raw<'a>>> Iterator for Normalize<'a, I> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(token) = self.queued.take() {
            return Some(token);
        }
        loop {
            match self.inner.next()? {
                Raw::Text(text) => {
                    let saved = match self.saved.take() {
                        Some(Saved::Whitespace(ws)) => Some(Token::Whitespace(ws)),
                        Some(Saved::Newline(ws)) => Some(Token::Newline(ws)),
                        Some(Saved::Word) | None => None,
                    };
                    return Some(match saved {
                        Some(saved) => {
                            self.queued = Some(Token::Text(text));
                            saved
                        }
                        None => Token::Text(text),
                    });
                }
                Raw::Whitespace(ws) => {
                    if matches!(self.saved, Some(Saved::Word)) {
                        self.saved = Some(Saved::Whitespace(ws));
                    } else {
                        self.saved = None;
                        return Some(Token::Whitespace(ws));
                    }
                }
                Raw::Newline => match self.saved.take() {
                    Some(Saved::Whitespace(ws)) => {
                        let mut unfolded = String::with_capacity(ws.len().saturating_add(1));
                        unfolded.push_str(ws);
                        unfolded.push(' ');
                        self.saved = Some(Saved::Newline(unfolded));
                    }
                    Some(Saved::Word) => self.saved = Some(Saved::Newline(" ".to_string())),
                    Some(Saved::Newline(_)) | None => return Some(Token::Newline(" ".into())),
                },
                Raw::Word(word) => {
                    self.saved = Some(Saved::Word);
                    return Some(Token::Word(word));
                }
            }
        }
    }
}

/// Decodes the inside of an encoded word (`charset?B|Q?text`); `None` when it is not one
/// (unknown charset or encoding, invalid base64).
fn decode_word(inner: &str) -> Option<String> {
    let (charset, rest) = inner.split_once('?')?;
    let (coding, text) = rest.split_once('?')?;
    let bytes = match coding {
        "B" | "b" => decode_b(text.as_bytes())?,
        "Q" | "q" => decode_q(text),
        _ => return None,
    };
    let charset = Charset::for_label_no_replacement(charset.as_bytes())?;
    guard(|| charset.decode_without_bom_handling(&bytes).0.into_owned()).ok()
}

/// The "B" encoding: padded base64, CR and LF ignored (what mailparse accepts through
/// `data_encoding::BASE64_MIME_PERMISSIVE`).
fn decode_b(text: &[u8]) -> Option<Vec<u8>> {
    base64(text, |b| b == b'\r' || b == b'\n').ok()
}

/// The "Q" encoding: `_` is a space, `=XY` a byte; decoded as mailparse does (its robust
/// quoted-printable mode on the text without trailing whitespace, which is then put back).
fn decode_q(text: &str) -> Vec<u8> {
    let spaced = text.replace('_', " ");
    let trimmed = spaced.trim_end();
    let mut out = quoted_printable(trimmed.as_bytes());
    out.extend_from_slice(spaced.as_bytes().get(trimmed.len()..).unwrap_or(&[]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// mailparse's own decoding of a header value, the reference.
    fn reference(value: &str) -> Option<String> {
        let line = format!("X: {value}");
        mailparse::parse_header(line.as_bytes())
            .ok()
            .map(|(h, _)| h.get_value())
    }

    fn ours(value: &str) -> Option<String> {
        // The same value mailparse reads: after the colon and the spaces that follow it.
        let line = format!("X: {value}");
        let (h, _) = mailparse::parse_header(line.as_bytes()).ok()?;
        let raw = std::str::from_utf8(h.get_value_raw()).ok()?.to_string();
        Some(decode_value(&raw))
    }

    #[test]
    fn decodes_like_mailparse() {
        for value in [
            "plain",
            "=?UTF-8?B?SsO8cmdlbg==?=",
            "=?UTF-8?B?UXVhcnRhbHNiZXJpY2h0IOKCrA==?= =?ISO-8859-1?Q?_f=FCr_Q3?=",
            "a =?utf-8?q?b?= c",
            "=?utf-8?q?a?=\r\n =?utf-8?q?b?=",
            "=?utf-8?q?a?= \r\n x",
            "x=?utf-8?q?a?=",
            "=?utf-8?q?a?=x =?utf-8?q?b?=",
            "=?utf-8?q?a_b=?= =?utf-8?q?=3D=3d=ZZ=4?=",
            "=?utf-8?q?a   ?=",
            "=?x-unknown?q?a?=",
            "=?utf-8?x?a?=",
            "=?utf-8?b?w6Q?=",
            "=?utf-8?b?QQ==QQ==?=",
            "=?utf-8?b?Q===?=",
            "=?=?=?=?",
            "=??=",
            "=?a?=",
            "(=?utf-8?q?c?=)",
            "\"=?utf-8?q?quoted?=\"",
            "Lunch on Friday?\r\n (folded subject line)",
            // Whitespace after an unfolded line break that follows a word drops the break.
            "=?utf-8?q??=\r\n =?",
            "=?utf-8?q?a?=\r\n x =?utf-8?q?b?= =?=?",
            "  lead\r\n\ttab",
            "",
        ] {
            assert_eq!(ours(value), reference(value), "{value:?}");
        }
    }

    #[test]
    fn neighbours_are_read_as_characters_not_bytes() {
        // mailparse takes the byte offset of "=?" as a character index here and so looks at
        // the wrong character; the word is delimited by a space.
        assert_eq!(decode_value("ää =?utf-8?q?x?="), "ää x");
        assert_eq!(decode_value("ä=?utf-8?q?x?="), "ä=?utf-8?q?x?=");
    }

    #[test]
    fn b_and_q_decoding() {
        assert_eq!(decode_b(b"w6Q="), Some("ä".as_bytes().to_vec()));
        assert_eq!(decode_b(b"QUJD"), Some(b"ABC".to_vec()));
        assert_eq!(decode_b(b"QQ=="), Some(b"A".to_vec()));
        assert_eq!(decode_b(b"QR=="), Some(b"A".to_vec()));
        assert_eq!(decode_b(b"QQ\r\n=="), Some(b"A".to_vec()));
        assert_eq!(decode_b(b""), Some(Vec::new()));
        assert_eq!(decode_b(b"QQ="), None);
        assert_eq!(decode_b(b"Q=Q="), None);
        assert_eq!(decode_b(b"QQ!="), None);
        assert_eq!(decode_q("a_b=3Dc"), b"a b=c".to_vec());
        assert_eq!(decode_q("=4"), b"=4".to_vec());
        assert_eq!(decode_q("a="), b"a".to_vec());
        assert_eq!(decode_q("=zz"), b"=zz".to_vec());
        assert_eq!(decode_q("a__"), b"a  ".to_vec());
    }

    fn value_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("=?".to_string()),
            Just("?=".to_string()),
            Just("=?utf-8?q?".to_string()),
            Just("=?UTF-8?B?".to_string()),
            Just("=?iso-8859-1?Q?=E4_".to_string()),
            Just("w6Q=".to_string()),
            Just("QQ==".to_string()),
            Just("=3D".to_string()),
            Just("_".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\r\n ".to_string()),
            Just("\r\n\t".to_string()),
            Just("\"".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("<".to_string()),
            Just(",".to_string()),
            Just("?".to_string()),
            Just("=".to_string()),
            "[a-zA-Z0-9]{1,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        /// On ASCII values (where mailparse reads neighbours correctly) the result is
        /// mailparse's, byte for byte.
        #[test]
        fn ascii_values_decode_like_mailparse(pieces in prop::collection::vec(value_piece(), 0..24)) {
            let value = pieces.concat();
            prop_assert_eq!(ours(&value), reference(&value), "{:?}", value);
        }

        /// A "B" word is decoded exactly when mailparse (data-encoding) decodes it.
        #[test]
        fn b_words_are_accepted_like_mailparse(text in "[A-Za-z0-9+/=!]{0,16}") {
            let word = format!("=?utf-8?b?{text}?=");
            let decoded_by_mailparse = reference(&word).is_some_and(|v| v != word);
            prop_assert_eq!(decode_b(text.as_bytes()).is_some(), decoded_by_mailparse, "{:?}", text);
        }
    }
}
