//! Reads a request body as a stream, bounded by [`MAX_BODY_BYTES`].
//!
//! The stream is read directly rather than through `worker::ByteStream`, which ends the stream
//! silently when the client aborts; here an aborted or failing body is an error, so the core
//! never sees a partial file. Bodies without `Content-Length` (chunked, as ffmpeg sends) work.

use edgepack::adapter::MAX_BODY_BYTES;
use worker::js_sys::{Error, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{ReadableStream, ReadableStreamDefaultReader};

#[derive(Debug)]
pub enum BodyError {
    /// More than [`MAX_BODY_BYTES`], declared or received.
    TooLarge,
    /// The stream failed or ended before the declared length.
    Incomplete(String),
}

/// Reads the whole body. `declared_len` is the request's `Content-Length`, if any.
pub async fn read(
    stream: Option<ReadableStream>,
    declared_len: Option<u64>,
) -> Result<Vec<u8>, BodyError> {
    read_at_most(stream, declared_len, MAX_BODY_BYTES).await
}

/// Reads the whole body if it is at most `max` bytes (an outbound answer has its own bound).
pub async fn read_at_most(
    stream: Option<ReadableStream>,
    declared_len: Option<u64>,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    if declared_len.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let Some(stream) = stream else {
        return match declared_len {
            None | Some(0) => Ok(Vec::new()),
            Some(n) => Err(BodyError::Incomplete(format!(
                "no body, expected {n} bytes"
            ))),
        };
    };
    let reader = ReadableStreamDefaultReader::new(&stream).map_err(|e| incomplete("reader", e))?;
    let capacity = declared_len
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| incomplete("read", e))?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .map_err(|e| incomplete("read result", e))?;
        if done.as_bool() == Some(true) {
            break;
        }
        let value = Reflect::get(&chunk, &JsValue::from_str("value"))
            .map_err(|e| incomplete("read result", e))?;
        let bytes: Uint8Array = value
            .dyn_into()
            .map_err(|v| incomplete("chunk is not bytes", v))?;
        let len = usize::try_from(bytes.length()).unwrap_or(usize::MAX);
        if body.len().saturating_add(len) > max {
            // Stop the upload; the cancel promise's outcome does not matter.
            let _ = reader.cancel();
            return Err(BodyError::TooLarge);
        }
        let start = body.len();
        body.resize(start + len, 0);
        bytes.copy_to(&mut body[start..]);
    }
    match declared_len {
        Some(n) if u64::try_from(body.len()).ok() != Some(n) => Err(BodyError::Incomplete(
            format!("got {} of {n} declared bytes", body.len()),
        )),
        _ => Ok(body),
    }
}

fn incomplete(what: &str, e: JsValue) -> BodyError {
    BodyError::Incomplete(format!("{what}: {}", js_message(&e)))
}

/// The message of a thrown JS value (an `Error`'s `message`, or the value itself).
fn js_message(e: &JsValue) -> String {
    match e.dyn_ref::<Error>() {
        Some(error) => String::from(error.message()),
        None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}
