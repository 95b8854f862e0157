//! Integer media time: the 33-bit MPEG-TS timestamp and its unwrapping to 64 bits.
//!
//! PTS and DTS are 33-bit counts of a 90 kHz clock (ISO/IEC 13818-1 2.4.3.7); they wrap every
//! 2^33 ticks (about 26.5 hours). Everything downstream works on unwrapped `u64` ticks.

/// The MPEG-TS system clock for PTS/DTS, in ticks per second.
pub const TS_TIMESCALE: u32 = 90_000;

/// One more than the largest 33-bit timestamp: the wrap period in 90 kHz ticks.
pub const TIMESTAMP_WRAP: u64 = 1 << 33;

/// A 33-bit PTS or DTS (ISO/IEC 13818-1 2.4.3.7), 90 kHz ticks modulo 2^33.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp33(u64);

impl Timestamp33 {
    /// Keeps the low 33 bits of `ticks`.
    pub const fn new(ticks: u64) -> Self {
        Timestamp33(ticks & (TIMESTAMP_WRAP - 1))
    }

    /// The raw 33-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The 64-bit value congruent to `self` modulo 2^33 that lies nearest to `reference`
    /// (an unwrapped time close to this one, e.g. the previous timestamp of the stream).
    /// Never goes below zero: near the origin the candidate above is taken.
    pub fn unwrap_near(self, reference: u64) -> u64 {
        let base = reference & !(TIMESTAMP_WRAP - 1);
        let candidate = base | self.0;
        let half = TIMESTAMP_WRAP / 2;
        if candidate > reference.saturating_add(half) && candidate >= TIMESTAMP_WRAP {
            candidate - TIMESTAMP_WRAP
        } else if candidate.saturating_add(half) < reference {
            candidate.saturating_add(TIMESTAMP_WRAP)
        } else {
            candidate
        }
    }
}

/// Unwraps a sequence of 33-bit timestamps into a monotonic-in-the-large 64-bit timeline by
/// taking, for each one, the value nearest the previous result.
#[derive(Debug, Clone, Copy)]
pub struct Unwrapper {
    last: u64,
}

impl Unwrapper {
    /// Starts near `reference` (an unwrapped 90 kHz time, e.g. the timeline's segment start).
    pub const fn new(reference: u64) -> Self {
        Unwrapper { last: reference }
    }

    pub fn unwrap(&mut self, ts: Timestamp33) -> u64 {
        self.last = ts.unwrap_near(self.last);
        self.last
    }
}

/// Rescales `ticks` from timescale `from` to timescale `to`, rounding to nearest.
/// Returns `None` if the result does not fit in 64 bits or `from` is zero.
pub fn rescale(ticks: u64, from: u32, to: u32) -> Option<u64> {
    if from == 0 {
        return None;
    }
    let num = u128::from(ticks) * u128::from(to) + u128::from(from / 2);
    u64::try_from(num / u128::from(from)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_33_bits() {
        assert_eq!(Timestamp33::new(TIMESTAMP_WRAP + 5).get(), 5);
    }

    #[test]
    fn unwrap_across_wrap() {
        let mut u = Unwrapper::new(TIMESTAMP_WRAP - 3000);
        assert_eq!(
            u.unwrap(Timestamp33::new(TIMESTAMP_WRAP - 10)),
            TIMESTAMP_WRAP - 10
        );
        assert_eq!(u.unwrap(Timestamp33::new(20)), TIMESTAMP_WRAP + 20);
        // A timestamp slightly before the wrap, seen after it (B-frame PTS): goes back.
        assert_eq!(
            u.unwrap(Timestamp33::new(TIMESTAMP_WRAP - 5)),
            TIMESTAMP_WRAP - 5
        );
    }

    #[test]
    fn unwrap_near_origin_never_negative() {
        assert_eq!(
            Timestamp33::new(TIMESTAMP_WRAP - 5).unwrap_near(10),
            TIMESTAMP_WRAP - 5
        );
        assert_eq!(Timestamp33::new(7).unwrap_near(0), 7);
    }

    #[test]
    fn unwrap_second_epoch() {
        let reference = 3 * TIMESTAMP_WRAP + 100;
        assert_eq!(
            Timestamp33::new(50).unwrap_near(reference),
            3 * TIMESTAMP_WRAP + 50
        );
        assert_eq!(
            Timestamp33::new(TIMESTAMP_WRAP - 50).unwrap_near(reference),
            3 * TIMESTAMP_WRAP - 50
        );
    }

    #[test]
    fn rescale_rounds() {
        assert_eq!(rescale(1920, 90_000, 48_000), Some(1024));
        assert_eq!(rescale(2090, 90_000, 44_100), Some(1024));
        assert_eq!(rescale(1, 0, 1), None);
    }
}
