//! File-type and segment-type boxes: `ftyp` (ISO/IEC 14496-12 4.3) and `styp` (8.16.2), with
//! the CMAF brands of ISO/IEC 23000-19 7.2.

use super::writer::BoxWriter;
use super::MuxError;

/// `ftyp` of a CMAF header: ISO BMFF 6th-edition features, CMAF track file.
pub fn write_ftyp(w: &mut BoxWriter<'_>) -> Result<(), MuxError> {
    w.boxed(b"ftyp", |w| {
        w.bytes(b"iso6"); // major_brand
        w.u32(0); // minor_version
        for brand in [b"iso6", b"cmfc", b"mp41"] {
            w.bytes(brand); // compatible_brands
        }
        Ok(())
    })
}

/// `styp` of a CMAF media segment (`cmfs`), DASH media segment (`msdh`).
pub fn write_styp(w: &mut BoxWriter<'_>) -> Result<(), MuxError> {
    w.boxed(b"styp", |w| {
        w.bytes(b"cmfs");
        w.u32(0);
        for brand in [b"cmfs", b"msdh"] {
            w.bytes(brand);
        }
        Ok(())
    })
}
