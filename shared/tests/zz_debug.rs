mod common;
use common::*;
use edgepack::{Method, Request};
use serde_json::json;
#[test]
fn dbg() {
    let o = origin();
    let creds = setup(&o, json!({"name": "hls", "authorization_code": "edge-code-4Rt9sQ2w"}));
    push_live(&o, 1, &creds, "v", 4);
    let req = Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/2.ts").with_header("authorization", "edge-code-4Rt9sQ2w");
    let r = send(&o, req, T0 + 10_000);
    println!("{} {:?}", r.status, r.headers);
    let req = Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/2.ts").with_header("authorization", "edge-code-4Rt9sQ2w");
    let r = send(&o, req, T0 + 10_000);
    println!("{} {:?}", r.status, r.headers);
}
