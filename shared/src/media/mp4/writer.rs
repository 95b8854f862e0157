//! Box serialisation (ISO/IEC 14496-12 4.2): a box body is written through a closure and its
//! `size` patched afterwards; later fields (like `trun.data_offset`) can be patched the same way.

use super::MuxError;

/// A 32-bit field to be filled in once its value is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Slot(usize);

/// Appends big-endian fields and boxes to a byte vector.
#[derive(Debug)]
pub struct BoxWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> BoxWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        BoxWriter { buf }
    }

    /// Bytes written to the underlying buffer so far (including what was there before).
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Reserves a 32-bit field for [`BoxWriter::patch_u32`].
    pub fn slot_u32(&mut self) -> Slot {
        let at = self.buf.len();
        self.u32(0);
        Slot(at)
    }

    pub fn patch_u32(&mut self, slot: Slot, v: u32) {
        self.buf[slot.0..slot.0 + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes a box: `size` (patched), `type`, then the body.
    pub fn boxed<T>(
        &mut self,
        box_type: &[u8; 4],
        body: impl FnOnce(&mut Self) -> Result<T, MuxError>,
    ) -> Result<T, MuxError> {
        let start = self.buf.len();
        let size = self.slot_u32();
        self.bytes(box_type);
        let out = body(self)?;
        let len = u32::try_from(self.buf.len() - start).map_err(|_| MuxError::TooLarge {
            box_type: *box_type,
        })?;
        self.patch_u32(size, len);
        Ok(out)
    }

    /// Writes a FullBox (4.2.2): a box whose body starts with `version` and 24-bit `flags`.
    pub fn full_box<T>(
        &mut self,
        box_type: &[u8; 4],
        version: u8,
        flags: u32,
        body: impl FnOnce(&mut Self) -> Result<T, MuxError>,
    ) -> Result<T, MuxError> {
        self.boxed(box_type, |w| {
            w.u32((u32::from(version) << 24) | (flags & 0x00FF_FFFF));
            body(w)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes_are_patched() {
        let mut buf = Vec::new();
        let mut w = BoxWriter::new(&mut buf);
        w.boxed(b"moof", |w| {
            w.full_box(b"mfhd", 0, 0, |w| {
                w.u32(7);
                Ok(())
            })
        })
        .unwrap();
        assert_eq!(
            buf,
            [
                0, 0, 0, 24, b'm', b'o', b'o', b'f', 0, 0, 0, 16, b'm', b'f', b'h', b'd', 0, 0, 0,
                0, 0, 0, 0, 7
            ]
        );
    }
}
