//! Planning: what one event does under a rule table. Each (matched rule,
//! target) pair becomes a [`PlannedDelivery`] with its payload shaped and
//! its target parameters (partition key, execution name, log time) worked
//! out; nothing is sent. The router runs the plans; `route --dry-run`
//! prints them.

use std::cell::RefCell;
use std::sync::Arc;

use sluice_pattern::EventError;

use crate::clock::parse_rfc3339;
pub use crate::document::DocumentError;
use crate::document::{Node, decode_str};
use crate::model::{Rule, Target};
use crate::table::{RuleTable, Scratch};
use crate::target_parameters::{DeliveryParameters, EventFacts};
use crate::transform::{EventContext, InputShape, TransformError};

/// Why an event was not routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a valid JSON event.
    #[error("{0}")]
    InvalidEvent(#[from] EventError),
    /// Not UTF-8.
    #[error("the event is not valid UTF-8")]
    NotUtf8,
    /// Valid for matching but not readable as a document (too deep).
    #[error("the event cannot be read: {0}")]
    Document(#[from] DocumentError),
}

/// A delivery as it would be made: the input of `sluice route --dry-run`.
#[derive(Debug, Clone)]
pub struct PlannedDelivery {
    /// The matched rule.
    pub rule: Arc<Rule>,
    /// The target's index in the rule.
    pub target_index: usize,
    /// The payload, or why there is none.
    pub payload: Result<Arc<str>, TransformError>,
    /// The event's id, when it has one and it was read (see [`Plan`]).
    pub event_id: Option<Arc<str>>,
    /// The event as received (what a dead-letter queue gets).
    pub event: Arc<str>,
    /// What the target's kind needs beyond the payload.
    pub parameters: DeliveryParameters,
}

impl PlannedDelivery {
    /// The target.
    pub fn target(&self) -> &Target {
        &self.rule.targets[self.target_index]
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The rules of `bus` that `event` matches, in `matched`, with this
/// thread's scratch space.
pub(crate) fn matching(
    table: &RuleTable,
    bus: &str,
    event: &[u8],
    matched: &mut Vec<Arc<Rule>>,
) -> Result<(), EventError> {
    SCRATCH.with(|scratch| table.matching(bus, event, &mut scratch.borrow_mut(), matched))
}

/// What one event would do under a table: its id and its deliveries.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The event's `id`; `None` when it has none.
    pub event_id: Option<Arc<str>>,
    /// One entry per (matched rule, target), in rule order.
    pub deliveries: Vec<PlannedDelivery>,
}

/// The deliveries one event makes under `table` on `bus`. The event is
/// always read, so its id is known whether or not a rule matched.
///
/// ```
/// use sluice_router::{plan, load, model::Environment, table::RuleTable};
/// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]},
///     "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPath": "$.detail"}]}]"#,
///     &Default::default(), &Environment::default()).unwrap();
/// let table = RuleTable::new(rules).unwrap();
/// let planned = plan(&table, "default", br#"{"id": "e1", "source": "a", "detail": {"x": 1}}"#,
///     "2026-11-25T10:00:00Z").unwrap();
/// assert_eq!(planned.event_id.as_deref(), Some("e1"));
/// assert_eq!(planned.deliveries[0].payload.as_deref(), Ok(r#"{"x":1}"#));
/// let unmatched = plan(&table, "default", br#"{"id": "e2", "source": "b"}"#, "2026-11-25T10:00:00Z").unwrap();
/// assert_eq!((unmatched.event_id.as_deref(), unmatched.deliveries.len()), (Some("e2"), 0));
/// ```
pub fn plan(
    table: &RuleTable,
    bus: &str,
    event: &[u8],
    ingestion_time: &str,
) -> Result<Plan, RouteError> {
    let mut matched = Vec::new();
    matching(table, bus, event, &mut matched)?;
    let text = std::str::from_utf8(event).map_err(|_| RouteError::NotUtf8)?;
    if matched.is_empty() {
        let document = Node::parse(text.trim())?;
        return Ok(Plan {
            event_id: event_id_of(Some(&document)),
            deliveries: Vec::new(),
        });
    }
    let deliveries = plan_matched(
        &matched,
        text.trim().into(),
        &|| ingestion_time.to_string(),
        true,
    )?;
    Ok(Plan {
        event_id: deliveries.first().and_then(|d| d.event_id.clone()),
        deliveries,
    })
}

/// The `id` of an event's text, when it has a string one.
pub(crate) fn read_event_id(event: &[u8]) -> Result<Option<Arc<str>>, RouteError> {
    let text = std::str::from_utf8(event).map_err(|_| RouteError::NotUtf8)?;
    Ok(event_id_of(Some(&Node::parse(text.trim())?)))
}

/// The `id` member of an event, when it is a string.
fn event_id_of(document: Option<&Node<'_>>) -> Option<Arc<str>> {
    match document?.get("id") {
        Some(Node::String(raw)) => Some(decode_str(raw).into()),
        _ => None,
    }
}

/// Whether building `target`'s delivery needs the parsed event: for its
/// input shaping, its parameters, or the event id (FIFO deduplication).
fn needs_document(target: &Target) -> bool {
    target.input.needs_document() || target.parameters.needs_event() || target.arn.is_fifo()
}

/// The deliveries of an event that matched `matched`. The event is parsed
/// only when a target needs it or `read_id` asks for its id (the processing
/// log names every event), and the ingestion time formatted only when a
/// transformer needs it.
pub(crate) fn plan_matched(
    matched: &[Arc<Rule>],
    text: Arc<str>,
    ingestion_time: &dyn Fn() -> String,
    read_id: bool,
) -> Result<Vec<PlannedDelivery>, RouteError> {
    let parse = read_id
        || matched
            .iter()
            .any(|rule| rule.targets.iter().any(needs_document));
    let document = if parse {
        Some(Node::parse(&text)?)
    } else {
        None
    };
    let event_id = event_id_of(document.as_ref());
    let replay_name = match document.as_ref().and_then(|d| d.get("replay-name")) {
        Some(Node::String(raw)) => Some(decode_str(raw)),
        _ => None,
    };
    let time = std::cell::OnceCell::new();
    let event_time_ms = match document.as_ref().and_then(|d| d.get("time")) {
        Some(Node::String(raw)) => parse_rfc3339(&decode_str(raw)).map(|s| s * 1000),
        _ => None,
    };
    let mut out = Vec::with_capacity(matched.iter().map(|r| r.targets.len()).sum());
    for rule in matched {
        for (index, target) in rule.targets.iter().enumerate() {
            let payload = match (&target.input, &document) {
                (InputShape::WholeEvent, _) => Ok(text.clone()),
                (InputShape::Constant(constant), _) => Ok(constant.clone()),
                (shape, Some(document)) => {
                    let context = EventContext {
                        event: document,
                        event_text: &text,
                        rule_arn: &rule.arn,
                        rule_name: &rule.name,
                        ingestion_time: time.get_or_init(ingestion_time),
                    };
                    shape.render(&context).map(Arc::from)
                }
                (_, None) => unreachable_shape(),
            };
            let parameters = target.parameters.for_event(&EventFacts {
                document: document.as_ref(),
                text: &text,
                event_id: event_id.as_deref(),
                replay_name: replay_name.as_deref(),
                time_ms: event_time_ms,
                rule_arn: &rule.arn,
                target_id: &target.id,
            });
            out.push(PlannedDelivery {
                rule: rule.clone(),
                target_index: index,
                payload,
                event_id: event_id.clone(),
                event: text.clone(),
                parameters,
            });
        }
    }
    Ok(out)
}

/// A shaping that needs the document always has one (see `needs_document`);
/// should that ever not hold, the delivery fails instead of panicking.
fn unreachable_shape() -> Result<Arc<str>, TransformError> {
    Err(TransformError::InvalidJson(String::new()))
}
