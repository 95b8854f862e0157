//! Outbound HTTP for the core (`edgepack::Fetch`, used for key providers): the runtime's
//! `fetch`, the answer read through [`crate::body`] within the core's bound. The core's timer
//! bounds the wait; dropping the future abandons the request.

use crate::body::{read_at_most, BodyError};
use edgepack::{FetchError, FetchFuture, FetchRequest, FetchResponse};
use worker::js_sys::Uint8Array;
use worker::{Fetch, Headers, Method, Request, RequestInit, ResponseBody};

pub fn fetch(req: FetchRequest) -> FetchFuture {
    Box::pin(async move {
        let failed = |e: worker::Error| FetchError::Failed(e.to_string());
        let headers = Headers::new();
        for (name, value) in &req.headers {
            headers.set(name, value).map_err(failed)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(req.method.to_owned()))
            .with_headers(headers)
            .with_body(Some(Uint8Array::from(req.body.as_slice()).into()));
        let request = Request::new_with_init(&req.url, &init).map_err(failed)?;
        let response = Fetch::Request(request).send().await.map_err(failed)?;
        let status = response.status_code();
        let body = match response.body() {
            ResponseBody::Empty => Vec::new(),
            ResponseBody::Body(bytes) if bytes.len() > req.max_body => {
                return Err(FetchError::TooLarge)
            }
            ResponseBody::Body(bytes) => bytes.clone(),
            ResponseBody::Stream(stream) => read_at_most(Some(stream.clone()), None, req.max_body)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge => FetchError::TooLarge,
                    BodyError::Incomplete(m) => FetchError::Failed(m),
                })?,
        };
        Ok(FetchResponse { status, body })
    })
}
