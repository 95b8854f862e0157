//! RBSP extraction (ITU-T H.264 7.4.1, H.265 7.4.2: emulation_prevention_three_byte) and an
//! MSB-first bit reader with Exp-Golomb codes (H.264 9.1).

use super::CodecError;

/// Removes emulation prevention bytes (00 00 03 → 00 00) from a NAL unit payload.
pub fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Bytes of an escaped NAL unit payload (emulation prevention bytes included) that hold its
/// first `rbsp_len` RBSP bytes: where a header measured on the RBSP ends in the NAL unit.
/// `None` when the payload has fewer RBSP bytes.
pub fn escaped_len(nal: &[u8], rbsp_len: usize) -> Option<usize> {
    if rbsp_len == 0 {
        return Some(0);
    }
    let (mut kept, mut zeros) = (0usize, 0);
    for (i, &b) in nal.iter().enumerate() {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        kept += 1;
        if kept == rbsp_len {
            return Some(i + 1);
        }
    }
    None
}

/// Ceil(Log2(n)) (H.264 5.7, H.265 5.8) for the width of `u(v)` fields; 0 for n <= 1.
pub fn ceil_log2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Reads bits MSB-first from an RBSP.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits.
    pos: usize,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// `what` names the structure for errors.
    pub fn new(data: &'a [u8], what: &'static str) -> Self {
        BitReader { data, pos: 0, what }
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn bit(&mut self) -> Result<bool, CodecError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(CodecError::Truncated { what: self.what })?;
        let bit = (byte >> (7 - self.pos % 8)) & 1 != 0;
        self.pos += 1;
        Ok(bit)
    }

    /// Reads `n` <= 32 bits as an unsigned number (`u(n)`).
    pub fn bits(&mut self, n: u32) -> Result<u32, CodecError> {
        debug_assert!(n <= 32);
        let mut v: u32 = 0;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Ok(v)
    }

    /// Reads 8 bits.
    pub fn byte(&mut self) -> Result<u8, CodecError> {
        let v = self.bits(8)?;
        u8::try_from(v).map_err(|_| CodecError::Malformed { what: self.what })
    }

    pub fn flag(&mut self) -> Result<bool, CodecError> {
        self.bit()
    }

    pub fn skip(&mut self, n: usize) -> Result<(), CodecError> {
        if self.pos + n > self.data.len() * 8 {
            return Err(CodecError::Truncated { what: self.what });
        }
        self.pos += n;
        Ok(())
    }

    /// `ue(v)`: unsigned Exp-Golomb (H.264 9.1); values beyond 32 bits are malformed.
    pub fn ue(&mut self) -> Result<u32, CodecError> {
        let mut leading_zero_bits = 0;
        while !self.bit()? {
            leading_zero_bits += 1;
            if leading_zero_bits > 31 {
                return Err(CodecError::Malformed { what: self.what });
            }
        }
        let rest = self.bits(leading_zero_bits)?;
        let v = (1u64 << leading_zero_bits) - 1 + u64::from(rest);
        u32::try_from(v).map_err(|_| CodecError::Malformed { what: self.what })
    }

    /// `se(v)`: signed Exp-Golomb (H.264 9.1.1).
    pub fn se(&mut self) -> Result<i32, CodecError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).map_err(|_| CodecError::Malformed { what: self.what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_emulation_prevention() {
        assert_eq!(
            rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 3]
        );
    }

    #[test]
    fn escaped_lengths() {
        let nal = [0x41, 0, 0, 3, 1, 0x80];
        assert_eq!(escaped_len(&nal, 0), Some(0));
        assert_eq!(escaped_len(&nal, 3), Some(3));
        assert_eq!(escaped_len(&nal, 4), Some(5));
        assert_eq!(escaped_len(&nal, 5), Some(6));
        assert_eq!(escaped_len(&nal, 6), None);
        assert_eq!(
            (ceil_log2(1), ceil_log2(2), ceil_log2(3), ceil_log2(8160)),
            (0, 1, 2, 13)
        );
    }

    #[test]
    fn exp_golomb() {
        // 1 | 010 | 011 | 00100 | 00101 → ue 0, 1, 2, 3; se of 4 is -2.
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data, "test");
        assert_eq!(r.ue(), Ok(0));
        assert_eq!(r.ue(), Ok(1));
        assert_eq!(r.ue(), Ok(2));
        assert_eq!(r.ue(), Ok(3));
        assert_eq!(r.se(), Ok(-2));
        assert!(r.ue().is_err());
    }

    #[test]
    fn too_many_leading_zeros() {
        let data = [0u8; 8];
        assert!(matches!(
            BitReader::new(&data, "t").ue(),
            Err(CodecError::Malformed { .. })
        ));
    }
}
