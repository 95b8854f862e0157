//! A key provider's answer (CPIX 2.3) read against a request for two keys and four systems,
//! and against a one-key AES-128 request: never a panic; a key read is 16 bytes and every
//! PSSH kept is a `pssh` box.
#![no_main]

use edgepack::drm::cpix::{check_pssh, parse_response, KeyRequest, RequestedKey};
use edgepack::drm::{DrmSystem, Kid, Scheme, TrackType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let multi = KeyRequest {
        content_id: "demo-live".into(),
        scheme: Scheme::Cbcs,
        period_index: Some(5),
        keys: vec![
            RequestedKey {
                kid: Kid([0x11; 16]),
                tracks: vec![TrackType::Video],
            },
            RequestedKey {
                kid: Kid([0x22; 16]),
                tracks: vec![TrackType::Audio],
            },
        ],
        systems: vec![
            DrmSystem::Widevine,
            DrmSystem::PlayReady,
            DrmSystem::FairPlay,
            DrmSystem::ClearKey,
        ],
    };
    let aes = KeyRequest {
        scheme: Scheme::Cbc1,
        period_index: None,
        keys: vec![RequestedKey {
            kid: Kid([0x11; 16]),
            tracks: vec![TrackType::Video, TrackType::Audio],
        }],
        systems: vec![DrmSystem::Aes128],
        ..multi.clone()
    };
    for req in [&multi, &aes] {
        if let Ok(r) = parse_response(data, req) {
            assert_eq!(r.keys.len(), req.keys.len());
            for k in &r.keys {
                for s in &k.systems {
                    if let Some(p) = &s.pssh {
                        assert!(check_pssh(p, s.system).is_ok());
                    }
                }
            }
        }
    }
});
