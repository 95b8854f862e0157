//! The frames a Worker and a channel's Durable Object exchange (a forwarded ingest request,
//! the object's response, a state operation, its answer) and a stored state row. The first
//! byte picks which. Never a panic; whatever decodes encodes again to bytes that decode to the
//! same encoding (nothing is lost or invented between the two sides).
#![no_main]

use edgepack::channel_state::protocol::{decode_response, encode_response};
use edgepack::channel_state::rows::{decode_row, encode_row};
use edgepack::channel_state::{Forwarded, StateAnswer, StateOp};
use libfuzzer_sys::fuzz_target;

/// `decode` then `encode`, twice: the second encoding must equal the first.
fn stable<T>(bytes: &[u8], decode: impl Fn(&[u8]) -> Option<T>, encode: impl Fn(&T) -> Vec<u8>) {
    let Some(value) = decode(bytes) else {
        return;
    };
    let once = encode(&value);
    let again = decode(&once).expect("an encoded frame decodes");
    assert_eq!(encode(&again), once, "a frame changed on its way through");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => stable(
            rest,
            |b| Forwarded::decode(b).ok(),
            |f| f.encode().expect("encodes"),
        ),
        1 => stable(
            rest,
            |b| decode_response(b).ok(),
            |r| encode_response(r).expect("encodes"),
        ),
        2 => stable(
            rest,
            |b| StateOp::decode(b).ok(),
            |o| o.encode().expect("encodes"),
        ),
        3 => stable(
            rest,
            |b| StateAnswer::decode(b).ok(),
            |a| a.encode().expect("encodes"),
        ),
        _ => stable(
            rest,
            |b| decode_row("row", b).ok(),
            |r| encode_row(r).expect("encodes"),
        ),
    }
});
