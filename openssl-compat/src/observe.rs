//! The message and info callbacks (`SSL_set_msg_callback`, what `openssl s_client -msg`
//! prints; `SSL_CTX_set_info_callback`, what `-state` prints), fed by the engine's message
//! observer with each protocol message and record header as it crosses the wire.

use std::ffi::c_int;

use ferrotls::conn::WireMessage;

use crate::ssl::Ssl;

/// Install the observer on `ssl`'s new connection when the program has either callback.
pub fn attach(ssl: &mut Ssl) {
    // SAFETY: the SSL's live context.
    let ctx_info = unsafe { &*ssl.ctx }.info_cb;
    let msg = ssl.s.msg_cb;
    if msg.is_none() && ssl.info_cb.is_none() && ctx_info.is_none() {
        return;
    }
    let arg = ssl.s.msg_arg as usize;
    let ptr = ssl as *mut Ssl as usize;
    let Some(conn) = ssl.conn.as_mut() else {
        return;
    };
    conn.set_message_observer(Some(Box::new(move |m: &WireMessage<'_>| {
        // OpenSSL 3.0 reports a received ChangeCipherSpec by its record header only.
        if !m.sent && m.content_type == WireMessage::CHANGE_CIPHER_SPEC {
            return;
        }
        if let Some(cb) = msg {
            // SAFETY: the program's callback with its SSL (live: the connection that
            // reports is owned by it) and argument.
            unsafe {
                cb(
                    c_int::from(m.sent),
                    c_int::from(m.version),
                    c_int::from(m.content_type),
                    m.bytes.as_ptr().cast(),
                    m.bytes.len(),
                    ptr as *mut std::ffi::c_void,
                    arg as *mut std::ffi::c_void,
                )
            };
        }
        match m.content_type {
            WireMessage::HANDSHAKE => crate::ssl::info_loop(ptr as *mut Ssl),
            WireMessage::ALERT if m.bytes.len() == 2 => {
                crate::ssl::info_alert(ptr as *mut Ssl, m.sent, m.bytes[0], m.bytes[1])
            }
            _ => {}
        }
    })));
}
