//! TLS 1.2 ECDHE key exchange (RFC 8422 §5.4): the ServerKeyExchange parameters and signature.

use super::certificate::DigitallySigned;
use crate::codec::enums::{ECCurveType, NamedGroup};
use crate::codec::{Codec, InvalidMessage, LenWidth, Reader, put_vec_u8};

/// TLS 1.2 ECDHE parameters (RFC 8422 §5.4). Only named curves exist in practice; the
/// encoding is also the server-signed data after the two randoms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdheParams {
    /// The named group.
    pub group: NamedGroup,
    /// The server's public point; never empty.
    pub public: Vec<u8>,
}

impl Codec for EcdheParams {
    fn encode(&self, out: &mut Vec<u8>) {
        ECCurveType::NamedCurve.encode(out);
        self.group.encode(out);
        put_vec_u8(&self.public, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        if ECCurveType::read(r)? != ECCurveType::NamedCurve {
            return Err(InvalidMessage::InvalidValue("ECDHE curve type"));
        }
        let group = NamedGroup::read(r)?;
        let public = r.nonempty_vec(LenWidth::U8, "ECDHE public key")?.to_vec();
        Ok(Self { group, public })
    }
}

/// A TLS 1.2 ECDHE ServerKeyExchange body: parameters and their signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKeyExchangeTls12 {
    /// The key exchange parameters.
    pub params: EcdheParams,
    /// Signature over client_random + server_random + params encoding.
    pub signed: DigitallySigned,
}

impl Codec for ServerKeyExchangeTls12 {
    fn encode(&self, out: &mut Vec<u8>) {
        self.params.encode(out);
        self.signed.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let params = EcdheParams::read(r)?;
        let signed = DigitallySigned::read(r)?;
        Ok(Self { params, signed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::handshake::test_support::*;

    #[test]
    fn ecdhe_params_encoding_is_the_signed_part() {
        let p = ske().params;
        let enc = p.get_encoding();
        assert_eq!(&enc[..4], &[3, 0, 0x17, 65]);
        assert_eq!(enc.len(), 4 + 65);
        assert_eq!(EcdheParams::read_bytes(&enc).unwrap(), p);
    }
}
