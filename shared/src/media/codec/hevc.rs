//! H.265 (ITU-T H.265): not yet converted; streams are reported as unsupported by the remuxer.
