//! Channel state in a Durable Object per channel (docs/storage.md, "Channel state in a
//! Durable Object"): the object class, its SQLite rows, and the Worker's side (forwarding
//! commits, state reads in one request). The object has no public route: only this Worker
//! reaches it, through the binding.

use crate::{bindings, config, random, sleep};
use edgepack::channel_object::{ChannelObject, ObjectSetup};
use edgepack::channel_state::protocol::{
    decode_response, encode_response, COMMIT_PATH, STATE_PATH,
};
use edgepack::channel_state::{
    CommitHome, Forwarded, RowStorage, StateAnswer, StateClient, StateOp,
};
use edgepack::store::{StoreError, StoreResult};
use std::cell::Cell;
use std::rc::Rc;
use worker::{
    durable_object, Date, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit,
    Response, SqlStorage, SqlStorageValue, State,
};

/// The Durable Object namespace binding (`[[durable_objects.bindings]]` in wrangler.toml).
pub const BINDING: &str = "EDGEPACK_CHANNELS";

/// Where channel state lives (`CHANNEL_STATE`): `r2`, or `durable-object` (the default, and
/// anything else).
pub fn in_objects(env: &Env) -> bool {
    config::string(env, "CHANNEL_STATE").as_deref() != Some("r2")
}

/// The rows of one object: a table of (name, JSON body), one row per rendition and one for
/// the switch log. `WITHOUT ROWID`: the name is the table's key, so writing a row is one row
/// written (no separate index row). The table is made by the first write, and dropped when
/// the channel is purged: a deleted channel's object stores nothing.
struct SqlRows {
    sql: SqlStorage,
    /// Whether the table exists.
    created: Cell<bool>,
}

const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS state_rows (name TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID";
const TABLE_EXISTS: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'state_rows'";

fn sql_failed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("durable object sql {what}: {e}"))
}

impl SqlRows {
    fn exec(&self, what: &str, query: &str, bindings: Vec<SqlStorageValue>) -> StoreResult<()> {
        let bindings = (!bindings.is_empty()).then_some(bindings);
        self.sql
            .exec(query, bindings)
            .map(|_| ())
            .map_err(|e| sql_failed(what, e))
    }
}

impl RowStorage for SqlRows {
    fn load(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let tables = self
            .sql
            .exec(TABLE_EXISTS, None)
            .map_err(|e| sql_failed("schema", e))?;
        if tables.raw().next().is_none() {
            self.created.set(false);
            return Ok(Vec::new());
        }
        self.created.set(true);
        let cursor = self
            .sql
            .exec("SELECT name, body FROM state_rows", None)
            .map_err(|e| sql_failed("select", e))?;
        let mut rows = Vec::new();
        for row in cursor.raw() {
            match row.map_err(|e| sql_failed("row", e))?.as_slice() {
                [SqlStorageValue::String(name), SqlStorageValue::String(body)] => {
                    rows.push((name.clone(), body.clone().into_bytes()));
                }
                _ => return Err(sql_failed("row", "unexpected columns")),
            }
        }
        Ok(rows)
    }

    fn write(&self, name: &str, body: &[u8]) -> StoreResult<()> {
        let body = String::from_utf8(body.to_vec()).map_err(|e| sql_failed("write", e))?;
        if !self.created.get() {
            self.exec("create", CREATE, Vec::new())?;
            self.created.set(true);
        }
        self.exec(
            "write",
            "INSERT INTO state_rows (name, body) VALUES (?, ?) \
             ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            vec![
                SqlStorageValue::String(name.to_owned()),
                SqlStorageValue::String(body),
            ],
        )
    }

    fn clear(&self) -> StoreResult<()> {
        self.exec("drop", "DROP TABLE IF EXISTS state_rows", Vec::new())?;
        self.created.set(false);
        Ok(())
    }
}

/// One channel's object: named by the channel's storage id.
#[durable_object(fetch)]
pub struct EdgepackChannel {
    env: Env,
    object: ChannelObject<SqlRows>,
}

impl DurableObject for EdgepackChannel {
    fn new(state: State, env: Env) -> Self {
        let rows = SqlRows {
            sql: state.storage().sql(),
            created: Cell::new(false),
        };
        EdgepackChannel {
            env,
            object: ChannelObject::new(rows),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        let body = req.bytes().await?;
        let (kv, objects) = match bindings(&self.env) {
            Ok(stores) => stores,
            Err(_) => return Response::error("bindings missing", 500),
        };
        let answer = match path.as_str() {
            COMMIT_PATH => {
                let forwarded = match Forwarded::decode(&body) {
                    Ok(f) => f,
                    Err(e) => return Response::error(e.to_string(), 400),
                };
                let setup = ObjectSetup::new(config::from_env(&self.env), random, sleep);
                let stores = (&kv, &objects);
                let now = Date::now().as_millis();
                let committed = self.object.commit(stores, &setup, forwarded, now).await;
                encode_response(&committed)
            }
            STATE_PATH => {
                let answer = match StateOp::decode(&body) {
                    Ok(op) => self.object.state_op(&objects, op).await,
                    Err(e) => StateAnswer::Failed { error: e.0 },
                };
                answer.encode()
            }
            _ => return Response::error("not found", 404),
        };
        match answer {
            Ok(bytes) => Ok(Response::from_bytes(bytes)?),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}

/// Sends `body` to `path` in the object of channel `channel_id`; the answer's bytes.
async fn call(
    namespace: &ObjectNamespace,
    channel_id: &str,
    path: &str,
    body: Vec<u8>,
) -> StoreResult<Vec<u8>> {
    let failed = |e: worker::Error| StoreError(format!("durable object {path}: {e}"));
    let stub = namespace
        .id_from_name(channel_id)
        .and_then(|id| id.get_stub())
        .map_err(failed)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(
        worker::js_sys::Uint8Array::from(body.as_slice()).into(),
    ));
    // The host is never resolved: a stub's fetch goes to the object.
    let req = Request::new_with_init(&format!("https://channel{path}"), &init).map_err(failed)?;
    let mut response = stub.fetch_with_request(req).await.map_err(failed)?;
    let bytes = response.bytes().await.map_err(failed)?;
    if response.status_code() != 200 {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return Err(StoreError(format!(
            "durable object {path}: {} {text}",
            response.status_code()
        )));
    }
    Ok(bytes)
}

/// The Worker's [`StateClient`]: one request to the channel's object per operation.
pub struct ObjectClient(pub ObjectNamespace);

impl StateClient for ObjectClient {
    async fn call(&self, channel_id: &str, op: StateOp) -> StoreResult<StateAnswer> {
        let bytes = call(&self.0, channel_id, STATE_PATH, op.encode()?).await?;
        StateAnswer::decode(&bytes)
    }
}

/// The Worker's forwarding of committing ingest requests to the channel's object (which
/// reads its own clock).
pub fn commit_home(namespace: ObjectNamespace) -> CommitHome {
    let namespace = Rc::new(namespace);
    Rc::new(move |channel_id, forwarded: Forwarded, _now_ms| {
        let namespace = namespace.clone();
        Box::pin(async move {
            let bytes = call(&namespace, &channel_id, COMMIT_PATH, forwarded.encode()?).await?;
            decode_response(&bytes)
        })
    })
}
