//! Write-time validation of access-control settings: every entry is checked before anything
//! is stored, and each refusal names the field and what is allowed.

use super::{
    AccessControl, CdnAuthorization, IpNet, SigningKey, IP_RULE, MAX_IP_ENTRIES, MAX_REFERERS,
    MAX_SIGNING_KEYS,
};
use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use serde_json::Value;

const CODE_RULE: &str = "null, or 8-256 visible ASCII characters";

impl AccessControl {
    /// Applies the access-control fields of a POST or PATCH body; `null` (or `[]`) clears one.
    pub fn apply(&mut self, fields: &mut Fields<'_>) -> OriginResult<()> {
        if let Some(v) = fields.present("authorization_code") {
            self.authorization_code = match v {
                Value::Null => None,
                v => Some(
                    visible(v, 8, 256)
                        .ok_or_else(|| OriginError::invalid("authorization_code", CODE_RULE))?,
                ),
            };
        }
        if let Some(v) = fields.present("ip_allowlist") {
            let list = ip_list("ip_allowlist", v)?;
            if list.iter().any(IpNet::is_everything) {
                return Err(OriginError::invalid(
                    "ip_allowlist",
                    "specific blocks: an allow-all entry (0.0.0.0/0, ::/0) is refused; an empty list allows every address",
                ));
            }
            self.ip_allowlist = list;
        }
        if let Some(v) = fields.present("ip_blocklist") {
            self.ip_blocklist = ip_list("ip_blocklist", v)?;
        }
        if let Some(v) = fields.present("cdn_authorization") {
            self.cdn_authorization = match v {
                Value::Null => None,
                v => Some(cdn(v)?),
            };
        }
        if let Some(v) = fields.present("signing_keys") {
            self.signing_keys = signing_keys(v)?;
        }
        if let Some(v) = fields.present("referer_allowlist") {
            self.referer_allowlist = referers(v)?;
        }
        Ok(())
    }
}

fn visible(v: &Value, min: usize, max: usize) -> Option<String> {
    let s = v.as_str()?;
    let ok = (min..=max).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    ok.then(|| s.to_owned())
}

fn array<'a>(
    field: &'static str,
    v: &'a Value,
    max: usize,
    rule: &str,
) -> OriginResult<&'a [Value]> {
    let list = match v {
        Value::Null => &[][..],
        Value::Array(a) => a.as_slice(),
        _ => return Err(OriginError::invalid(field, format!("a list of {rule}"))),
    };
    if list.len() > max {
        return Err(OriginError::invalid(
            field,
            format!("at most {max} entries of {rule}"),
        ));
    }
    Ok(list)
}

fn ip_list(field: &'static str, v: &Value) -> OriginResult<Vec<IpNet>> {
    array(field, v, MAX_IP_ENTRIES, IP_RULE)?
        .iter()
        .map(|e| {
            let s = e
                .as_str()
                .ok_or_else(|| OriginError::invalid(field, IP_RULE))?;
            IpNet::parse(s).map_err(|why| OriginError::invalid(field, format!("{IP_RULE}; {why}")))
        })
        .collect()
}

fn cdn(v: &Value) -> OriginResult<CdnAuthorization> {
    const RULE: &str = "null, or {\"header_name\": 1-64 of A-Z a-z 0-9 -, not a standard request header, \"secret\": 16-256 visible ASCII characters}";
    const RESERVED: [&str; 7] = [
        "authorization",
        "x-tencent-package",
        "host",
        "cookie",
        "referer",
        "cf-connecting-ip",
        "content-length",
    ];
    let err = || OriginError::invalid("cdn_authorization", RULE);
    let obj = v.as_object().ok_or_else(err)?;
    if obj.keys().any(|k| k != "header_name" && k != "secret") {
        return Err(err());
    }
    let name = obj
        .get("header_name")
        .and_then(Value::as_str)
        .ok_or_else(err)?;
    let name_ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str());
    if !name_ok {
        return Err(err());
    }
    let secret = obj
        .get("secret")
        .and_then(|s| visible(s, 16, 256))
        .ok_or_else(err)?;
    Ok(CdnAuthorization {
        header_name: name.to_ascii_lowercase(),
        secret,
    })
}

fn signing_keys(v: &Value) -> OriginResult<Vec<SigningKey>> {
    const RULE: &str = "{\"id\": 1-32 of A-Z a-z 0-9 _ -, \"secret\": 16-256 visible ASCII characters}, ids unique";
    let err = || {
        OriginError::invalid(
            "signing_keys",
            format!("at most {MAX_SIGNING_KEYS} keys {RULE}"),
        )
    };
    let mut keys: Vec<SigningKey> = Vec::new();
    for e in array("signing_keys", v, MAX_SIGNING_KEYS, RULE)? {
        let obj = e.as_object().ok_or_else(err)?;
        if obj.keys().any(|k| k != "id" && k != "secret") {
            return Err(err());
        }
        let id = obj.get("id").and_then(Value::as_str).ok_or_else(err)?;
        let id_ok = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let secret = obj.get("secret").and_then(|s| visible(s, 16, 256));
        match secret {
            Some(secret) if id_ok && !keys.iter().any(|k| k.id == id) => keys.push(SigningKey {
                id: id.to_owned(),
                secret,
            }),
            _ => return Err(err()),
        }
    }
    Ok(keys)
}

fn referers(v: &Value) -> OriginResult<Vec<String>> {
    const RULE: &str = "host names (example.com) or wildcard subdomains (*.example.com)";
    let err = || {
        OriginError::invalid(
            "referer_allowlist",
            format!("at most {MAX_REFERERS} {RULE}"),
        )
    };
    array("referer_allowlist", v, MAX_REFERERS, RULE)?
        .iter()
        .map(|e| {
            let s = e.as_str().ok_or_else(err)?.to_ascii_lowercase();
            let host = s.strip_prefix("*.").unwrap_or(&s);
            let ok = (1..=253).contains(&host.len())
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if ok {
                Ok(s)
            } else {
                Err(err())
            }
        })
        .collect()
}
