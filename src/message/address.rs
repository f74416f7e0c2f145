//! Address headers (`From`, `To`, `Cc`, …): the [`Address`] type and a linear parser for
//! address lists.
//!
//! The parser follows mailparse's `addrparse_header` state by state (display names,
//! quoted names, angle brackets, groups, comments, encoded words), so a list reads as it did,
//! but it runs on the linear tokenizer of [`super::encoded_words`]: mailparse tokenizes the
//! value quadratically (a megabyte of `=?` in `To:` took minutes, 20,000 addresses with
//! encoded names tens of seconds). A list that does not parse falls back to picking out
//! `<…@…>` and bare `…@…` tokens, as before.

use std::fmt;

use super::encoded_words::{Token, decode_value, tokens};

/// One mailbox of an address header: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Address {
    /// The display name, RFC 2047 decoded, if there is one.
    pub name: Option<String>,
    /// The address itself (`local@domain`).
    pub email: String,
}

impl Address {
    /// Builds an address from a display name and an e-mail address.
    pub fn new(name: Option<String>, email: impl Into<String>) -> Address {
        Address {
            name,
            email: email.into(),
        }
    }

    /// The display name, if there is one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address itself (`local@domain`).
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl fmt::Display for Address {
    /// Writes `email`, or `Name <email>` with the name quoted when it needs to be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name.as_deref().filter(|n| !n.is_empty()) {
            None => f.write_str(&self.email),
            Some(name) => {
                let plain = name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c));
                if plain {
                    write!(f, "{name} <{}>", self.email)
                } else {
                    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                    write!(f, "\"{escaped}\" <{}>", self.email)
                }
            }
        }
    }
}

/// The addresses in one raw address header value (after the colon), groups flattened.
/// Linear in the value's length.
pub(super) fn parse_addresses(value: &str) -> Vec<Address> {
    let mut items = items(value);
    match list(&mut items, false) {
        Ok(list) => list,
        Err(()) => fallback_addresses(&decode_value(value)),
    }
}

/// What the list parser reads: the value's tokens, text split into characters.
enum Item<'a> {
    Char(char),
    Whitespace(&'a str),
    Newline(String),
    Word(String),
}

struct Items<'a, I> {
    tokens: I,
    text: std::str::Chars<'a>,
}

fn items(value: &str) -> Items<'_, impl Iterator<Item = Token<'_>>> {
    Items {
        tokens: tokens(value),
        text: "".chars(),
    }
}

impl<'a, I: Iterator<Item = Token<'a>>> Iterator for Items<'a, I> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if let Some(c) = self.text.next() {
                return Some(Item::Char(c));
            }
            match self.tokens.next()? {
                Token::Text(text) => self.text = text.chars(),
                Token::Whitespace(ws) => return Some(Item::Whitespace(ws)),
                Token::Newline(ws) => return Some(Item::Newline(ws)),
                Token::Word(word) => return Some(Item::Word(word)),
            }
        }
    }
}

#[derive(Clone, Copy)]
enum State {
    Initial,
    QuotedName,
    EscapedChar,
    AfterQuotedName,
    BracketedAddr,
    AfterBracketedAddr,
    Unquoted,
    NameWithEncodedWord,
    Comment,
}

fn single(name: Option<String>, addr: String) -> Result<Address, ()> {
    if !addr.contains('@') {
        return Err(());
    }
    Ok(Address {
        name: name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
        email: addr.trim().to_string(),
    })
}

fn trimmed_end(s: String) -> String {
    let len = s.trim_end().len();
    let mut s = s;
    s.truncate(len);
    s
}

/// mailparse's `addrparse_inner`: a list (or, `in_group`, the members of a group up to its
/// `;`), groups flattened into their members. Groups do not nest (that is an error), so
/// this recurses at most once.
fn list<'a>(
    items: &mut impl Iterator<Item = Item<'a>>,
    in_group: bool,
) -> Result<Vec<Address>, ()> {
    let mut result = Vec::new();
    let mut state = State::Initial;
    let mut name: Option<String> = None;
    let mut addr: Option<String> = None;
    let mut post_quote_ws: Option<String> = None;
    let mut comment_return = State::Initial;

    fn push_str(target: &mut Option<String>, s: &str) {
        target.get_or_insert_with(String::new).push_str(s);
    }
    fn push(target: &mut Option<String>, c: char) {
        target.get_or_insert_with(String::new).push(c);
    }

    // mailparse: a list (or a group) with nothing left in it is empty, even an
    // unterminated group.
    let Some(first) = items.next() else {
        return Ok(result);
    };
    let mut next = Some(first);
    // Not a `for` loop: a group's members are read from the same iterator.
    while let Some(item) = next.take().or_else(|| items.next()) {
        match state {
            State::Initial => match item {
                Item::Char(c) if c.is_whitespace() => {}
                Item::Char('"') => {
                    state = State::QuotedName;
                    name = Some(String::new());
                }
                Item::Char('<') => {
                    state = State::BracketedAddr;
                    addr = Some(String::new());
                }
                Item::Char(';') => return if in_group { Ok(result) } else { Err(()) },
                Item::Char(c) => {
                    state = State::Unquoted;
                    addr = Some(c.to_string());
                }
                Item::Whitespace(_) | Item::Newline(_) => {}
                Item::Word(word) => {
                    state = State::NameWithEncodedWord;
                    addr = Some(word);
                }
            },
            State::QuotedName => match item {
                Item::Char('\\') => state = State::EscapedChar,
                Item::Char('"') => state = State::AfterQuotedName,
                Item::Char(c) => push(&mut name, c),
                Item::Whitespace(ws) => push_str(&mut name, ws),
                Item::Newline(ws) | Item::Word(ws) => push_str(&mut name, &ws),
            },
            State::EscapedChar => match item {
                Item::Char(c) => {
                    state = State::QuotedName;
                    push(&mut name, c);
                }
                Item::Whitespace(ws) => {
                    state = State::QuotedName;
                    push_str(&mut name, ws);
                }
                Item::Newline(ws) => {
                    state = State::QuotedName;
                    push_str(&mut name, &ws);
                }
                Item::Word(_) => return Err(()),
            },
            State::AfterQuotedName => match item {
                Item::Char(c) if c.is_whitespace() => push(&mut post_quote_ws, c),
                Item::Char('<') => {
                    state = State::BracketedAddr;
                    addr = Some(String::new());
                }
                Item::Char(':') => {
                    if in_group {
                        return Err(());
                    }
                    result.extend(list(items, true)?);
                    state = State::Initial;
                    name = None;
                }
                Item::Char(c) => {
                    if let Some(ws) = post_quote_ws.take() {
                        push_str(&mut name, &ws);
                    }
                    if c == '"' {
                        state = State::QuotedName;
                    } else {
                        push(&mut name, c);
                    }
                }
                Item::Whitespace(ws) => push_str(&mut post_quote_ws, ws),
                Item::Newline(ws) => push_str(&mut post_quote_ws, &ws),
                Item::Word(word) => {
                    if let Some(ws) = post_quote_ws.take() {
                        push_str(&mut name, &ws);
                    }
                    push_str(&mut name, &word);
                }
            },
            State::BracketedAddr => match item {
                Item::Char('>') => {
                    state = State::AfterBracketedAddr;
                    result.push(single(name.take(), addr.take().unwrap_or_default())?);
                }
                Item::Char(c) => push(&mut addr, c),
                Item::Whitespace(ws) => push_str(&mut addr, ws),
                Item::Newline(ws) => push_str(&mut addr, &ws),
                Item::Word(_) => return Err(()),
            },
            State::AfterBracketedAddr => match item {
                Item::Char(c) if c.is_whitespace() => {}
                Item::Char(',') => state = State::Initial,
                Item::Char(';') => {
                    if in_group {
                        return Ok(result);
                    }
                    state = State::Initial;
                }
                Item::Char('(') => {
                    comment_return = State::AfterBracketedAddr;
                    state = State::Comment;
                }
                Item::Char(_) | Item::Word(_) => return Err(()),
                Item::Whitespace(_) | Item::Newline(_) => {}
            },
            State::NameWithEncodedWord => match item {
                Item::Char('<') => {
                    state = State::BracketedAddr;
                    name = addr.take().map(trimmed_end);
                    addr = Some(String::new());
                }
                Item::Char(':') => {
                    if in_group {
                        return Err(());
                    }
                    result.extend(list(items, true)?);
                    state = State::Initial;
                    addr = None;
                }
                Item::Char(c) => push(&mut addr, c),
                Item::Whitespace(ws) => push_str(&mut addr, ws),
                Item::Newline(ws) | Item::Word(ws) => push_str(&mut addr, &ws),
            },
            State::Unquoted => match item {
                Item::Char('<') => {
                    state = State::BracketedAddr;
                    name = addr.take().map(trimmed_end);
                    addr = Some(String::new());
                }
                Item::Char(',') => {
                    state = State::Initial;
                    result.push(single(
                        None,
                        addr.take().map(trimmed_end).unwrap_or_default(),
                    )?);
                }
                Item::Char(';') => {
                    result.push(single(
                        None,
                        addr.take().map(trimmed_end).unwrap_or_default(),
                    )?);
                    if in_group {
                        return Ok(result);
                    }
                    state = State::Initial;
                }
                Item::Char(':') => {
                    if in_group {
                        return Err(());
                    }
                    result.extend(list(items, true)?);
                    state = State::Initial;
                    addr = None;
                }
                Item::Char('(') => {
                    comment_return = State::Unquoted;
                    state = State::Comment;
                }
                Item::Char(c) => push(&mut addr, c),
                Item::Whitespace(ws) => push_str(&mut addr, ws),
                Item::Newline(ws) => push_str(&mut addr, &ws),
                Item::Word(word) => {
                    state = State::NameWithEncodedWord;
                    push_str(&mut addr, &word);
                }
            },
            State::Comment => {
                if matches!(item, Item::Char(')')) {
                    state = comment_return;
                }
            }
        }
    }
    if in_group {
        return Err(());
    }
    match state {
        State::Unquoted => {
            result.push(single(None, addr.map(trimmed_end).unwrap_or_default())?);
            Ok(result)
        }
        State::Initial | State::AfterBracketedAddr => Ok(result),
        _ => Err(()),
    }
}

/// Picks `<…@…>` and bare `…@…` tokens out of a value that is not a valid address list.
fn fallback_addresses(value: &str) -> Vec<Address> {
    value
        .split([',', ';'])
        .filter_map(|piece| {
            let piece = piece.trim();
            if let Some((before, rest)) = piece.split_once('<') {
                let email = rest.split('>').next().unwrap_or("").trim();
                if !email.contains('@') {
                    return None;
                }
                let name = before.trim().trim_matches('"').trim();
                Some(Address {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    email: email.to_string(),
                })
            } else {
                piece
                    .split_whitespace()
                    .find(|w| w.contains('@'))
                    .map(|w| Address {
                        name: None,
                        email: w
                            .trim_matches(|c| c == '"' || c == '(' || c == ')')
                            .to_string(),
                    })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address::new(name.map(str::to_string), email)
    }

    /// mailparse's reading of the same value (`None` when it refuses the list).
    fn reference(value: &str) -> Option<Vec<Address>> {
        let line = format!("To: {value}");
        let (header, _) = mailparse::parse_header(line.as_bytes()).ok()?;
        let list = mailparse::addrparse_header(&header).ok()?;
        let mut out = Vec::new();
        for a in list.iter() {
            let mut one = |s: &mailparse::SingleInfo| {
                out.push(Address {
                    name: s
                        .display_name
                        .as_ref()
                        .map(|n| n.trim().to_string())
                        .filter(|n| !n.is_empty()),
                    email: s.addr.trim().to_string(),
                })
            };
            match a {
                mailparse::MailAddr::Single(s) => one(s),
                mailparse::MailAddr::Group(g) => g.addrs.iter().for_each(one),
            }
        }
        Some(out)
    }

    fn ours(value: &str) -> Option<Vec<Address>> {
        let line = format!("To: {value}");
        let (header, _) = mailparse::parse_header(line.as_bytes()).ok()?;
        let raw = std::str::from_utf8(header.get_value_raw())
            .ok()?
            .to_string();
        list(&mut items(&raw), false).ok()
    }

    #[test]
    fn lists_parse_like_mailparse() {
        for value in [
            "a@b",
            "Alice Example <alice@example.com>",
            "\"Anna Schmidt\" <anna@example.org>, =?ISO-8859-1?Q?Ren=E9_Fran=E7ois?= <rene@example.fr>",
            "team: bob@example.org, carol@example.org;",
            "=?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>, plain@example.com",
            "\"Doe, Jane\" <jane@example.org>",
            "a@b (comment), c@d",
            "<a@b> (c), \"x \\\" y\" <e@f>",
            "undisclosed-recipients:;",
            "\"q\"tail <a@b>",
            "\"q\" \"r\" <a@b>",
            "no-at-sign",
            "a@b; c@d",
            "g: a@b; h: c@d;",
            "g: h: a@b;;",
            "<a@b> junk",
            "\"unterminated <a@b>",
            // An unterminated group with nothing in it is an empty list, not an error.
            "=?utf-8?q?n=C3=A4?=>:",
            "g:",
            "",
        ] {
            assert_eq!(ours(value), reference(value), "{value:?}");
        }
    }

    #[test]
    fn a_bad_list_falls_back_to_what_looks_like_addresses() {
        assert_eq!(
            parse_addresses("\"Bob\" <bob@x.org>, carol@y.org; junk"),
            vec![addr(Some("Bob"), "bob@x.org"), addr(None, "carol@y.org")]
        );
        assert_eq!(
            fallback_addresses("\"Bob\" <bob@x.org>, carol@y.org; junk"),
            vec![addr(Some("Bob"), "bob@x.org"), addr(None, "carol@y.org")]
        );
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a@b".to_string()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(",".to_string()),
            Just(";".to_string()),
            Just(":".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just(" ".to_string()),
            Just("\r\n ".to_string()),
            Just("=?utf-8?q?n=C3=A4?=".to_string()),
            Just("=?".to_string()),
            Just("@".to_string()),
            "[a-z]{1,3}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        #[test]
        fn ascii_lists_parse_like_mailparse(pieces in prop::collection::vec(piece(), 0..16)) {
            let value = pieces.concat();
            prop_assert_eq!(ours(&value), reference(&value), "{:?}", value);
        }
    }
}
