//! The probe cdylib: one export that drives the engine (a client configuration, a connection,
//! its ClientHello), so the engine is really linked in, not dropped as unused.

use ferrotls::config::{ConfigBuilder, Role, VerifyMode};
use ferrotls::conn::Connection;

/// Bytes of the ClientHello the engine produces, or 0 on failure.
#[unsafe(no_mangle)]
pub extern "C" fn probe() -> usize {
    let mut builder = ConfigBuilder::new(Role::Client);
    // No trust store needed: this only proves linkage, nothing is ever sent.
    if builder
        .set_verify_mode(VerifyMode::DangerousNoVerify)
        .is_err()
    {
        return 0;
    }
    let Ok(config) = builder.build() else {
        return 0;
    };
    match Connection::new_client(config, Some("example.com")) {
        Ok(conn) => conn.outgoing_len(),
        Err(_) => 0,
    }
}
