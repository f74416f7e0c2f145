//! The `CAPA` answer and the APOP timestamp of the greeting.

use super::multiline::content_lines;
use super::trim_ascii_blanks;

/// One capability line: a name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capability {
    /// The name as the server sent it (compare without regard to case).
    pub name: String,
    /// The arguments, split on blanks.
    pub args: Vec<String>,
    /// Everything after the name, trimmed (for free text such as `IMPLEMENTATION`).
    pub raw_args: String,
}

/// How long the server keeps messages (`EXPIRE`, RFC 2449 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expire {
    /// `EXPIRE NEVER`: messages stay until deleted.
    Never,
    /// `EXPIRE n`: messages may be removed n days after they were first retrieved (0:
    /// right after the session in which they were retrieved).
    Days(u32),
}

/// The capabilities listed by `CAPA` (RFC 2449). Names are matched without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    list: Vec<Capability>,
}

impl Capabilities {
    /// The capabilities of `list`, in that order.
    pub(crate) fn from_list(list: Vec<Capability>) -> Capabilities {
        Capabilities { list }
    }

    /// Whether the capability `name` is listed (any case).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The capability `name`, with its arguments.
    pub fn get(&self, name: &str) -> Option<&Capability> {
        self.list.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// All listed capabilities, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = &Capability> {
        self.list.iter()
    }

    /// The mechanisms of the `SASL` capability (empty if absent).
    pub fn sasl_mechanisms(&self) -> Vec<&str> {
        self.get("SASL")
            .map(|c| c.args.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The free text of `IMPLEMENTATION`.
    pub fn implementation(&self) -> Option<&str> {
        self.get("IMPLEMENTATION").map(|c| c.raw_args.as_str())
    }

    /// The `EXPIRE` policy, if listed and understood.
    pub fn expire(&self) -> Option<Expire> {
        let arg = self.get("EXPIRE")?.args.first()?;
        if arg.eq_ignore_ascii_case("NEVER") {
            Some(Expire::Never)
        } else {
            arg.parse().ok().map(Expire::Days)
        }
    }

    /// The minimum number of seconds between logins (`LOGIN-DELAY`), if listed.
    pub fn login_delay(&self) -> Option<u32> {
        self.get("LOGIN-DELAY")?.args.first()?.parse().ok()
    }

    /// Whether commands may be sent without waiting for each answer (`PIPELINING`).
    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// Whether `STLS` (STARTTLS for POP3) is offered.
    pub fn stls(&self) -> bool {
        self.has("STLS")
    }

    /// Whether `TOP` is supported.
    pub fn top(&self) -> bool {
        self.has("TOP")
    }

    /// Whether `UIDL` is supported.
    pub fn uidl(&self) -> bool {
        self.has("UIDL")
    }

    /// Whether `USER` / `PASS` login is offered.
    pub fn user(&self) -> bool {
        self.has("USER")
    }

    /// Whether `-ERR` answers carry response codes (`RESP-CODES`).
    pub fn resp_codes(&self) -> bool {
        self.has("RESP-CODES")
    }

    /// Whether authentication failures carry `[AUTH]` (`AUTH-RESP-CODE`, RFC 3206).
    pub fn auth_resp_code(&self) -> bool {
        self.has("AUTH-RESP-CODE")
    }

    /// Whether the `UTF8` command (RFC 6856) is offered.
    pub fn utf8(&self) -> bool {
        self.has("UTF8")
    }

    /// Whether the server takes UTF-8 user names and passwords in `USER` / `PASS` /
    /// `APOP` once `UTF8` is on: the capability listed as `UTF8 USER` (RFC 6856 §3.1).
    pub fn utf8_user(&self) -> bool {
        self.get("UTF8")
            .is_some_and(|c| c.args.iter().any(|a| a.eq_ignore_ascii_case("USER")))
    }
}

/// Parses the decoded content of a `CAPA` answer, one capability per line. Blank lines are
/// skipped and invalid UTF-8 is replaced, so this never fails.
pub fn parse_capa(content: &[u8]) -> Capabilities {
    Capabilities::from_list(content_lines(content).filter_map(parse_capa_line).collect())
}

/// Parses one line (without its line end) of a `CAPA` answer; `None` for a blank line.
pub(crate) fn parse_capa_line(line: &[u8]) -> Option<Capability> {
    let line = String::from_utf8_lossy(trim_ascii_blanks(line));
    let mut parts = line.splitn(2, [' ', '\t']);
    let name = parts.next().filter(|n| !n.is_empty())?.to_string();
    let raw_args = parts.next().unwrap_or("").trim().to_string();
    let args = raw_args
        .split([' ', '\t'])
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    Some(Capability {
        name,
        args,
        raw_args,
    })
}

/// The APOP timestamp of a greeting: the first `<…>` containing `@` (brackets included), or
/// `None` if the server offers no APOP.
pub fn apop_timestamp(greeting: &str) -> Option<&str> {
    let mut rest = greeting;
    let mut base = 0;
    while let Some(open) = rest.find('<') {
        let after = rest.get(open..)?;
        let close = after.find('>')?;
        let candidate = after.get(..=close)?;
        let inner = candidate.get(1..candidate.len() - 1).unwrap_or("");
        if inner.contains('@') && !inner.contains(['<', ' ', '\t']) {
            return greeting.get(base + open..base + open + close + 1);
        }
        let skip = open + 1;
        base += skip;
        rest = rest.get(skip..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities() {
        let capa = parse_capa(
            b"CAPA\r\ntop\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n\
USER\r\nSASL PLAIN LOGIN  xoauth2\r\nIMPLEMENTATION Dovecot (Ubuntu) ready.\r\n\
EXPIRE 31 USER\r\nLOGIN-DELAY 900\r\nSTLS\r\n\r\nUTF8 USER\n",
        );
        assert!(capa.has("pipelining") && capa.pipelining());
        assert!(capa.has("TOP") && capa.top());
        assert!(capa.uidl() && capa.user() && capa.stls() && capa.utf8());
        assert!(capa.utf8_user());
        assert!(parse_capa(b"UTF8\r\n").utf8() && !parse_capa(b"UTF8\r\n").utf8_user());
        assert!(!parse_capa(b"USER\r\n").utf8_user());
        assert!(capa.resp_codes() && capa.auth_resp_code());
        assert!(!capa.has("APOP"));
        assert_eq!(capa.sasl_mechanisms(), ["PLAIN", "LOGIN", "xoauth2"]);
        assert_eq!(capa.implementation(), Some("Dovecot (Ubuntu) ready."));
        assert_eq!(capa.expire(), Some(Expire::Days(31)));
        assert_eq!(capa.get("expire").unwrap().args, ["31", "USER"]);
        assert_eq!(capa.login_delay(), Some(900));
        assert_eq!(capa.iter().count(), 13);
        assert_eq!(
            parse_capa(b"EXPIRE never\r\n").expire(),
            Some(Expire::Never)
        );
        let none = parse_capa(b"");
        assert!(!none.pipelining() && none.sasl_mechanisms().is_empty());
        assert_eq!(none.expire(), None);
        assert_eq!(none.login_delay(), None);
    }

    #[test]
    fn greeting_timestamp() {
        assert_eq!(
            apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(apop_timestamp("Dovecot ready."), None);
        assert_eq!(apop_timestamp("ready <no-at-sign>"), None);
        assert_eq!(apop_timestamp("ready <unclosed@x"), None);
        assert_eq!(
            apop_timestamp("<v1.2> ready <a <12.3@h> x"),
            Some("<12.3@h>")
        );
        assert_eq!(apop_timestamp("<>"), None);
    }
}
