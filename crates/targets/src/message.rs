//! The request entry of one SQS message or SNS notification, built the
//! same way for both: the size limit, the string attributes (which
//! dead-letter messages carry), and for a FIFO queue or topic the message
//! group and the event id as deduplication id. Each service implements
//! [`MessageEntry`] for its SDK's entry builder.

use sluice_router::{Delivery, DeliveryError};

use crate::error::too_large;

/// An SDK builder of one batch entry.
pub(crate) trait MessageEntry: Sized {
    /// What the message is called in error texts ("the SQS message").
    const WHAT: &'static str;
    /// Largest message body.
    const MAX_MESSAGE_BYTES: usize;

    /// A builder with the entry's id and body.
    fn start(id: String, body: &str) -> Self;

    /// Adds a string attribute.
    fn string_attribute(self, name: &str, value: &str) -> Result<Self, DeliveryError>;

    /// Sets the FIFO message group and deduplication id.
    fn fifo(self, group: Option<String>, deduplication_id: Option<String>) -> Self;
}

/// The entry builder for `delivery`, with the delivery's position in its
/// batch as the entry id.
pub(crate) fn message_entry<B: MessageEntry>(
    index: usize,
    delivery: &Delivery,
    fifo: bool,
) -> Result<B, DeliveryError> {
    if delivery.payload.len() > B::MAX_MESSAGE_BYTES {
        return Err(too_large(
            B::WHAT,
            delivery.payload.len(),
            B::MAX_MESSAGE_BYTES,
        ));
    }
    let mut entry = B::start(index.to_string(), &delivery.payload);
    for (name, value) in &delivery.attributes {
        entry = entry.string_attribute(name, value)?;
    }
    if fifo {
        let event_id = delivery.event_id.as_deref().map(str::to_string);
        let group = delivery
            .parameters
            .message_group_id()
            .map(str::to_string)
            .or_else(|| event_id.clone());
        entry = entry.fifo(group, event_id);
    }
    Ok(entry)
}

/// An attribute the SDK refused to build.
pub(crate) fn invalid_attribute(error: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::client("InvalidAttribute", error.to_string())
}

/// An entry the SDK refused to build.
pub(crate) fn invalid_entry(error: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::client("InvalidParameterValue", error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router::target_parameters::DeliveryParameters;

    /// What a builder was told, in order.
    #[derive(Debug, Default, PartialEq)]
    struct Recorded(Vec<String>);

    impl MessageEntry for Recorded {
        const WHAT: &'static str = "the test message";
        const MAX_MESSAGE_BYTES: usize = 16;

        fn start(id: String, body: &str) -> Self {
            Recorded(vec![format!("{id}:{body}")])
        }

        fn string_attribute(mut self, name: &str, value: &str) -> Result<Self, DeliveryError> {
            self.0.push(format!("{name}={value}"));
            Ok(self)
        }

        fn fifo(mut self, group: Option<String>, deduplication_id: Option<String>) -> Self {
            self.0.push(format!("{group:?}/{deduplication_id:?}"));
            self
        }
    }

    #[test]
    fn fifo_entries_carry_a_group_and_the_event_id() {
        let mut delivery = Delivery::new("{}", Some("e1".into()));
        delivery.attributes = vec![("RULE_ARN".into(), "r".into())];
        let plain: Recorded = message_entry(0, &delivery, false).unwrap();
        assert_eq!(plain.0, ["0:{}", "RULE_ARN=r"]);
        let by_id: Recorded = message_entry(1, &delivery, true).unwrap();
        assert_eq!(by_id.0[2], r#"Some("e1")/Some("e1")"#);
        delivery.parameters = DeliveryParameters::Message {
            message_group_id: Some("g".into()),
        };
        let grouped: Recorded = message_entry(2, &delivery, true).unwrap();
        assert_eq!(grouped.0[2], r#"Some("g")/Some("e1")"#);
        let large = Delivery::new("x".repeat(17), None);
        assert!(message_entry::<Recorded>(0, &large, false).is_err());
    }
}
