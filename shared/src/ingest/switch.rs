//! The failover decision, taken by the ingest of the input that is delivering (DESIGN.md 6):
//! when the active input is unhealthy, append a switch record to this input.

use super::media::Heartbeat;
use crate::error::OriginResult;
use crate::failover::{plan_switch, policy, SwitchLog};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::origin::Origin;
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    /// Called after `input` committed new segments of `rendition`.
    pub(super) async fn consider_switch(
        &self,
        channel: &Channel,
        input: InputId,
        rendition: &str,
        now_ms: u64,
    ) -> OriginResult<()> {
        let key = keys::switch_log(&channel.id);
        let Some((object, version)) = self.objects.get_versioned(&key).await? else {
            // The first input with content becomes active; a racing first write loses harmlessly.
            let log = SwitchLog::starting_with(input, now_ms);
            self.put_log(&key, &log, None).await?;
            return Ok(());
        };
        let log: SwitchLog =
            serde_json::from_slice(&object.body).map_err(|e| repo::corrupt(&key, &e))?;
        let Some(active) = log.active().map(|r| r.input_id()) else {
            return Ok(());
        };
        if active == input {
            return Ok(());
        }
        // Cheap check first: the active input's heartbeat (KV, possibly seconds stale).
        let heartbeat: Option<Heartbeat> =
            repo::kv_get(&self.kv, &keys::heartbeat(&channel.id, active, rendition)).await?;
        let max = channel.max_segment_duration;
        if policy::is_healthy(heartbeat.map(|h| h.arrived_ms), now_ms, max) {
            return Ok(());
        }
        // Confirm on the timelines (strongly consistent): a stale heartbeat never switches.
        let renditions = repo::all_timelines(&self.objects, &channel.id).await?;
        let newest = renditions
            .values()
            .filter_map(|t| t[active.index()].as_ref()?.last())
            .map(|s| s.arrived_ms)
            .max();
        if policy::is_healthy(newest, now_ms, max) {
            return Ok(());
        }
        let silent_s = newest.map(|t| now_ms.saturating_sub(t) / 1000);
        let reason = match silent_s {
            Some(s) => format!(
                "input {} delivered nothing for {s} s (max_segment_duration {max} s)",
                active.number()
            ),
            None => format!("input {} has no content", active.number()),
        };
        let Some(record) = plan_switch(&log, input, &renditions, now_ms, reason) else {
            return Ok(());
        };
        let mut log = log;
        log.push(record);
        // A lost race means another request already recorded a decision: keep it.
        self.put_log(&key, &log, Some(&version)).await?;
        Ok(())
    }

    async fn put_log(
        &self,
        key: &str,
        log: &SwitchLog,
        expected: Option<&str>,
    ) -> OriginResult<bool> {
        let body = serde_json::to_vec(log).map_err(|e| repo::corrupt(key, &e))?;
        Ok(self
            .objects
            .put_if_version(key, &body, &Metadata::new(), expected)
            .await?)
    }
}
