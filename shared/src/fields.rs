//! JSON of the control API: request bodies, settings applied onto a resource field by field with
//! range checks (unknown fields are refused so that a typo never passes silently), responses.

use crate::error::{OriginError, OriginResult};
use crate::http::{Request, Response};
use crate::names::Name;
use serde_json::{json, Map, Value};
use std::ops::RangeInclusive;

pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    pub fn new(value: &'a Value) -> OriginResult<Fields<'a>> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                known: Vec::new(),
            }),
            _ => Err(OriginError::BadRequest(
                "the body must be a JSON object".into(),
            )),
        }
    }

    fn take(&mut self, field: &'static str) -> Option<&'a Value> {
        self.known.push(field);
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// An integer setting within `range`.
    pub fn uint(
        &mut self,
        field: &'static str,
        range: RangeInclusive<u64>,
        target: &mut u64,
    ) -> OriginResult<()> {
        if let Some(v) = self.take(field) {
            *target = in_range(field, v, &range)?;
        }
        Ok(())
    }

    /// An integer setting within `range`, or `null` for its automatic value (`None`).
    pub fn optional_uint(
        &mut self,
        field: &'static str,
        range: RangeInclusive<u64>,
        target: &mut Option<u64>,
    ) -> OriginResult<()> {
        if let Some(v) = self.present(field) {
            *target = match v {
                Value::Null => None,
                v => Some(in_range(field, v, &range)?),
            };
        }
        Ok(())
    }

    /// A boolean setting.
    pub fn boolean(&mut self, field: &'static str, target: &mut bool) -> OriginResult<()> {
        if let Some(v) = self.take(field) {
            *target = v
                .as_bool()
                .ok_or_else(|| OriginError::invalid(field, "true or false"))?;
        }
        Ok(())
    }

    /// A string setting that `parse` accepts; `rule` describes the allowed values.
    pub fn parsed<T>(
        &mut self,
        field: &'static str,
        rule: &str,
        parse: impl Fn(&str) -> Option<T>,
        target: &mut T,
    ) -> OriginResult<()> {
        if let Some(v) = self.take(field) {
            let s = v
                .as_str()
                .ok_or_else(|| OriginError::invalid(field, rule))?;
            *target = parse(s).ok_or_else(|| OriginError::invalid(field, rule))?;
        }
        Ok(())
    }

    /// A field's raw value when sent, `null` included (for settings that `null` clears).
    pub fn present(&mut self, field: &'static str) -> Option<&'a Value> {
        self.known.push(field);
        self.map.get(field)
    }

    /// A field that may be sent but must not change (e.g. `name` in a PATCH).
    pub fn fixed(&mut self, field: &'static str, current: &str) -> OriginResult<()> {
        if let Some(v) = self.take(field) {
            if v.as_str() != Some(current) {
                return Err(OriginError::invalid(
                    field,
                    format!("unchanged (`{current}`)"),
                ));
            }
        }
        Ok(())
    }

    /// Ignores read-only fields a client may echo back from a GET.
    pub fn read_only(&mut self, fields: &[&'static str]) {
        self.known.extend_from_slice(fields);
    }

    /// Fails on the first field nobody asked for.
    pub fn finish(self) -> OriginResult<()> {
        match self.map.keys().find(|k| !self.known.contains(&k.as_str())) {
            Some(k) => Err(OriginError::UnknownField {
                field: k.clone(),
                known: self.known.join(", "),
            }),
            None => Ok(()),
        }
    }
}

/// An integer within `range`, or the error naming `field` and the range.
fn in_range(field: &'static str, v: &Value, range: &RangeInclusive<u64>) -> OriginResult<u64> {
    let allowed = || {
        OriginError::invalid(
            field,
            format!("an integer from {} to {}", range.start(), range.end()),
        )
    };
    let n = v.as_u64().ok_or_else(allowed)?;
    if !range.contains(&n) {
        return Err(allowed());
    }
    Ok(n)
}

/// A resource name from the URL path; one that cannot exist is a 404 naming it.
pub fn path_name(s: &str, what: &str) -> OriginResult<Name> {
    Name::parse(s).ok_or_else(|| OriginError::NotFound(format!("{what} {s}")))
}

/// The request's JSON body (`{}` when empty).
pub fn json_body(req: &Request) -> OriginResult<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| OriginError::BadRequest(format!("invalid JSON: {e}")))
}

/// A `200` JSON answer (never cached).
pub fn ok(v: Value) -> Response {
    json_response(200, v)
}

/// A `201` JSON answer (never cached).
pub fn created(v: Value) -> Response {
    json_response(201, v)
}

fn json_response(status: u16, v: Value) -> Response {
    Response::new(status)
        .with_body("application/json", v.to_string())
        .with_header("cache-control", "no-store")
}
