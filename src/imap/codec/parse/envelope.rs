//! The ENVELOPE structure and its address lists.

use super::cursor::{P, push_snug};
use crate::error::Result;
use crate::imap::types::{Envelope, EnvelopeAddress};

impl<'a> P<'a> {
    /// An envelope, built in its box (no 240-byte move afterwards).
    pub(super) fn envelope(&mut self) -> Result<Box<Envelope>> {
        self.enter()?;
        self.require(b'(', "expected ( before the envelope")?;
        // Domino may wrap the envelope in an extra pair.
        self.sp();
        let wrapped = self.eat(b'(');
        let mut e = Box::<Envelope>::default();
        self.sp();
        e.date = self.nstring()?;
        self.sp();
        e.subject = self.nstring()?;
        for list in [
            &mut e.from,
            &mut e.sender,
            &mut e.reply_to,
            &mut e.to,
            &mut e.cc,
            &mut e.bcc,
        ] {
            self.sp();
            *list = self.addresses()?;
        }
        self.sp();
        e.in_reply_to = self.nstring()?;
        self.sp();
        e.message_id = self.nstring()?;
        self.sp();
        self.require(b')', "expected ) after the envelope")?;
        if wrapped {
            self.sp();
            self.eat(b')');
        }
        self.depth -= 1;
        Ok(e)
    }

    pub(super) fn addresses(&mut self) -> Result<Vec<EnvelopeAddress>> {
        let mut out = Vec::new();
        self.address_list(&mut out)?;
        Ok(out)
    }

    pub(super) fn address_list(&mut self, out: &mut Vec<EnvelopeAddress>) -> Result<()> {
        if !self.eat(b'(') {
            return match self.nstring()? {
                None => Ok(()),
                Some(_) => Err(self.err("expected an address list")),
            };
        }
        self.enter()?;
        self.list_rest(None, |p| {
            p.require(b'(', "expected ( before an address")?;
            p.sp();
            if p.peek() == Some(b'(') {
                // Extra parentheses around the addresses (Domino): flatten.
                p.i -= 1;
                return p.address_list(out);
            }
            let mut a = EnvelopeAddress::default();
            for field in [&mut a.name, &mut a.adl, &mut a.mailbox, &mut a.host] {
                p.sp();
                *field = p.nstring()?;
            }
            p.sp();
            p.require(b')', "expected ) after an address")?;
            push_snug(out, a);
            Ok(())
        })?;
        self.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::imap::codec::parse::tests::fetch;
    use crate::imap::types::*;

    #[test]
    fn lenient_extra_parentheses() {
        assert_eq!(
            fetch(b"* 1 FETCH ((UID 11 FLAGS (\\Seen)))\r\n"),
            vec![FetchData::Uid(11), FetchData::Flags(vec![Flag::Seen])]
        );
        let items = fetch(b"* 2 FETCH (ENVELOPE (NIL \"Hi\" (((\"Dom\" NIL \"dom\" \"example.com\"))) NIL NIL NIL NIL NIL NIL NIL))\r\n");
        let FetchData::Envelope(e) = &items[0] else {
            panic!()
        };
        assert_eq!(e.from.len(), 1);
        assert_eq!(e.from[0].host.as_deref(), Some(&b"example.com"[..]));
    }
}
