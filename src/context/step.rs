//! The seed's steps ("How SSL-TLS Works"), the one place their names are written. A state
//! says which step it waits for with a [`Step`]; errors, traces and `awaiting()` print its
//! name, so every message about the handshake uses the same words.

use std::fmt;

/// A step of the handshake, or the traffic that follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Step One: the client's hello.
    ClientHello,
    /// Step Two: the server's hello (or a HelloRetryRequest).
    ServerHello,
    /// TLS 1.3: the encrypted rest of the server's hello.
    EncryptedExtensions,
    /// Step Three: the server's certificate chain.
    ServerCertificate,
    /// Step Four: the server's ephemeral key, signed (TLS 1.2).
    ServerKeyExchange,
    /// Step Five: the server asks for a client certificate.
    CertificateRequest,
    /// TLS 1.2: Step Five, which is optional, or Step Six.
    CertificateRequestOrServerHelloDone,
    /// Step Six: the server's flight ends (TLS 1.2).
    ServerHelloDone,
    /// Step Seven: the client's certificate chain.
    ClientCertificate,
    /// Step Eight: the client's key share (TLS 1.2).
    ClientKeyExchange,
    /// Step Nine: the client proves it holds its certificate's key.
    ClientCertificateVerify,
    /// TLS 1.3: the server signs the handshake with its certificate's key.
    ServerCertificateVerify,
    /// Step Ten: the client switches to the new keys (TLS 1.2).
    ClientChangeCipherSpec,
    /// Step Ten: the client's Finished (TLS 1.2).
    ClientFinished,
    /// Step Eleven: the server switches to the new keys (TLS 1.2).
    ServerChangeCipherSpec,
    /// Step Eleven: the server's Finished (TLS 1.2).
    ServerFinished,
    /// TLS 1.3: the client's Finished, which ends its handshake.
    ClientFinished13,
    /// TLS 1.3: the server's Finished, which ends its flight.
    ServerFinished13,
    /// TLS 1.3, client: the server's verdict on our Finished and certificate, which arrives
    /// after our handshake is complete.
    ServerAnswerToFinished,
    /// Handshake Again (TLS 1.3 post-handshake authentication): the client's certificate.
    AgainClientCertificate,
    /// Handshake Again: the client's CertificateVerify.
    AgainClientCertificateVerify,
    /// Handshake Again: the client's Finished, which ends the new authentication.
    AgainClientFinished,
    /// The handshake is complete: application data flows.
    ApplicationData,
}

impl Step {
    /// The seed's words for this step.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ClientHello => "Step One: ClientHello",
            Self::ServerHello => "Step Two: ServerHello",
            Self::EncryptedExtensions => "EncryptedExtensions (the rest of Step Two)",
            Self::ServerCertificate => "Step Three: ServerCertificate",
            Self::ServerKeyExchange => "Step Four: ServerKeyExchange",
            Self::CertificateRequest => "Step Five: CertificateRequest",
            Self::CertificateRequestOrServerHelloDone => {
                "Step Five: CertificateRequest or Step Six: ServerHelloDone"
            }
            Self::ServerHelloDone => "Step Six: ServerHelloDone",
            Self::ClientCertificate => "Step Seven: Client Certificate",
            Self::ClientKeyExchange => "Step Eight: ClientKeyExchange",
            Self::ClientCertificateVerify => "Step Nine: CertificateVerify",
            Self::ServerCertificateVerify => "the server's CertificateVerify",
            Self::ClientChangeCipherSpec => "Step Ten: ChangeCipherSpec",
            Self::ClientFinished => "Step Ten: the client's Finished",
            Self::ServerChangeCipherSpec => "Step Eleven: ChangeCipherSpec",
            Self::ServerFinished => "Step Eleven: the server's Finished",
            Self::ClientFinished13 => "the client's Finished",
            Self::ServerFinished13 => "the server's Finished",
            Self::ServerAnswerToFinished => "the server's answer to our Finished",
            Self::AgainClientCertificate => "Handshake Again: Client Certificate",
            Self::AgainClientCertificateVerify => "Handshake Again: CertificateVerify",
            Self::AgainClientFinished => "Handshake Again: the client's Finished",
            Self::ApplicationData => "application data",
        }
    }

    /// A step of Handshake Again, after the handshake completed.
    pub const fn is_again(self) -> bool {
        matches!(
            self,
            Self::AgainClientCertificate
                | Self::AgainClientCertificateVerify
                | Self::AgainClientFinished
        )
    }

    /// Our ChangeCipherSpec's step: Step Ten for a client, Step Eleven for a server.
    pub const fn change_cipher_spec(from_client: bool) -> Self {
        if from_client {
            Self::ClientChangeCipherSpec
        } else {
            Self::ServerChangeCipherSpec
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Step> for String {
    fn from(step: Step) -> Self {
        step.name().to_owned()
    }
}
