//! The SPEKE v2.0 client (`edgepack::drm::cpix`): golden request documents, and answers shaped
//! after AWS's SPEKE v2 documentation (fixtures in `fixtures/speke/`, written by its
//! `make.py`): keys, PSSH, signalling, a KID override, and each way an answer can be wrong.

use edgepack::drm::cpix::{parse_response, request_xml, KeyRequest, RequestedKey};
use edgepack::drm::{DrmError, DrmSystem, Kid, Scheme, TrackType};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speke")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn golden(name: &str, text: &str) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(text, want, "{name} differs (UPDATE_GOLDEN=1 rewrites it)");
}

const V: Kid = Kid([0x11; 16]);
const A: Kid = Kid([0x22; 16]);

/// One key for both track types, as an AES-128 TS endpoint asks.
fn aes128_request() -> KeyRequest {
    KeyRequest {
        content_id: "demo-live".into(),
        scheme: Scheme::Cbc1,
        period_index: None,
        keys: vec![RequestedKey {
            kid: V,
            tracks: vec![TrackType::Video, TrackType::Audio],
        }],
        systems: vec![DrmSystem::Aes128],
    }
}

/// A video and an audio key for four systems in key period 5, as cbcs endpoints will ask.
fn multi_request() -> KeyRequest {
    KeyRequest {
        content_id: "demo-live".into(),
        scheme: Scheme::Cbcs,
        period_index: Some(5),
        keys: vec![
            RequestedKey {
                kid: V,
                tracks: vec![TrackType::Video],
            },
            RequestedKey {
                kid: A,
                tracks: vec![TrackType::Audio],
            },
        ],
        systems: vec![
            DrmSystem::Widevine,
            DrmSystem::PlayReady,
            DrmSystem::FairPlay,
            DrmSystem::ClearKey,
        ],
    }
}

#[test]
fn golden_request_documents() {
    golden("request_aes128.xml", &request_xml(&aes128_request()));
    let multi = request_xml(&multi_request());
    golden("request_multi.xml", &multi);
    // The parts SPEKE v2 requires, spelled out.
    for part in [
        "version=\"2.3\"",
        "contentId=\"demo-live\"",
        "xmlns:cpix=\"urn:dashif:org:cpix\"",
        "commonEncryptionScheme=\"cbcs\"",
        "<cpix:ContentKeyPeriod id=\"keyPeriod_5\" index=\"5\"/>",
        "<cpix:KeyPeriodFilter periodId=\"keyPeriod_5\"/>",
        "intendedTrackType=\"VIDEO\"",
        "intendedTrackType=\"AUDIO\"",
    ] {
        assert!(multi.contains(part), "{part} missing");
    }
    // One DRMSystem per key and system.
    assert_eq!(multi.matches("<cpix:DRMSystem ").count(), 8);
}

#[test]
fn content_id_is_escaped() {
    let mut r = aes128_request();
    r.content_id = "a\"<&".into();
    assert!(request_xml(&r).contains("contentId=\"a&quot;&lt;&amp;\""));
}

#[test]
fn aes128_answer() {
    let r = parse_response(&read("response_aes128.xml"), &aes128_request()).unwrap();
    assert_eq!(r.keys.len(), 1);
    let k = &r.keys[0];
    assert_eq!((k.kid, k.requested), (V, V));
    assert_eq!(k.key, core::array::from_fn(|i| 0x10 + i as u8));
    assert_eq!(k.explicit_iv, None);
    assert_eq!(k.systems.len(), 1);
    assert_eq!(
        k.systems[0].hls_media.as_deref(),
        Some("#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example.com/k\"")
    );
}

#[test]
fn multi_key_answer_with_signalling() {
    let r = parse_response(&read("response_multi.xml"), &multi_request()).unwrap();
    let [v, a] = &r.keys[..] else {
        panic!("two keys")
    };
    assert_eq!((v.kid, a.kid), (V, A));
    assert_eq!(v.tracks, [TrackType::Video]);
    assert_eq!(a.key, core::array::from_fn(|i| 0x20 + i as u8));
    assert_eq!(
        v.explicit_iv,
        Some(core::array::from_fn(|i| 0xa0 + i as u8))
    );
    let systems: Vec<DrmSystem> = v.systems.iter().map(|s| s.system).collect();
    assert_eq!(
        systems,
        [
            DrmSystem::Widevine,
            DrmSystem::PlayReady,
            DrmSystem::FairPlay,
            DrmSystem::ClearKey
        ]
    );
    let wv = &v.systems[0];
    let pssh = wv.pssh.as_ref().unwrap();
    assert_eq!(&pssh[4..8], b"pssh");
    assert!(wv
        .content_protection_data
        .as_ref()
        .unwrap()
        .contains("cenc:pssh"));
    assert!(wv
        .hls_master
        .as_ref()
        .unwrap()
        .starts_with("#EXT-X-SESSION-KEY:"));
    let fp = &v.systems[2];
    assert_eq!(fp.pssh, None);
    assert_eq!(
        fp.uri_ext_x_key.as_deref(),
        Some("skd://11111111-1111-1111-1111-111111111111")
    );
    // The PlayReady box is version 1 with the KID inside.
    let pr = v.systems[1].pssh.as_ref().unwrap();
    assert_eq!(pr[8], 1);
    assert_eq!(&pr[32..48], &V.0);
}

#[test]
fn provider_may_override_the_kid() {
    let r = parse_response(&read("response_kid_override.xml"), &aes128_request()).unwrap();
    assert_eq!(r.keys[0].requested, V);
    assert_eq!(r.keys[0].kid, Kid([0x33; 16]));
}

#[test]
fn wrong_answers_are_typed_errors() {
    let aes = aes128_request();
    let err = |name: &str, req: &KeyRequest| parse_response(&read(name), req).unwrap_err();
    assert_eq!(
        err("response_kid_mismatch.xml", &aes),
        DrmError::KidMismatch {
            kid: "33333333-3333-3333-3333-333333333333".into()
        }
    );
    assert_eq!(
        err("response_short_key.xml", &aes),
        DrmError::KeyLength { kid: V, len: 8 }
    );
    assert_eq!(
        err("response_missing_key.xml", &aes),
        DrmError::MissingKey { kid: V }
    );
    assert!(matches!(
        err("response_bad_pssh.xml", &multi_request()),
        DrmError::BadPssh { kid: V, .. }
    ));
    assert!(matches!(
        err("response_other_content.xml", &aes),
        DrmError::WrongDocument(_)
    ));
    assert!(matches!(
        err("response_malformed.xml", &aes),
        DrmError::MalformedXml(_)
    ));
    // The multi answer lacks nothing the AES-128 request needs, but names a key it did not
    // ask for.
    assert!(matches!(
        err("response_multi.xml", &aes),
        DrmError::KidMismatch { .. }
    ));
    // Another request's answer: the audio key is missing.
    let mut more = multi_request();
    more.keys[1].kid = Kid([0x44; 16]);
    assert!(matches!(
        parse_response(&read("response_aes128.xml"), &more).unwrap_err(),
        DrmError::MissingKey { .. }
    ));
    let huge = vec![b' '; edgepack::drm::cpix::MAX_RESPONSE_BYTES + 1];
    assert!(matches!(
        parse_response(&huge, &aes).unwrap_err(),
        DrmError::TooLarge { .. }
    ));
    for junk in [&b""[..], b"<html>no</html>", b"<cpix:CPIX", b"\xff\xfe"] {
        assert!(parse_response(junk, &aes).is_err(), "{junk:?}");
    }
}

#[test]
fn the_e2e_mock_providers_answer_reads() {
    let r = parse_response(&read("response_mock_multi.xml"), &multi_request()).unwrap();
    assert_eq!(r.keys.len(), 2);
    for k in &r.keys {
        assert_eq!(k.kid, k.requested);
        let systems: Vec<DrmSystem> = k.systems.iter().map(|s| s.system).collect();
        assert_eq!(
            systems,
            [
                DrmSystem::Widevine,
                DrmSystem::PlayReady,
                DrmSystem::FairPlay,
                DrmSystem::ClearKey
            ]
        );
        for s in &k.systems {
            let media = s.hls_media.as_deref().unwrap();
            assert!(media.starts_with("#EXT-X-KEY:METHOD=SAMPLE-AES"), "{media}");
            let has_pssh = s.system != DrmSystem::FairPlay;
            assert_eq!(s.pssh.is_some(), has_pssh);
            assert_eq!(s.uri_ext_x_key.is_some(), !has_pssh);
            if let Some(p) = &s.pssh {
                // Version 1 with the key's KID.
                assert_eq!(&p[32..48], &k.kid.0);
            }
        }
    }
}
