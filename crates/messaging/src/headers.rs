//! NATS message headers: the dedupe id, CloudEvents attributes and W3C trace context.

use std::collections::HashMap;

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};

/// JetStream drops a second message with the same id inside the stream's duplicate window.
pub const MSG_ID: &str = "Nats-Msg-Id";

/// Headers for publishing `event_id` of `event_type`, carrying `trace_context`.
pub fn for_event(
    event_id: &str,
    event_type: &str,
    trace_context: &HashMap<String, String>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, event_id);
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", event_id);
    headers.insert("ce-type", event_type);
    headers.insert("content-type", "application/protobuf");
    for (key, value) in trace_context {
        headers.insert(key.as_str(), value.as_str());
    }
    headers
}

pub struct NatsHeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for NatsHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

pub struct NatsHeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for NatsHeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}
