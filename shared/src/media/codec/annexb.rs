//! Annex B byte stream NAL unit splitting (ITU-T H.264 Annex B, H.265 Annex B).

/// Position of the first `00 00 01` start code prefix at or after `from`.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    // Scan 8 bytes at a time for a zero byte; start codes need two.
    while i + 2 < data.len() {
        if let Some(chunk) = data.get(i..i + 8) {
            let w = u64::from_le_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            let has_zero = w.wrapping_sub(0x0101_0101_0101_0101) & !w & 0x8080_8080_8080_8080;
            if has_zero == 0 {
                i += 7;
                continue;
            }
        }
        match (data[i], data[i + 1], data[i + 2]) {
            (0, 0, 1) => return Some(i),
            (_, 0, 0) => i += 1,
            (_, _, 0) => i += 2,
            _ => i += 3,
        }
    }
    None
}

/// Iterates the NAL units of an Annex B byte stream as (offset in the input, bytes); the
/// bytes exclude the start code and trailing zero bytes (`trailing_zero_8bits`). Bytes before
/// the first start code are skipped.
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    data: &'a [u8],
    next: Option<usize>,
}

impl<'a> NalUnits<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        NalUnits {
            data,
            next: find_start_code(data, 0).map(|p| p + 3),
        }
    }
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        loop {
            let start = self.next?;
            let end = match find_start_code(self.data, start) {
                Some(p) => {
                    self.next = Some(p + 3);
                    p
                }
                None => {
                    self.next = None;
                    self.data.len()
                }
            };
            let mut nal = &self.data[start..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            if !nal.is_empty() {
                return Some((start, nal));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 9, 0xF0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 0, 0,
            3, 0, 5,
        ];
        let nals: Vec<&[u8]> = NalUnits::new(&data).map(|(_, n)| n).collect();
        assert_eq!(
            nals,
            vec![
                &[9, 0xF0][..],
                &[0x67, 1, 2],
                &[0x68, 3],
                &[0x65, 0, 0, 3, 0, 5]
            ]
        );
    }

    #[test]
    fn long_runs_without_zero() {
        let mut data = vec![0, 0, 1, 0x65];
        data.extend(std::iter::repeat_n(0xAB, 100));
        data.extend_from_slice(&[0, 0, 1, 0x41, 7]);
        let nals: Vec<&[u8]> = NalUnits::new(&data).map(|(_, n)| n).collect();
        assert_eq!(nals.len(), 2);
        assert_eq!(nals[0].len(), 101);
        assert_eq!(nals[1], &[0x41, 7]);
    }

    #[test]
    fn no_start_code() {
        assert_eq!(NalUnits::new(&[1, 2, 3]).count(), 0);
        assert_eq!(NalUnits::new(&[]).count(), 0);
        assert_eq!(NalUnits::new(&[0, 0, 1]).count(), 0);
    }
}
