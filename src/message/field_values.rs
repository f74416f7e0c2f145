//! Structured header values read by small parsers: message ids and dates.

use super::guard;

/// The longest `Date` value handed to mailparse's date parser. A real date with a comment
/// is well under 100 bytes; the parser is linear, the cap only keeps hostile values from
/// reaching it at all.
const MAX_DATE_LEN: usize = 256;

/// The message ids in a `Message-ID` / `In-Reply-To` / `References` value, without angle
/// brackets. Ids outside brackets are taken word by word. Linear in the value.
pub(super) fn message_ids(value: &str) -> Vec<String> {
    if value.contains('<') {
        value
            .split('<')
            .skip(1)
            .filter_map(|s| s.split_once('>').map(|(id, _)| id.trim()))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        value
            .split_whitespace()
            .filter(|w| w.contains('@'))
            .map(str::to_string)
            .collect()
    }
}

/// A `Date` value as Unix seconds (UTC), through mailparse's parser. `None` for a value
/// longer than [`MAX_DATE_LEN`], with a number of more than four digits (no day, year,
/// time or zone has more; mailparse would count a year like 4294967295 up from 2001, four
/// centuries at a time), or without day, month and year.
pub(super) fn parse_date(value: &str) -> Option<i64> {
    if value.len() > MAX_DATE_LEN {
        return None;
    }
    let long_number = value
        .split(|c: char| !c.is_ascii_digit())
        .any(|digits| digits.len() > 4);
    // mailparse skips what comes before the day, and answers 0 (1970) for a value that
    // ends before the year: a day and two more tokens (month, year) must be there.
    let mut tokens = value.split([' ', ':']).filter(|t| !t.is_empty());
    let complete = tokens.by_ref().any(|t| t.parse::<u8>().is_ok())
        && tokens.next().is_some()
        && tokens.next().is_some();
    if long_number || !complete {
        return None;
    }
    guard(|| mailparse::dateparse(value)).ok()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(
            message_ids(" <a@b> <c@d>\t<e@f>"),
            vec!["a@b", "c@d", "e@f"]
        );
        assert_eq!(message_ids("a@b"), vec!["a@b"]);
        assert_eq!(message_ids("<>"), Vec::<String>::new());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("Tue, 01 Oct 2024 14:30:00 +0200"),
            Some(1_727_785_800)
        );
        assert_eq!(
            parse_date("Sun, 02 Oct 2016 07:06:22 -0700 (PDT)"),
            Some(1_475_417_182)
        );
        assert_eq!(parse_date("1 Jan 99999 00:00:00 +0000"), None);
        assert_eq!(parse_date(&"9 ".repeat(200)), None);
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(parse_date("Tue, 01"), None);
        assert_eq!(parse_date("Tue, 01 Oct"), None);
        assert_eq!(parse_date("01 Oct 2024"), Some(1_727_740_800));
    }
}
