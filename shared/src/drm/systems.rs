//! DRM system identifiers (DASH-IF registry of `ContentProtection@schemeIdUri` UUIDs; the
//! `systemId` of a CPIX `DRMSystem` and of a `pssh` box, ISO/IEC 23001-7 8.1).

/// A DRM system an endpoint can signal keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DrmSystem {
    Widevine,
    PlayReady,
    FairPlay,
    /// W3C Common PSSH (ClearKey): the open key system of EME, for users without a commercial
    /// DRM and for tests.
    ClearKey,
    /// HLS AES-128 (whole-segment encryption): not a DRM, but the system id a SPEKE key
    /// provider expects when the encryptor asks for an AES-128 key.
    Aes128,
}

impl DrmSystem {
    /// Systems a user may list in `drm_systems`, in their setting spelling.
    pub const SELECTABLE: [DrmSystem; 4] = [
        DrmSystem::Widevine,
        DrmSystem::PlayReady,
        DrmSystem::FairPlay,
        DrmSystem::ClearKey,
    ];
    pub const RULE: &'static str =
        "a list of \"WIDEVINE\", \"PLAYREADY\", \"FAIRPLAY\", \"CLEAR_KEY\" without repeats";

    /// The system id as a UUID string (lower case, as CPIX writes it).
    pub fn system_id(self) -> &'static str {
        match self {
            DrmSystem::Widevine => "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
            DrmSystem::PlayReady => "9a04f079-9840-4286-ab92-e65be0885f95",
            DrmSystem::FairPlay => "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
            DrmSystem::ClearKey => "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b",
            DrmSystem::Aes128 => "81376844-f976-481e-a84e-cc25d39b0b33",
        }
    }

    /// The name in endpoint settings.
    pub fn name(self) -> &'static str {
        match self {
            DrmSystem::Widevine => "WIDEVINE",
            DrmSystem::PlayReady => "PLAYREADY",
            DrmSystem::FairPlay => "FAIRPLAY",
            DrmSystem::ClearKey => "CLEAR_KEY",
            DrmSystem::Aes128 => "AES_128",
        }
    }

    /// A selectable system from its setting name.
    pub fn parse(name: &str) -> Option<DrmSystem> {
        DrmSystem::SELECTABLE.into_iter().find(|s| s.name() == name)
    }

    /// The system whose id is `uuid` (any case).
    pub fn from_system_id(uuid: &str) -> Option<DrmSystem> {
        [
            DrmSystem::Widevine,
            DrmSystem::PlayReady,
            DrmSystem::FairPlay,
            DrmSystem::ClearKey,
            DrmSystem::Aes128,
        ]
        .into_iter()
        .find(|s| s.system_id().eq_ignore_ascii_case(uuid))
    }

    /// The 16 bytes of the system id, as a `pssh` box carries them.
    pub fn system_id_bytes(self) -> [u8; 16] {
        // The constants above are valid UUIDs.
        super::Kid::parse_uuid(self.system_id())
            .map(|k| k.0)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for s in DrmSystem::SELECTABLE {
            assert_eq!(DrmSystem::parse(s.name()), Some(s));
            assert_eq!(DrmSystem::from_system_id(s.system_id()), Some(s));
            assert_ne!(s.system_id_bytes(), [0; 16]);
        }
        assert_eq!(DrmSystem::parse("AES_128"), None);
        assert_eq!(
            DrmSystem::from_system_id("EDEF8BA9-79D6-4ACE-A3C8-27DCD51D21ED"),
            Some(DrmSystem::Widevine)
        );
        assert_eq!(
            DrmSystem::Widevine.system_id_bytes()[..4],
            [0xed, 0xef, 0x8b, 0xa9]
        );
    }
}
