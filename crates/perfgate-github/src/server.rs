//! The webhook service: verifies, de-duplicates and queues GitHub deliveries.
