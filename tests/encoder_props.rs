//! Property tests for the IMAP command encoder: no user input can end a command early or
//! inject a second one, NUL is always refused, mailbox names round-trip, and sequence sets
//! round-trip and split correctly.

use mailwire::Error;
use mailwire::imap::codec::utf7;
use mailwire::imap::codec::{
    AppendMessage, Command, EncodeOptions, EncodedCommand, Flag, InternalDate, ListReturn,
    LiteralMode, MailboxName, Secret, StoreAction,
};
use mailwire::imap::search::SearchQuery;
use mailwire::imap::seqset::SequenceSet;
use proptest::prelude::*;

const CASES: u32 = 10_000;

/// One command as a literal-aware splitter sees it: the text outside literals (without the
/// CRLFs that end lines) and the literal contents.
#[derive(Debug, Default)]
struct Split {
    outside: Vec<Vec<u8>>,
    literals: Vec<Vec<u8>>,
}

/// If `line` ends with a literal announcement `{n}`, `{n+}`, `~{n}` or `~{n+}`, its size.
fn literal_size(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Splits a byte stream into commands the way a server does: a line ends at CRLF unless it
/// announces a literal, whose bytes are then skipped.
fn split_commands(bytes: &[u8]) -> Result<Vec<Split>, String> {
    let mut commands = Vec::new();
    let mut current = Split::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let rel = bytes[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| format!("bytes after the last CRLF: {:?}", &bytes[pos..]))?;
        let line = &bytes[pos..pos + rel];
        current.outside.push(line.to_vec());
        pos += rel + 2;
        match literal_size(line) {
            Some(n) => {
                let data = bytes
                    .get(pos..pos + n)
                    .ok_or_else(|| "literal runs past the end".to_string())?;
                current.literals.push(data.to_vec());
                pos += n;
            }
            None => commands.push(std::mem::take(&mut current)),
        }
    }
    if !current.outside.is_empty() {
        return Err("unterminated command".into());
    }
    Ok(commands)
}

/// Asserts that `cmd` is exactly one command: one split, no CR or LF outside literals, and
/// parts that match the synchronizing-literal protocol.
fn assert_one_command(cmd: &EncodedCommand, opts: &EncodeOptions) -> Result<Split, TestCaseError> {
    let bytes = cmd.to_bytes();
    let mut commands = split_commands(&bytes).map_err(TestCaseError::fail)?;
    prop_assert_eq!(commands.len(), 1, "not one command: {:?}", cmd);
    let split = commands.remove(0);
    for segment in &split.outside {
        prop_assert!(
            !segment.contains(&b'\r') && !segment.contains(&b'\n') && !segment.contains(&0),
            "CR, LF or NUL outside a literal: {:?}",
            cmd
        );
    }
    // Outside literals, exactly one CRLF (the end) once announcements are removed.
    prop_assert_eq!(split.outside.len(), split.literals.len() + 1);
    let parts = cmd.parts();
    prop_assert_eq!(parts.concat(), bytes.clone());
    let (last, rest) = parts.split_last().expect("at least one part");
    prop_assert!(last.ends_with(b"\r\n"));
    for part in rest {
        prop_assert!(part.ends_with(b"}\r\n"), "part without announcement");
        let line_start = part[..part.len() - 2]
            .iter()
            .rposition(|&b| b == b'{')
            .expect("announcement");
        prop_assert!(
            !part[line_start..].contains(&b'+'),
            "non-sync literal split"
        );
    }
    if opts.literal == LiteralMode::Plus {
        prop_assert_eq!(parts.len(), 1);
    }
    Ok(split)
}

/// Reads one astring (atom, quoted or literal) at the start of `bytes`.
fn read_astring(bytes: &[u8]) -> Vec<u8> {
    match bytes.first() {
        Some(b'"') => {
            let mut out = Vec::new();
            let mut i = 1;
            while bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                out.push(bytes[i]);
                i += 1;
            }
            out
        }
        Some(b'{') | Some(b'~') if bytes.starts_with(b"{") || bytes.starts_with(b"~{") => {
            let end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = literal_size(&bytes[..end]).unwrap();
            bytes[end + 2..end + 2 + n].to_vec()
        }
        _ => {
            let end = bytes.iter().position(|&b| b == b' ' || b == b'\r').unwrap();
            bytes[..end].to_vec()
        }
    }
}

fn options() -> impl Strategy<Value = EncodeOptions> {
    (
        prop_oneof![
            Just(LiteralMode::Synchronizing),
            Just(LiteralMode::Plus),
            Just(LiteralMode::Minus)
        ],
        any::<bool>(),
    )
        .prop_map(|(l, u)| EncodeOptions::new().with_literal(l).with_utf8_accept(u))
}

/// Bytes rich in what breaks commands: CR, LF, NUL, quotes, backslashes, braces, spaces,
/// 8-bit bytes and `&`.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            2 => b'a'..=b'z',
            1 => prop::sample::select(vec![
                b'\r', b'\n', 0, b'"', b'\\', b'{', b'}', b' ', b'&', b'-', b'+', b'*', b'%',
                b']', b'(', b')', b'~', b'\t', 0x7f, 0xc3, 0xa9,
            ]),
        ],
        0..40,
    )
}

fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        nasty_bytes().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "[a-zA-Z0-9 &\\-+,/\r\n\"\\\\{}\u{e9}\u{53f0}\u{1F600}\u{0}]{0,30}",
    ]
}

fn check(
    result: mailwire::Result<EncodedCommand>,
    has_nul: bool,
    opts: &EncodeOptions,
) -> Result<Option<Split>, TestCaseError> {
    match result {
        Err(Error::InvalidInput { .. }) if has_nul => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error: {e}"))),
        Ok(cmd) if has_nul => Err(TestCaseError::fail(format!("NUL accepted: {cmd:?}"))),
        Ok(cmd) => assert_one_command(&cmd, opts).map(Some),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn mailbox_names_cannot_inject(name in nasty_text(), raw in nasty_bytes(), opts in options()) {
        let has_nul = name.contains('\0');
        let mailbox = MailboxName::new(name.clone());
        for cmd in [
            Command::select(mailbox.clone()),
            Command::Create(mailbox.clone()),
            Command::Rename { from: mailbox.clone(), to: mailbox.clone() },
            Command::List { reference: mailbox.clone(), pattern: name.clone(), returns: ListReturn::new().special_use() },
            Command::Copy { uid: true, set: SequenceSet::single(1), mailbox: mailbox.clone() },
            Command::append(mailbox.clone(), [Flag::Seen], b"x".to_vec()),
        ] {
            check(cmd.encode("A1", &opts), has_nul, &opts)?;
        }
        let wire = Command::select(MailboxName::from_wire(raw.clone()));
        check(wire.encode("A1", &opts), raw.contains(&0), &opts)?;
    }

    #[test]
    fn mailbox_names_round_trip(name in nasty_text(), opts in options()) {
        let name = name.replace('\0', "");
        let cmd = Command::select(name.as_str()).encode("A1", &opts).unwrap();
        let split = assert_one_command(&cmd, &opts)?;
        let bytes = cmd.to_bytes();
        let arg = read_astring(&bytes[b"A1 SELECT ".len()..]);
        if name.eq_ignore_ascii_case("INBOX") {
            prop_assert_eq!(arg, b"INBOX".to_vec());
        } else if opts.utf8_accept {
            prop_assert_eq!(arg, name.as_bytes().to_vec());
        } else {
            // Modified UTF-7 is printable ASCII: never a literal, always decodable.
            prop_assert!(split.literals.is_empty() || name.len() > 100);
            prop_assert_eq!(utf7::decode(&arg).unwrap(), name.clone());
            prop_assert_eq!(utf7::encode(&name).into_bytes(), arg);
        }
    }

    #[test]
    fn utf7_strict_decode_is_canonical(raw in nasty_bytes()) {
        // Whatever the strict decoder accepts re-encodes to the same bytes (adjacent shifts
        // aside), and the lenient decoder never fails.
        let lenient = utf7::decode_lenient(&raw);
        if let Ok(decoded) = utf7::decode(&raw) {
            prop_assert_eq!(&lenient, &decoded);
            if !raw.windows(2).any(|w| w == b"-&") {
                prop_assert_eq!(utf7::encode(&decoded).into_bytes(), raw);
            }
        }
    }

    #[test]
    fn search_text_cannot_inject(text in nasty_text(), other in nasty_text(), opts in options()) {
        let has_nul = text.contains('\0') || other.contains('\0');
        let query = SearchQuery::subject(text.clone())
            .and(SearchQuery::header(other.clone(), text.clone()))
            .and(SearchQuery::from(other.clone()).or(!SearchQuery::body(text.clone())))
            .and(SearchQuery::gmail_raw(text.clone()));
        let cmd = Command::uid_search(query.clone()).encode("A1", &opts);
        let split = check(cmd, has_nul, &opts)?;
        if let Some(split) = split {
            let charset = split.outside[0].windows(15).any(|w| w == b"CHARSET UTF-8 S");
            prop_assert_eq!(charset, !text.is_ascii() || !other.is_ascii());
            // Every literal holds one of the texts, byte for byte.
            for lit in &split.literals {
                prop_assert!(lit == text.as_bytes() || lit == other.as_bytes());
            }
        }
    }

    #[test]
    fn gmail_labels_cannot_inject_and_round_trip(label in nasty_text(), opts in options()) {
        // A STORE X-GM-LABELS and an X-GM-LABELS search: one command each, the label read
        // back as Gmail reads it (a system label bare, any other an astring in modified
        // UTF-7, or UTF-8 after UTF8=ACCEPT); empty or NUL refused.
        let bad = label.is_empty() || label.contains('\0');
        let store = Command::StoreGmailLabels {
            uid: true,
            set: SequenceSet::single(1),
            action: StoreAction::Add,
            silent: true,
            labels: vec![label.clone(), "x".into()],
        };
        let search = Command::uid_search(SearchQuery::gmail_label(label.clone()).and(SearchQuery::seen()));
        for cmd in [store, search] {
            let encoded = cmd.encode("A1", &opts);
            if bad {
                prop_assert!(matches!(encoded, Err(Error::InvalidInput { .. })), "{:?}", encoded);
                continue;
            }
            let encoded = encoded.unwrap();
            assert_one_command(&encoded, &opts)?;
            let bytes = encoded.to_bytes();
            let prefix: &[u8] = if bytes.starts_with(b"A1 UID STORE") {
                b"A1 UID STORE 1 +X-GM-LABELS.SILENT ("
            } else {
                b"A1 UID SEARCH X-GM-LABELS "
            };
            prop_assert!(bytes.starts_with(prefix), "{:?}", String::from_utf8_lossy(&bytes));
            let arg = read_astring(&bytes[prefix.len()..]);
            let system = label.strip_prefix('\\').is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| (0x21..=0x7e).contains(&b) && !b"(){%*\"\\]".contains(&b))
            });
            if system || opts.utf8_accept {
                prop_assert_eq!(arg, label.as_bytes().to_vec());
            } else {
                prop_assert_eq!(utf7::decode(&arg).unwrap(), label.clone());
            }
        }
    }

    #[test]
    fn keywords_are_atoms_or_refused(keyword in nasty_text(), opts in options()) {
        let is_atom = !keyword.is_empty()
            && keyword.bytes().all(|b| (0x21..=0x7e).contains(&b) && !b"(){%*\"\\]".contains(&b));
        let store = Command::uid_store(
            SequenceSet::range(1, 3),
            StoreAction::Add,
            [Flag::Keyword(keyword.clone())],
        )
        .encode("A1", &opts);
        let search = Command::uid_search(SearchQuery::keyword(keyword.clone())).encode("A1", &opts);
        prop_assert_eq!(Flag::keyword(keyword.clone()).is_ok(), is_atom);
        for result in [store, search] {
            match result {
                Ok(cmd) => {
                    prop_assert!(is_atom, "non-atom keyword {:?} accepted", keyword);
                    let split = assert_one_command(&cmd, &opts)?;
                    prop_assert!(split.literals.is_empty());
                    let text = String::from_utf8(cmd.to_bytes()).unwrap();
                    prop_assert!(text.contains(&keyword));
                }
                Err(Error::InvalidInput { .. }) => prop_assert!(!is_atom),
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }

    #[test]
    fn credentials_cannot_inject(user in nasty_text(), password in nasty_bytes(), opts in options()) {
        let has_nul = user.contains('\0') || password.contains(&0);
        let login = Command::login(user.clone(), Secret::new(password.clone()));
        if let Some(split) = check(login.encode("A1", &opts), has_nul, &opts)? {
            let cmd = login.encode("A1", &opts).unwrap();
            // The password never reaches the trace, in any representation.
            let last = cmd.trace_text().rsplit(' ').next().unwrap();
            let head = last.strip_suffix("<redacted>").expect("redacted password");
            prop_assert!(
                head.is_empty()
                    || (head.starts_with('{')
                        && head.ends_with('}')
                        && head[1..head.len() - 1].trim_end_matches('+').bytes().all(|b| b.is_ascii_digit())),
                "password shown in trace: {}", cmd.trace_text()
            );
            // Arguments read back exactly.
            let bytes = cmd.to_bytes();
            let rest = &bytes[b"A1 LOGIN ".len()..];
            let user_arg = read_astring(rest);
            prop_assert_eq!(&user_arg, &user.as_bytes().to_vec());
            prop_assert!(split.literals.len() <= 2);
        }
        // SASL-IR is BASE64: any bytes, NUL included, are fine.
        let auth = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::new(password.clone())),
        };
        let cmd = auth.encode("A1", &opts).unwrap();
        let split = assert_one_command(&cmd, &opts)?;
        prop_assert!(split.literals.is_empty());
        prop_assert_eq!(cmd.trace_text(), "A1 AUTHENTICATE PLAIN <redacted>");
    }

    #[test]
    fn append_flags_date_and_message(
        flags in prop::collection::vec(nasty_text(), 0..4),
        date in prop_oneof![
            nasty_text(),
            "[ 0-3][0-9]-(Jan|Feb|Mar|Apr|Dec|xyz)-[0-9]{4} [0-2][0-9]:[0-6][0-9]:[0-6][0-9] [+-][0-2][0-9][0-6][0-9]",
        ],
        message in prop::collection::vec(any::<u8>(), 1..200),
        binary in any::<bool>(),
        opts in options(),
    ) {
        let parsed_flags: Vec<Flag> = flags.iter().filter_map(|f| Flag::parse(f).ok()).collect();
        let date = InternalDate::parse(&date).ok();
        if let Some(d) = &date {
            // A parsed date renders in the fixed form and parses back to itself.
            let text = d.to_string();
            prop_assert_eq!(text.len(), 26);
            prop_assert_eq!(InternalDate::parse(&text).unwrap(), *d);
        }
        let cmd = Command::Append {
            mailbox: MailboxName::inbox(),
            flags: parsed_flags,
            date,
            message: message.clone(),
            binary,
        };
        let result = cmd.encode("A1", &opts);
        let refuse = !binary && message.contains(&0);
        match result {
            Err(Error::InvalidInput { .. }) => prop_assert!(refuse),
            Err(e) => prop_assert!(false, "unexpected error {}", e),
            Ok(cmd) => {
                prop_assert!(!refuse);
                let split = assert_one_command(&cmd, &opts)?;
                prop_assert_eq!(split.literals, vec![message]);
            }
        }
    }

    #[test]
    fn multi_append_sends_every_message_as_its_own_literal(
        messages in prop::collection::vec(prop::collection::vec(1u8..=255, 1..120), 1..6),
        flags in prop::collection::vec(nasty_text(), 0..3),
        opts in options(),
    ) {
        let parsed_flags: Vec<Flag> = flags.iter().filter_map(|f| Flag::parse(f).ok()).collect();
        let cmd = Command::MultiAppend {
            mailbox: MailboxName::inbox(),
            messages: messages
                .iter()
                .map(|m| AppendMessage::new(m.clone()).with_flags(parsed_flags.clone()))
                .collect(),
        };
        match cmd.encode("A1", &opts) {
            // Only a flag a client cannot set is refused.
            Err(Error::InvalidInput { .. }) => prop_assert!(parsed_flags.iter().any(|f| !f.is_settable())),
            Err(e) => prop_assert!(false, "unexpected error {}", e),
            Ok(cmd) => {
                let split = assert_one_command(&cmd, &opts)?;
                prop_assert_eq!(split.literals, messages);
            }
        }
    }

    #[test]
    fn sequence_sets_round_trip(
        numbers in prop::collection::vec(prop_oneof![1u32..60, 1u32..=u32::MAX], 0..80),
        open_from in prop::option::of(1u32..100),
        bound in 21usize..120,
    ) {
        let mut set: SequenceSet = numbers.iter().copied().collect();
        if let Some(start) = open_from {
            set = set.union(&SequenceSet::from_start(start));
        }
        if set.is_empty() {
            prop_assert_eq!(set.to_string(), "");
            let cmd = Command::uid_fetch(set.clone(), [mailwire::imap::codec::FetchAttr::Uid]);
            prop_assert!(cmd.encode("A1", &EncodeOptions::new()).is_err());
            return Ok(());
        }
        let wire = set.to_string();
        prop_assert_eq!(wire.len(), set.encoded_len());
        let parsed: SequenceSet = wire.parse().unwrap();
        prop_assert_eq!(&parsed, &set);
        for n in &numbers {
            prop_assert!(set.contains(*n));
        }
        let members: Vec<u32> = set.iter().collect();
        if open_from.is_none() {
            let mut expected = numbers.clone();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(&members, &expected);
            prop_assert_eq!(set.len(), Some(expected.len() as u64));
        }
        // Chunks: each within the bound, disjoint, in order, covering exactly the set.
        let chunks: Vec<SequenceSet> = set.chunks(bound).collect();
        let mut union = SequenceSet::new();
        let mut previous_max: Option<u32> = None;
        for chunk in &chunks {
            prop_assert!(!chunk.is_empty());
            prop_assert!(chunk.to_string().len() <= bound, "{} > {}", chunk, bound);
            if let (Some(prev), Some(first)) = (previous_max, chunk.iter().next()) {
                prop_assert!(first > prev);
            }
            previous_max = chunk.iter().last().or(previous_max);
            union = union.union(chunk);
        }
        prop_assert_eq!(union, set);
    }
}

#[test]
fn splitter_sees_injection() {
    // The test's own splitter must catch what the encoder is meant to prevent.
    assert_eq!(
        split_commands(b"A1 NOOP\r\nA2 LOGOUT\r\n").unwrap().len(),
        2
    );
    assert_eq!(split_commands(b"A1 X {3}\r\na\r\n\r\n").unwrap().len(), 1);
    assert_eq!(split_commands(b"A1 X {3+}\r\nabc Y\r\n").unwrap().len(), 1);
    assert!(split_commands(b"A1 X {30}\r\nabc\r\n").is_err());
    assert!(split_commands(b"A1 NOOP").is_err());
}
