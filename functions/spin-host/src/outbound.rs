//! Outbound HTTP: only to hosts spin.toml's `allowed_outbound_hosts` names (Spin's rule);
//! anything else is refused with `HTTP-request-denied` before a connection is made.

use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub struct Outbound {
    /// Entries as in spin.toml: `scheme://host[:port]`, `*` allowed for any part.
    pub allowed: Arc<Vec<String>>,
}

impl Outbound {
    fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let Some(host) = uri.host() else {
            return false;
        };
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        self.allowed
            .iter()
            .any(|entry| entry_allows(entry, scheme, host, port))
    }
}

fn entry_allows(entry: &str, scheme: &str, host: &str, port: u16) -> bool {
    let Some((e_scheme, rest)) = entry.split_once("://") else {
        return false;
    };
    let (e_host, e_port) = match rest.trim_end_matches('/').rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest.trim_end_matches('/'), None),
    };
    let default_port = match e_scheme {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    let port_ok = match e_port.or(default_port) {
        Some("*") => true,
        Some(p) => p.parse::<u16>().ok() == Some(port),
        None => false,
    };
    let host_ok = e_host == "*"
        || e_host.eq_ignore_ascii_case(host)
        || e_host
            .strip_prefix("*.")
            .is_some_and(|suffix| host.to_ascii_lowercase().ends_with(&format!(".{suffix}")));
    (e_scheme == "*" || e_scheme == scheme) && host_ok && port_ok
}

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        if !self.allows(request.uri()) {
            eprintln!(
                "edgepack-spin-host: outbound request to {} denied (not in allowed_outbound_hosts)",
                request.uri()
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
    }
}

#[cfg(test)]
mod tests {
    use super::entry_allows;

    #[test]
    fn allowed_hosts() {
        assert!(entry_allows(
            "https://s3.example.com",
            "https",
            "s3.example.com",
            443
        ));
        assert!(!entry_allows(
            "https://s3.example.com",
            "http",
            "s3.example.com",
            80
        ));
        assert!(!entry_allows(
            "https://s3.example.com",
            "https",
            "evil.com",
            443
        ));
        assert!(entry_allows(
            "http://127.0.0.1:9000",
            "http",
            "127.0.0.1",
            9000
        ));
        assert!(!entry_allows(
            "http://127.0.0.1:9000",
            "http",
            "127.0.0.1",
            9001
        ));
        assert!(entry_allows(
            "https://*.example.com",
            "https",
            "a.example.com",
            443
        ));
        assert!(!entry_allows(
            "https://*.example.com",
            "https",
            "example.com",
            443
        ));
        assert!(entry_allows("*://*:*", "http", "anything", 1));
    }
}
