//! The Record Protocol, all of the framing: the deframer (bytes to records), the header
//! layout, the joiner (handshake messages across records), record protection with its
//! sequence numbers and the outgoing queue (the layer), and the idle-record limit. It knows
//! neither protocol version's key schedule nor any handshake state.

pub mod cipher;
pub mod deframer;
pub mod header;
pub mod idle;
pub mod joiner;
pub mod layer;
