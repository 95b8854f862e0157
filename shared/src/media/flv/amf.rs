//! The `onMetaData` script data tag body (FLV v10.1 E.4.4): the string `onMetaData` and an
//! AMF0 ECMA array of the stream's properties (AMF0 specification 2.5 to 2.10).

use super::FlvError;

/// AMF0 type markers (AMF0 2.1).
const NUMBER_MARKER: u8 = 0x00;
const BOOLEAN_MARKER: u8 = 0x01;
const STRING_MARKER: u8 = 0x02;
const ECMA_ARRAY_MARKER: u8 = 0x08;
/// The empty name then `object-end-marker` that close an ECMA array (AMF0 2.5, 2.11).
const OBJECT_END: [u8; 3] = [0x00, 0x00, 0x09];

/// The name of the script data object players read stream properties from (E.5).
pub const ON_METADATA: &str = "onMetaData";

/// A property value of `onMetaData`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmfValue {
    /// AMF0 numbers are IEEE 754 doubles: the format's own type, written as such.
    Number(f64),
    Boolean(bool),
}

/// Appends an AMF0 string (UTF-8, 16-bit length) without its marker: a property name.
fn utf8(out: &mut Vec<u8>, s: &str) -> Result<(), FlvError> {
    let len = u16::try_from(s.len()).map_err(|_| FlvError::OutOfRange {
        field: "AMF0 string length",
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends `onMetaData` followed by an ECMA array of `properties`, in order.
pub fn write_on_metadata(
    out: &mut Vec<u8>,
    properties: &[(&str, AmfValue)],
) -> Result<(), FlvError> {
    out.push(STRING_MARKER);
    utf8(out, ON_METADATA)?;
    out.push(ECMA_ARRAY_MARKER);
    let count = u32::try_from(properties.len()).map_err(|_| FlvError::OutOfRange {
        field: "ECMA array count",
    })?;
    out.extend_from_slice(&count.to_be_bytes()); // ECMAArrayLength (approximate by spec)
    for (name, value) in properties {
        utf8(out, name)?;
        match value {
            AmfValue::Number(n) => {
                out.push(NUMBER_MARKER);
                out.extend_from_slice(&n.to_be_bytes());
            }
            AmfValue::Boolean(b) => {
                out.push(BOOLEAN_MARKER);
                out.push(u8::from(*b));
            }
        }
    }
    out.extend_from_slice(&OBJECT_END);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecma_array_bytes() {
        let mut out = Vec::new();
        write_on_metadata(
            &mut out,
            &[
                ("duration", AmfValue::Number(0.0)),
                ("stereo", AmfValue::Boolean(true)),
            ],
        )
        .unwrap();
        let mut expected = vec![2, 0, 10];
        expected.extend_from_slice(b"onMetaData");
        expected.extend_from_slice(&[8, 0, 0, 0, 2, 0, 8]);
        expected.extend_from_slice(b"duration");
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 6]);
        expected.extend_from_slice(b"stereo");
        expected.extend_from_slice(&[1, 1, 0, 0, 9]);
        assert_eq!(out, expected);
    }
}
