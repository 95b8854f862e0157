//! The rows channel state is persisted in: one per rendition (both inputs' timelines of it and
//! its claims, so a commit, which writes its own timeline and maybe a claim or deletes released
//! claims, writes one row), one for the switch log. A row's body is the JSON of its keys'
//! bodies and metadata.

use crate::store::{Metadata, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Where an object's rows live: SQLite storage in a Durable Object (durable before the
/// object answers), [`MemoryRows`] in tests. Synchronous, as the Durable Object SQL API is.
pub trait RowStorage {
    /// Every row, by name.
    fn load(&self) -> StoreResult<Vec<(String, Vec<u8>)>>;
    /// Replaces (or creates) row `name`.
    fn write(&self, name: &str, body: &[u8]) -> StoreResult<()>;
    /// Removes every row (a deleted channel's object: nothing of it stays stored).
    fn clear(&self) -> StoreResult<()>;
}

/// The row a state key is persisted in: `r/{rendition}` for a timeline or claim,
/// `switch` for the switch log, the key itself for any other state key.
pub fn row_of(key: &str) -> String {
    let rendition = if let Some(rest) = key.strip_prefix("idx/") {
        // idx/{id}/{input}/{rendition}.json
        rest.splitn(3, '/')
            .nth(2)
            .and_then(|r| r.strip_suffix(".json"))
    } else if let Some(rest) = key.strip_prefix("fa/") {
        // fa/{id}/{rendition}/{n}
        rest.split_once('/')
            .and_then(|(_, r)| r.rsplit_once('/'))
            .map(|(r, _)| r)
    } else {
        None
    };
    match rendition {
        Some(r) => format!("r/{r}"),
        None if key.starts_with("switch/") => "switch".to_owned(),
        None => key.to_owned(),
    }
}

/// One key of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowEntry {
    /// The body (state keys hold JSON text).
    pub body: String,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// A row's keys.
pub type Row = BTreeMap<String, RowEntry>;

pub fn encode_row(row: &Row) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(row).map_err(|e| StoreError(format!("channel state row: {e}")))
}

pub fn decode_row(name: &str, body: &[u8]) -> StoreResult<Row> {
    serde_json::from_slice(body).map_err(|e| StoreError(format!("channel state row {name}: {e}")))
}

/// Rows in memory, counting what a Durable Object would bill: rows written, rows read.
#[derive(Debug, Default)]
pub struct MemoryRows {
    rows: RefCell<BTreeMap<String, Vec<u8>>>,
    pub written: Cell<u64>,
    pub read: Cell<u64>,
    /// Writes fail while set (a storage failure).
    pub failing: Cell<bool>,
}

impl RowStorage for MemoryRows {
    fn load(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let rows = self.rows.borrow();
        self.read.set(self.read.get() + rows.len() as u64);
        Ok(rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn write(&self, name: &str, body: &[u8]) -> StoreResult<()> {
        if self.failing.get() {
            return Err(StoreError("row storage failing".into()));
        }
        self.written.set(self.written.get() + 1);
        self.rows
            .borrow_mut()
            .insert(name.to_owned(), body.to_vec());
        Ok(())
    }

    fn clear(&self) -> StoreResult<()> {
        if self.failing.get() {
            return Err(StoreError("row storage failing".into()));
        }
        // A deleted row is billed as a row written.
        let mut rows = self.rows.borrow_mut();
        self.written.set(self.written.get() + rows.len() as u64);
        rows.clear();
        Ok(())
    }
}

impl MemoryRows {
    /// How many rows are stored.
    pub fn len(&self) -> usize {
        self.rows.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.borrow().is_empty()
    }
}

impl<R: RowStorage> RowStorage for &R {
    fn load(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        (**self).load()
    }
    fn write(&self, name: &str, body: &[u8]) -> StoreResult<()> {
        (**self).write(name, body)
    }
    fn clear(&self) -> StoreResult<()> {
        (**self).clear()
    }
}

impl<R: RowStorage> RowStorage for std::rc::Rc<R> {
    fn load(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        (**self).load()
    }
    fn write(&self, name: &str, body: &[u8]) -> StoreResult<()> {
        (**self).write(name, body)
    }
    fn clear(&self) -> StoreResult<()> {
        (**self).clear()
    }
}
