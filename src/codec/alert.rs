//! Handshake messages (filled in by the codec work).
