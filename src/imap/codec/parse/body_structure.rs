//! BODYSTRUCTURE: single and multipart parts, their parameters and extension data.

use super::cursor::{P, push_snug};
use crate::error::Result;
use crate::imap::meta;
use crate::imap::types::{BodyExtension, BodyStructure};

impl<'a> P<'a> {
    pub(super) fn params(&mut self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            self.nstring()?;
            return Ok(out);
        }
        self.list_rest(None, |p| {
            let key = p.string_text()?;
            p.sp();
            let value = if p.peek() == Some(b')') {
                String::new()
            } else {
                p.string_text()?
            };
            push_snug(&mut out, (key, value));
            Ok(())
        })?;
        Ok(out)
    }

    pub(super) fn more(&mut self) -> bool {
        self.sp();
        !matches!(self.peek(), Some(b')') | None | Some(b'\r') | Some(b'\n'))
    }

    pub(super) fn extension(&mut self, ext: &mut BodyExtension) -> Result<()> {
        if self.more() {
            if self.eat(b'(') {
                self.sp();
                let kind = self.string_text()?;
                self.sp();
                let params = if self.peek() == Some(b')') {
                    Vec::new()
                } else {
                    self.params()?
                };
                self.sp();
                self.require(b')', "expected ) after the disposition")?;
                ext.disposition = Some((kind, params));
            } else if let Some(kind) = self.nstring_text()? {
                ext.disposition = Some((kind, Vec::new()));
            }
        }
        if self.more() {
            if self.eat(b'(') {
                let language = &mut ext.language;
                self.list_rest(None, |p| {
                    language.push(p.string_text()?);
                    Ok(())
                })?;
            } else if let Some(l) = self.nstring_text()? {
                ext.language.push(l);
            }
        }
        if self.more() {
            ext.location = self.nstring_text()?;
        }
        if self.more() {
            let start = self.i;
            while self.more() {
                self.skip_value()?;
            }
            ext.extra = self.b.get(start..self.i).unwrap_or(&[]).to_vec();
        }
        Ok(())
    }

    pub(super) fn body(&mut self) -> Result<BodyStructure> {
        self.enter()?;
        self.require(b'(', "expected ( before a body structure")?;
        self.sp();
        let r = if self.peek() == Some(b'(') {
            // Most multiparts have two parts.
            let mut parts = Vec::with_capacity(2);
            while self.peek() == Some(b'(') {
                parts.push(self.body()?);
                self.sp();
            }
            let subtype = self.lower_text()?;
            let mut params = Vec::new();
            let mut extension = BodyExtension::default();
            if self.more() {
                params = self.params()?;
                self.extension(&mut extension)?;
            }
            BodyStructure::Multipart {
                parts,
                subtype,
                params,
                extension,
            }
        } else {
            let media_type = self.lower_text()?;
            self.sp();
            let subtype = self.lower_text()?;
            self.sp();
            let params = self.params()?;
            self.sp();
            let id = self.nstring_text()?;
            self.sp();
            let description = self.nstring_text()?;
            self.sp();
            let encoding = self.string_text()?;
            self.sp();
            let size = self.lenient_number()?.unwrap_or(0);
            let mut lines = None;
            let mut envelope = None;
            let mut body = None;
            let is_message =
                media_type == "message" && (subtype == "rfc822" || subtype == "global");
            if is_message && self.more() && self.peek() == Some(b'(') {
                // Kept as a message's metadata keeps it (addresses read).
                envelope = Some(Box::new(meta::envelope(*self.envelope()?)));
                self.sp();
                body = Some(Box::new(self.body()?));
                if self.more() {
                    lines = self.lenient_number()?;
                }
            } else if (media_type == "text" || is_message) && self.more() {
                lines = self.lenient_number()?;
            }
            let mut extension = BodyExtension::default();
            if self.more() {
                extension.md5 = self.nstring_text()?;
                self.extension(&mut extension)?;
            }
            BodyStructure::Single {
                media_type,
                subtype,
                params,
                id,
                description,
                encoding,
                size,
                lines: lines.and_then(|l| u32::try_from(l).ok()),
                envelope,
                body,
                extension,
            }
        };
        self.sp();
        self.require(b')', "expected ) after a body structure")?;
        self.depth -= 1;
        Ok(r)
    }

    /// A number where servers also send `NIL` or `-1`: both read as `None`.
    pub(super) fn lenient_number(&mut self) -> Result<Option<u64>> {
        if self.eat(b'-') {
            self.number_u64()?;
            return Ok(None);
        }
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return self.number_u64().map(Some);
        }
        match self.nstring()? {
            None => Ok(None),
            Some(_) => Err(self.err("expected a number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::imap::codec::parse::tests::fetch;
    use crate::imap::types::*;

    #[test]
    fn lenient_negative_line_count() {
        let items = fetch(b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 120 -1 NIL NIL NIL NIL))\r\n");
        let FetchData::BodyStructure(b) = &items[0] else {
            panic!()
        };
        assert!(
            matches!(&**b, BodyStructure::Single { lines: None, size: 120, media_type, subtype, .. } if media_type == "text" && subtype == "plain")
        );
    }
}
