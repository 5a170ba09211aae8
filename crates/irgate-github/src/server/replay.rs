//! The replay cache: the delivery ids queued most recently.

use std::collections::{HashSet, VecDeque};

/// Remembers the last `capacity` delivery ids, forgetting the oldest first.
#[derive(Debug)]
pub(super) struct ReplayCache {
    seen: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl ReplayCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    pub(super) fn insert(&mut self, id: String) {
        if self.seen.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(id.clone());
        self.order.push_back(id);
    }
}
