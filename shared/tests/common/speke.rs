//! A fake SPEKE v2.0 key provider for the encryption suites: `testing::on_fetch` handlers that
//! answer the origin's CPIX request with keys derived from its KIDs ([`key_of`]).

use edgepack::content_keys::forget_cached_keys;
use edgepack::testing::{fetched, on_fetch, FakeAnswer};
use edgepack::{FetchRequest, FetchResponse};

/// The key provider URL the encrypted endpoints of the suites name.
pub const PROVIDER: &str = "https://keys.example.com/speke/v2";

/// The fake provider's key for a KID (32 hex digits): the KID's bits flipped.
pub fn key_of(kid_hex: &str) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = !u8::from_str_radix(&kid_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    k
}

pub fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Attribute values `name="..."` of `<cpix:{element} ...>` elements, in document order.
pub fn attrs<'a>(xml: &'a str, element: &str, name: &str) -> Vec<&'a str> {
    xml.split(&format!("<cpix:{element} "))
        .skip(1)
        .filter_map(|e| {
            let start = e.find(&format!("{name}=\""))? + name.len() + 2;
            Some(&e[start..start + e[start..].find('"')?])
        })
        .collect()
}

/// A `<cpix:ContentKey>` of `kid` (a GUID) holding `key`; `extra` is inserted as attributes.
pub fn content_key(kid: &str, extra: &str, key: &[u8]) -> String {
    format!(
        "<cpix:ContentKey kid=\"{kid}\"{extra}><cpix:Data><pskc:Secret><pskc:PlainValue>{}</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>",
        b64(key)
    )
}

/// A 200 answer: a CPIX 2.3 document for `content_id` with these `<cpix:ContentKey>` and
/// `<cpix:ContentKeyUsageRule>` elements.
pub fn cpix_answer(content_id: &str, keys: &str, rules: &str) -> FakeAnswer {
    FakeAnswer::Respond(FetchResponse {
        status: 200,
        body: format!(
            "<?xml version=\"1.0\"?><cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\" xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" contentId=\"{content_id}\" version=\"2.3\"><cpix:ContentKeyList>{keys}</cpix:ContentKeyList><cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList></cpix:CPIX>"
        )
        .into_bytes(),
    })
}

/// Starts a provider on this thread: keys cached by earlier tests and earlier requests are
/// forgotten, then `handler` answers.
pub fn provider_with(handler: impl FnMut(&FetchRequest) -> FakeAnswer + 'static) {
    forget_cached_keys();
    let _ = fetched();
    on_fetch(handler);
}

/// A provider answering every requested KID with [`key_of`], each with the usage rule (track
/// type) the request gave it.
pub fn provider_answering_every_kid() {
    provider_with(|req: &FetchRequest| {
        let body = std::str::from_utf8(&req.body).unwrap();
        let content_id = attrs(body, "CPIX", "contentId")[0];
        let (mut keys, mut rules) = (String::new(), String::new());
        for (kid, rule) in attrs(body, "ContentKey", "kid").iter().zip(attrs(
            body,
            "ContentKeyUsageRule",
            "intendedTrackType",
        )) {
            keys += &content_key(kid, "", &key_of(&kid.replace('-', "")));
            rules +=
                &format!("<cpix:ContentKeyUsageRule kid=\"{kid}\" intendedTrackType=\"{rule}\"/>");
        }
        cpix_answer(content_id, &keys, &rules)
    });
}
