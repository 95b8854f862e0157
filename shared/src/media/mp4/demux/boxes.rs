//! Box headers (ISO/IEC 14496-12 4.2) over borrowed bytes: an iterator over the boxes of a
//! buffer or of a container's body, and field readers whose running out of bytes means the
//! box is too small for its syntax (the box itself is complete).

use super::Fmp4Error;
use crate::media::reader::{len_u64, Reader, Short};

/// Bytes of a compact box header: 32-bit `size` and `type`.
const HEADER_LEN: usize = 8;
/// Bytes of a box header with a 64-bit `largesize` (`size` == 1).
const LARGE_HEADER_LEN: usize = 16;

/// One box: its type, where it starts in the whole input, and its body (after the header).
#[derive(Debug, Clone, Copy)]
pub(super) struct BoxRef<'a> {
    pub box_type: [u8; 4],
    /// Offset of the box's first byte in the input.
    pub offset: usize,
    /// Offset of the body's first byte in the input.
    pub body_offset: usize,
    pub body: &'a [u8],
}

impl<'a> BoxRef<'a> {
    /// Offset just past the box in the input.
    pub fn end(&self) -> usize {
        self.body_offset + self.body.len()
    }

    /// A reader over the body; its positions are relative to [`BoxRef::body_offset`].
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.body)
    }

    /// The boxes inside this container's body, after `skip` bytes of its own fields.
    pub fn children(&self, skip: usize) -> Result<Boxes<'a>, Fmp4Error> {
        let body = self
            .body
            .get(skip..)
            .ok_or_else(|| self.malformed("box too small"))?;
        Ok(Boxes::nested(body, self.body_offset + skip, self.box_type))
    }

    /// A FullBox (4.2.2): `version`, 24-bit `flags`, and a reader after them.
    pub fn full(&self) -> Result<(u8, u32, Reader<'a>), Fmp4Error> {
        let mut r = self.reader();
        let v = self.field(r.u32())?;
        Ok((v.to_be_bytes()[0], v & 0x00FF_FFFF, r))
    }

    /// Maps a short read inside the body to [`Fmp4Error::Malformed`]: the box is complete,
    /// so it is too small for the fields its syntax (and flags) call for.
    pub fn field<T>(&self, read: Result<T, Short>) -> Result<T, Fmp4Error> {
        read.map_err(|_| self.malformed("box too small for its fields"))
    }

    pub fn malformed(&self, what: &'static str) -> Fmp4Error {
        Fmp4Error::Malformed {
            box_type: self.box_type,
            offset: len_u64(self.offset),
            what,
        }
    }

    pub fn unsupported(&self, what: &'static str) -> Fmp4Error {
        Fmp4Error::Unsupported {
            box_type: self.box_type,
            offset: len_u64(self.offset),
            what,
        }
    }
}

/// A 64-bit big-endian field.
pub(super) fn u64_field(r: &mut Reader<'_>) -> Result<u64, Short> {
    let hi = r.u32()?;
    let lo = r.u32()?;
    Ok((u64::from(hi) << 32) | u64::from(lo))
}

/// A four-character code.
pub(super) fn fourcc(r: &mut Reader<'_>) -> Result<[u8; 4], Short> {
    let b = r.take(4)?;
    Ok([b[0], b[1], b[2], b[3]])
}

/// Iterates the boxes of a buffer. At the top level a box that runs past the end of the
/// input means the input was cut short ([`Fmp4Error::Truncated`]); inside a complete
/// container it means the child's size is wrong ([`Fmp4Error::Malformed`]).
#[derive(Debug, Clone)]
pub(super) struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the input.
    base: usize,
    /// The container (`None` at the top level).
    parent: Option<[u8; 4]>,
}

impl<'a> Boxes<'a> {
    /// The top-level boxes of `input`.
    pub fn top_level(input: &'a [u8]) -> Self {
        Boxes {
            data: input,
            pos: 0,
            base: 0,
            parent: None,
        }
    }

    fn nested(data: &'a [u8], base: usize, parent: [u8; 4]) -> Self {
        Boxes {
            data,
            pos: 0,
            base,
            parent: Some(parent),
        }
    }

    fn short(&self, box_type: [u8; 4], offset: usize, needed: usize) -> Fmp4Error {
        match self.parent {
            None => Fmp4Error::Truncated {
                box_type,
                offset: len_u64(offset),
                needed: len_u64(needed),
            },
            Some(parent) => Fmp4Error::Malformed {
                box_type: parent,
                offset: len_u64(offset),
                what: "child box runs past its container",
            },
        }
    }

    fn next_box(&mut self) -> Result<BoxRef<'a>, Fmp4Error> {
        let rest = &self.data[self.pos..];
        let offset = self.base + self.pos;
        let mut r = Reader::new(rest);
        let (size, box_type) = match (r.u32(), fourcc(&mut r)) {
            (Ok(size), Ok(box_type)) => (size, box_type),
            _ => return Err(self.short(*b"\0\0\0\0", offset, HEADER_LEN - rest.len())),
        };
        let (header_len, size) = match size {
            // Extends to the end of the enclosing buffer (4.2.2: the last box of a file).
            0 => (HEADER_LEN, rest.len()),
            1 => match u64_field(&mut r) {
                Ok(large) => (
                    LARGE_HEADER_LEN,
                    usize::try_from(large).unwrap_or(usize::MAX),
                ),
                Err(s) => return Err(self.short(box_type, offset, s.needed)),
            },
            n => (HEADER_LEN, usize::try_from(n).unwrap_or(usize::MAX)),
        };
        if size < header_len {
            return Err(Fmp4Error::Malformed {
                box_type,
                offset: len_u64(offset),
                what: "box size smaller than its header",
            });
        }
        if size > rest.len() {
            return Err(self.short(box_type, offset, size - rest.len()));
        }
        self.pos += size;
        Ok(BoxRef {
            box_type,
            offset,
            body_offset: offset + header_len,
            body: &rest[header_len..size],
        })
    }

    /// The first child of type `box_type`, if any (stops at the first malformed box).
    pub fn find(self, box_type: &[u8; 4]) -> Result<Option<BoxRef<'a>>, Fmp4Error> {
        for b in self {
            let b = b?;
            if &b.box_type == box_type {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<BoxRef<'a>, Fmp4Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        // QuickTime ends some containers with a 32-bit zero terminator: not a box.
        let rest = &self.data[self.pos..];
        if self.parent.is_some() && rest.len() < HEADER_LEN && rest.iter().all(|&b| b == 0) {
            self.pos = self.data.len();
            return None;
        }
        let item = self.next_box();
        if item.is_err() {
            self.pos = self.data.len();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_zero_terminator_ends_the_container() {
        // A container holding one 8-byte box, then a 32-bit zero terminator.
        let data = [
            0, 0, 0, 20, b'u', b'd', b't', b'a', 0, 0, 0, 8, b'f', b'r', b'e', b'e', 0, 0, 0, 0,
        ];
        let udta = Boxes::top_level(&data).next().unwrap().unwrap();
        let kids: Vec<_> = udta.children(0).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(&kids[0].box_type, b"free");
        // Non-zero leftovers are a malformed child; at the top level, a truncated box.
        let mut bad = data;
        bad[19] = 1;
        let udta = Boxes::top_level(&bad).next().unwrap().unwrap();
        let last = udta.children(0).unwrap().last().unwrap();
        assert!(matches!(last, Err(Fmp4Error::Malformed { .. })));
        assert!(matches!(
            Boxes::top_level(&data[16..]).next(),
            Some(Err(Fmp4Error::Truncated { .. }))
        ));
    }
}
