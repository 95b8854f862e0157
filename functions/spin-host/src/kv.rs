//! `fermyon:spin/key-value@2.0.0` backed by one SQLite file, with Spin's own table layout
//! (`spin_key_value(store, key, value)`), so a restart keeps every store.

use crate::bindings::fermyon::spin::key_value::{self, Error};
use crate::state::HostState;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use wasmtime::component::Resource;
use wasmtime::error::Context;

/// Stores this host provides; Spin provides `default` without runtime configuration.
const PROVIDED_STORES: &[&str] = &["default"];

/// The backing database, shared by every request.
pub struct Sqlite(Mutex<Connection>);

impl Sqlite {
    pub fn open(path: &Path) -> wasmtime::Result<Sqlite> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS spin_key_value (
               store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
               PRIMARY KEY (store, key));",
        )
        .context("creating the key-value table")?;
        Ok(Sqlite(Mutex::new(conn)))
    }

    /// Prints the keys of the `default` store, sorted, one per line.
    pub fn print_keys(&self) -> wasmtime::Result<()> {
        let mut keys = self
            .with(|c| {
                let mut stmt =
                    c.prepare("SELECT key FROM spin_key_value WHERE store = 'default'")?;
                let keys = stmt.query_map([], |row| row.get::<_, String>(0))?;
                keys.collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| wasmtime::format_err!("listing keys: {e:?}"))?;
        keys.sort_unstable();
        for key in keys {
            println!("{key}");
        }
        Ok(())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self
            .0
            .lock()
            .map_err(|_| Error::Other("key-value database lock poisoned".into()))?;
        f(&conn).map_err(|e| Error::Other(e.to_string()))
    }
}

/// An open store: the resource behind `key-value.store`.
pub struct StoreHandle {
    label: String,
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    fn open(&mut self, label: String) -> Result<Resource<StoreHandle>, Error> {
        if !self.app.key_value_stores.contains(&label) {
            return Err(Error::AccessDenied);
        }
        if !PROVIDED_STORES.contains(&label.as_str()) {
            return Err(Error::NoSuchStore);
        }
        self.table
            .push(StoreHandle { label })
            .map_err(|_| Error::StoreTableFull)
    }

    fn get(&mut self, store: Resource<StoreHandle>, key: String) -> Result<Option<Vec<u8>>, Error> {
        let label = self.label(&store)?;
        self.kv.with(|c| {
            c.query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                params![label, key],
                |row| row.get(0),
            )
            .optional()
        })
    }

    fn set(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let label = self.label(&store)?;
        self.kv.with(|c| {
            c.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                params![label, key, value],
            )
            .map(drop)
        })
    }

    fn delete(&mut self, store: Resource<StoreHandle>, key: String) -> Result<(), Error> {
        let label = self.label(&store)?;
        self.kv.with(|c| {
            c.execute(
                "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
                params![label, key],
            )
            .map(drop)
        })
    }

    fn exists(&mut self, store: Resource<StoreHandle>, key: String) -> Result<bool, Error> {
        let label = self.label(&store)?;
        self.kv.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)",
                params![label, key],
                |row| row.get(0),
            )
        })
    }

    fn get_keys(&mut self, store: Resource<StoreHandle>) -> Result<Vec<String>, Error> {
        let label = self.label(&store)?;
        self.kv.with(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
            let keys = stmt.query_map(params![label], |row| row.get(0))?;
            keys.collect()
        })
    }

    fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl HostState {
    fn label(&self, store: &Resource<StoreHandle>) -> Result<String, Error> {
        self.table
            .get(store)
            .map(|s| s.label.clone())
            .map_err(|e| Error::Other(e.to_string()))
    }
}
