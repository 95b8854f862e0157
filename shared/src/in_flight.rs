//! Requests for the same immutable file, answered once (docs/storage.md, "Edge cache"): when
//! a segment appears in a playlist, the players on an edge ask for it within moments of each
//! other, before the first answer is in the platform's cache. The first request that misses
//! the cache leads: it reads and packages the file; those that miss while it runs wait for its
//! answer instead of reading and packaging the same bytes again (storage reads, CPU, and a
//! copy of the segment each in the isolate's memory). A leader that fails, or is dropped, lets
//! its followers go with nothing, and each then answers for itself; so does a follower that
//! waited [`MAX_WAIT_MS`].
//!
//! One per isolate on Cloudflare (shared by its requests, like the channel cache); a Spin
//! instance serves one request, so there it only ever has a leader.

use crate::http::Response;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

/// Most keys led at once; past it, new requests answer alone.
pub const MAX_IN_FLIGHT: usize = 1_024;
/// How often a follower looks for its leader's answer, ms. A follower waits on its own timer,
/// never on a wake-up from the leader's request: the Workers runtime cancels a request that
/// waits on nothing of its own as hung ("the Worker's code had hung").
pub const POLL_MS: u64 = 10;
/// How long a follower waits before answering alone, ms.
pub const MAX_WAIT_MS: u64 = 10_000;

/// A leader's answer: not yet, or given (`None`: nothing to share).
type Slot = Rc<RefCell<Option<Option<Response>>>>;

/// The files being answered now, by cache key.
#[derive(Debug, Default)]
pub struct InFlight {
    led: RefCell<HashMap<String, Slot>>,
}

/// What a request that missed the cache does.
pub enum Joined<'a> {
    /// Answer, and hand the answer to whoever waits ([`Lead::finish`]).
    Lead(Lead<'a>),
    /// The leader's answer, to give as this request's own.
    Answered(Response),
    /// Answer alone (the leader gave nothing, or too many keys are led).
    Alone,
}

/// A leader's hold on its key: its followers wait until it is finished or dropped.
pub struct Lead<'a> {
    in_flight: &'a InFlight,
    key: String,
    slot: Slot,
}

impl InFlight {
    /// Joins the requests for `key`: leads when none runs, else waits (on `sleep`) for the
    /// leader's answer.
    pub async fn join<F: Future<Output = ()>>(
        &self,
        key: &str,
        sleep: impl Fn(u64) -> F,
    ) -> Joined<'_> {
        let running = self.led.borrow().get(key).cloned();
        let Some(slot) = running else {
            let mut led = self.led.borrow_mut();
            if led.len() >= MAX_IN_FLIGHT {
                return Joined::Alone;
            }
            let slot = Slot::default();
            led.insert(key.to_owned(), slot.clone());
            return Joined::Lead(Lead {
                in_flight: self,
                key: key.to_owned(),
                slot,
            });
        };
        let mut waited = 0;
        while waited < MAX_WAIT_MS {
            sleep(POLL_MS).await;
            waited += POLL_MS;
            if let Some(given) = &*slot.borrow() {
                return given.clone().map_or(Joined::Alone, Joined::Answered);
            }
        }
        Joined::Alone
    }

    /// Keys led now.
    pub fn len(&self) -> usize {
        self.led.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Lead<'_> {
    /// Gives `answer` (when there is one to share) to the followers, and ends the lead.
    pub fn finish(self, answer: Option<&Response>) {
        *self.slot.borrow_mut() = Some(answer.cloned());
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // No new follower finds the key; those waiting find the answer, or nothing.
        self.in_flight.led.borrow_mut().remove(&self.key);
        let mut slot = self.slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Polls `f` until it is ready (its futures wait only on each other and on [`tick`]).
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
        panic!("still waiting after 10,000 polls");
    }

    /// A timer that is done at its second poll.
    fn tick(_ms: u64) -> impl Future<Output = ()> {
        let mut polled = false;
        std::future::poll_fn(move |_| {
            if std::mem::replace(&mut polled, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn answer(body: &[u8]) -> Response {
        Response::new(200).with_body("video/mp2t", body.to_vec())
    }

    #[test]
    fn a_follower_takes_the_leaders_answer() {
        let f = InFlight::default();
        block_on(async {
            let Joined::Lead(lead) = f.join("k", tick).await else {
                panic!("the first request leads");
            };
            // Polled first, the follower waits on its timer; then the leader finishes.
            let finish = async { lead.finish(Some(&answer(b"x"))) };
            let (followed, ()) = join(f.join("k", tick), finish).await;
            assert!(matches!(followed, Joined::Answered(r) if r.body == b"x"));
        });
        assert!(f.is_empty());
    }

    #[test]
    fn a_leader_without_an_answer_lets_its_followers_go_alone() {
        let f = InFlight::default();
        block_on(async {
            for ending in [Some(None), None] {
                let Joined::Lead(lead) = f.join("k", tick).await else {
                    panic!("leads");
                };
                let end = async {
                    match ending {
                        Some(nothing) => lead.finish(nothing),
                        // Dropped: a request that failed or was cancelled.
                        None => drop(lead),
                    }
                };
                let (followed, ()) = join(f.join("k", tick), end).await;
                assert!(matches!(followed, Joined::Alone));
            }
        });
        assert!(f.is_empty());
    }

    #[test]
    fn a_follower_stops_waiting() {
        let f = InFlight::default();
        block_on(async {
            let Joined::Lead(_lead) = f.join("k", tick).await else {
                panic!("leads");
            };
            // The leader never finishes: the follower answers alone after MAX_WAIT_MS.
            assert!(matches!(f.join("k", tick).await, Joined::Alone));
        });
    }

    #[test]
    fn keys_are_led_apart_and_bounded() {
        let f = InFlight::default();
        block_on(async {
            let mut leads = Vec::new();
            for n in 0..MAX_IN_FLIGHT {
                match f.join(&format!("k{n}"), tick).await {
                    Joined::Lead(lead) => leads.push(lead),
                    _ => panic!("key {n} leads"),
                }
            }
            assert!(matches!(f.join("one more", tick).await, Joined::Alone));
            drop(leads);
            assert!(matches!(f.join("one more", tick).await, Joined::Lead(_)));
        });
    }
}
