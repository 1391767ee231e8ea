//! NewSessionTicket bodies: TLS 1.3 (RFC 8446 §4.6.1) and TLS 1.2 (RFC 5077 §3.3).

use crate::codec::extensions::{NewSessionTicketExtension, put_extensions, read_extensions};
use crate::codec::{Codec, InvalidMessage, LenWidth, Reader, put_u32, put_vec_u8, put_vec_u16};

/// A TLS 1.3 NewSessionTicket body (RFC 8446 §4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicketTls13 {
    /// Ticket lifetime in seconds.
    pub lifetime: u32,
    /// Added to the ticket age to obfuscate it.
    pub age_add: u32,
    /// Per-ticket nonce for deriving the PSK.
    pub nonce: Vec<u8>,
    /// The opaque ticket; never empty.
    pub ticket: Vec<u8>,
    /// The extensions (early_data).
    pub extensions: Vec<NewSessionTicketExtension>,
}

impl Codec for NewSessionTicketTls13 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(self.lifetime, out);
        put_u32(self.age_add, out);
        put_vec_u8(&self.nonce, out);
        put_vec_u16(&self.ticket, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime = r.u32("ticket_lifetime")?;
        let age_add = r.u32("ticket_age_add")?;
        let nonce = r.vec_u8("ticket_nonce")?.to_vec();
        let ticket = r.nonempty_vec(LenWidth::U16, "ticket")?.to_vec();
        let extensions = read_extensions(r, "NewSessionTicket extensions")?;
        Ok(Self {
            lifetime,
            age_add,
            nonce,
            ticket,
            extensions,
        })
    }
}

/// A TLS 1.2 NewSessionTicket body (RFC 5077 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicketTls12 {
    /// Lifetime hint in seconds (0: unspecified).
    pub lifetime_hint: u32,
    /// The opaque ticket; may be empty when the server declines to issue one.
    pub ticket: Vec<u8>,
}

impl Codec for NewSessionTicketTls12 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(self.lifetime_hint, out);
        put_vec_u16(&self.ticket, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime_hint = r.u32("ticket_lifetime_hint")?;
        let ticket = r.vec_u16("ticket")?.to_vec();
        Ok(Self {
            lifetime_hint,
            ticket,
        })
    }
}
