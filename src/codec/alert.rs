//! Alert and ChangeCipherSpec bodies (RFC 8446 §6, RFC 5246 §7.1).

use super::enums::{AlertDescription, AlertLevel};
use super::{Codec, InvalidMessage, Reader};

/// One alert record body: a level and a description, exactly two bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertMessage {
    /// Warning or fatal. TLS 1.3 ignores the level, but it still occupies the first byte.
    pub level: AlertLevel,
    /// What went wrong (or `close_notify`).
    pub description: AlertDescription,
}

impl Codec for AlertMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.level.encode(out);
        self.description.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let level = AlertLevel::read(r)?;
        let description = AlertDescription::read(r)?;
        Ok(Self { level, description })
    }
}

/// Check a ChangeCipherSpec record body, which must be the single byte `0x01`.
///
/// TLS 1.3 only tolerates this record for middlebox compatibility (RFC 8446 §5), so any
/// other content is an error rather than something to interpret.
pub fn read_change_cipher_spec(body: &[u8]) -> Result<(), InvalidMessage> {
    match body {
        [1] => Ok(()),
        [] => Err(InvalidMessage::MissingData("ChangeCipherSpec")),
        [_] => Err(InvalidMessage::InvalidValue("ChangeCipherSpec")),
        _ => Err(InvalidMessage::TrailingData("ChangeCipherSpec")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trip() {
        let a = AlertMessage {
            level: AlertLevel::Fatal,
            description: AlertDescription::HandshakeFailure,
        };
        let enc = a.get_encoding();
        assert_eq!(enc, [2, 40]);
        assert_eq!(AlertMessage::read_bytes(&enc).unwrap(), a);

        let unknown = AlertMessage::read_bytes(&[7, 250]).unwrap();
        assert_eq!(unknown.level, AlertLevel::Unknown(7));
        assert_eq!(unknown.get_encoding(), [7, 250]);
    }

    #[test]
    fn alert_must_be_two_bytes() {
        assert!(AlertMessage::read_bytes(&[]).is_err());
        assert!(AlertMessage::read_bytes(&[1]).is_err());
        assert_eq!(
            AlertMessage::read_bytes(&[1, 0, 0]),
            Err(InvalidMessage::TrailingData(
                "ferrotls::codec::alert::AlertMessage"
            ))
        );
    }

    #[test]
    fn change_cipher_spec_body() {
        assert_eq!(read_change_cipher_spec(&[1]), Ok(()));
        assert!(read_change_cipher_spec(&[]).is_err());
        assert!(read_change_cipher_spec(&[0]).is_err());
        assert!(read_change_cipher_spec(&[2]).is_err());
        assert!(read_change_cipher_spec(&[1, 1]).is_err());
    }
}
