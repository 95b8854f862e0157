//! The Worker's object store when channel state lives in the channels' objects: state keys
//! through the object named by their channel's storage id ([`StateClient`]), a read round's
//! keys in one request; every other key from the object store as before.

use super::protocol::{StateAnswer, StateOp, StateValue};
use super::{channel_of, is_state_key, spans_both};
use crate::store::{
    forward_objects, Metadata, Object, ObjectInfo, ObjectStore, StoreError, StoreResult,
};
use futures_util::future::join;
use std::ops::Range;

/// Sends a state operation to the object of channel `channel_id` (a Durable Object stub in
/// the Worker, the object itself in tests).
#[allow(async_fn_in_trait)]
pub trait StateClient {
    async fn call(&self, channel_id: &str, op: StateOp) -> StoreResult<StateAnswer>;
}

/// Object store `objects` with channel state through `client`; without a client (state in
/// the object store: `CHANNEL_STATE = "r2"`), every call goes to `objects`.
pub struct Routed<O, C> {
    pub objects: O,
    pub client: Option<C>,
}

fn channel(key: &str) -> StoreResult<&str> {
    channel_of(key).ok_or_else(|| StoreError(format!("{key}: no channel in state key")))
}

fn unexpected(answer: StateAnswer) -> StoreError {
    match answer {
        StateAnswer::Failed { error } => StoreError(format!("channel object: {error}")),
        other => StoreError(format!("channel object: unexpected answer {other:?}")),
    }
}

fn object(v: StateValue) -> Object {
    Object {
        body: v.body.into_bytes(),
        metadata: v.metadata,
    }
}

impl<O: ObjectStore, C: StateClient> Routed<O, C> {
    /// Whether `key` (or a listing prefix) is served by a channel's object.
    fn routes(&self, key: &str) -> bool {
        self.client.is_some() && is_state_key(key)
    }

    async fn call(&self, channel_id: &str, op: StateOp) -> StoreResult<StateAnswer> {
        match &self.client {
            Some(client) => client.call(channel_id, op).await,
            None => Err(StoreError("no channel objects".into())),
        }
    }

    /// State `keys` of one channel, in one request.
    async fn get_state(&self, keys: Vec<String>) -> StoreResult<Vec<Option<Object>>> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let id = channel(first)?.to_owned();
        let n = keys.len();
        match self.call(&id, StateOp::Get { keys }).await? {
            StateAnswer::Values { values } if values.len() == n => {
                Ok(values.into_iter().map(|v| v.map(object)).collect())
            }
            other => Err(unexpected(other)),
        }
    }

    async fn write_state(&self, op: StateOp, key: &str) -> StoreResult<()> {
        match self.call(channel(key)?, op).await? {
            StateAnswer::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn list_state(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let op = StateOp::List {
            prefix: prefix.to_owned(),
        };
        match self.call(channel(prefix)?, op).await? {
            StateAnswer::Listed { objects } => Ok(objects),
            other => Err(unexpected(other)),
        }
    }
}

impl<O: ObjectStore, C: StateClient> ObjectStore for Routed<O, C> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        if !self.routes(key) {
            return self.objects.get(key).await;
        }
        Ok(self
            .get_state(vec![key.to_owned()])
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    /// State keys of one channel in one request to its object, in parallel with the rest.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Object>>> {
        let (state, other): (Vec<_>, Vec<_>) = keys
            .iter()
            .cloned()
            .enumerate()
            .partition(|(_, k)| self.routes(k) && channel_of(k).is_some());
        let first = state
            .first()
            .and_then(|(_, k)| channel_of(k))
            .map(str::to_owned);
        // Keys of other channels than the first (never asked together today) go one by one.
        let (batch, rest): (Vec<_>, Vec<_>) = state
            .into_iter()
            .partition(|(_, k)| channel_of(k) == first.as_deref());
        let other: Vec<_> = other.into_iter().chain(rest).collect();
        let batch_keys: Vec<String> = batch.iter().map(|(_, k)| k.clone()).collect();
        let other_keys: Vec<String> = other.iter().map(|(_, k)| k.clone()).collect();
        let (from_state, from_objects) = join(
            self.get_state(batch_keys),
            futures_util::future::join_all(other_keys.iter().map(|k| self.get(k))),
        )
        .await;
        let mut out: Vec<Option<Object>> = vec![None; keys.len()];
        for ((i, _), o) in batch.into_iter().zip(from_state?) {
            out[i] = o;
        }
        for ((i, _), o) in other.into_iter().zip(from_objects) {
            out[i] = o?;
        }
        Ok(out)
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        if !self.routes(key) {
            return self.objects.put(key, body, metadata).await;
        }
        let body = String::from_utf8(body.to_vec())
            .map_err(|_| StoreError(format!("{key}: channel state holds JSON text only")))?;
        let op = StateOp::Put {
            key: key.to_owned(),
            body,
            metadata: metadata.clone(),
        };
        self.write_state(op, key).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        if !self.routes(key) {
            return self.objects.delete(key).await;
        }
        let op = StateOp::Delete {
            key: key.to_owned(),
        };
        self.write_state(op, key).await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        if self.routes(prefix) {
            return self.list_state(prefix).await;
        }
        if self.client.is_some() && spans_both(prefix) {
            // Only a listing of every channel's state could need this: none is made.
            return Err(StoreError(format!(
                "listing `{prefix}` spans the channels' objects"
            )));
        }
        self.objects.list(prefix).await
    }

    async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
        if self.routes(prefix) || (self.client.is_some() && spans_both(prefix)) {
            let mut all = self.list(prefix).await?;
            all.truncate(max);
            return Ok(all.into_iter().map(|o| o.key).collect());
        }
        self.objects.list_first(prefix, max).await
    }

    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        if !self.routes(key) {
            return self.objects.get_versioned(key).await;
        }
        Ok(self.get(key).await?.map(|o| {
            let v = crate::store::content_version(&o.body);
            (o, v)
        }))
    }

    /// Conditional writes of channel state happen inside the object only (commits run there).
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        if self.routes(key) {
            return Err(StoreError(format!(
                "{key}: channel state is written conditionally in its object only"
            )));
        }
        self.objects
            .put_if_version(key, body, metadata, expected)
            .await
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        if !self.routes(key) {
            return self.objects.head(key).await;
        }
        Ok(self.get(key).await?.map(|o| ObjectInfo {
            key: key.to_owned(),
            size: o.body.len() as u64,
            metadata: o.metadata,
        }))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        if !self.routes(key) {
            return self.objects.get_range(key, range).await;
        }
        Ok(self.get(key).await?.map(|o| {
            let len = o.body.len() as u64;
            let (start, end) = (range.start.min(len), range.end.min(len));
            o.body[start as usize..end.max(start) as usize].to_vec()
        }))
    }

    forward_objects!(objects: create_multipart, upload_part, complete_multipart, abort_multipart);

    /// One request to the channel's object, which drops its rows and the state's copies in
    /// the object store.
    async fn purge_channel_state(&self, channel_id: &str) -> StoreResult<Option<usize>> {
        if self.client.is_none() {
            return self.objects.purge_channel_state(channel_id).await;
        }
        let op = StateOp::Purge {
            channel: channel_id.to_owned(),
        };
        match self.call(channel_id, op).await? {
            StateAnswer::Purged { keys } => Ok(Some(keys)),
            other => Err(unexpected(other)),
        }
    }
}
