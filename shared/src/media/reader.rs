//! A bounds-checked big-endian byte reader. Running out of bytes is reported as
//! [`Short`], which each format maps to its own "need more data" or "malformed" error.

/// The reader ran out of input: `needed` more bytes were required at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short {
    pub offset: usize,
    pub needed: usize,
}

#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if n > self.remaining() {
            return Err(Short {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A reader over the next `n` bytes; this reader moves past them.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, Short> {
        self.take(n).map(Reader::new)
    }

    pub fn skip(&mut self, n: usize) -> Result<(), Short> {
        self.take(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Short> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, Short> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Widens a byte count to a stream offset (lossless on every target we build for).
pub fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reports_missing_bytes() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(
            r.u16(),
            Err(Short {
                offset: 2,
                needed: 1
            })
        );
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn sub_reader_is_bounded() {
        let mut r = Reader::new(&[1, 2, 3, 4]);
        let mut s = r.sub(2).unwrap();
        assert_eq!(
            s.take(3),
            Err(Short {
                offset: 0,
                needed: 1
            })
        );
        assert_eq!(r.u8(), Ok(3));
    }
}
