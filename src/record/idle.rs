//! The one count of records that cost us work and carry no application data: empty
//! records, warning alerts, KeyUpdates and declined renegotiation attempts. A peer may send a
//! few (they are legal); past [`MAX_IDLE_RECORDS`] in a row it is wasting our CPU.

use crate::error::{Error, Reason};

/// Consecutive warning alerts, empty records or KeyUpdates tolerated without application
/// data in between; past this the peer is wasting our CPU.
pub const MAX_IDLE_RECORDS: u32 = 32;

/// Idle records since the last application data.
#[derive(Debug, Default)]
pub struct IdleRecords(u32);

impl IdleRecords {
    /// Application data arrived: the count starts again.
    pub fn data(&mut self) {
        self.0 = 0;
    }

    /// One more record of `what` (a plural noun: "empty records", "warning alerts")
    /// without application data; an error past the limit.
    pub fn idle(&mut self, what: &str) -> Result<(), Error> {
        self.0 += 1;
        if self.0 > MAX_IDLE_RECORDS {
            return Err(Error::peer(
                Reason::TooManyIdleRecords,
                format!(
                    "the peer sent more than {MAX_IDLE_RECORDS} {what} in a row without application data"
                ),
            ));
        }
        Ok(())
    }

    /// An application-data record of `len` bytes: empty ones count as idle.
    pub fn data_record(&mut self, len: usize) -> Result<(), Error> {
        if len == 0 {
            self.idle("empty records, warning alerts or KeyUpdates")
        } else {
            self.data();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_in_a_row_and_data_resets_it() {
        let mut n = IdleRecords::default();
        for _ in 0..MAX_IDLE_RECORDS {
            n.idle("warning alerts").unwrap();
        }
        n.data_record(1).unwrap();
        for _ in 0..MAX_IDLE_RECORDS {
            n.data_record(0).unwrap();
        }
        let e = n.idle("KeyUpdates").unwrap_err();
        assert!(matches!(e, Error::LimitExceeded(_)));
        assert!(e.to_string().contains("more than 32 KeyUpdates"), "{e}");
    }
}
