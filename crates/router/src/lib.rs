//! # sluice-router
//!
//! EventBridge's rules and targets on top of `sluice-pattern`: the resource
//! model with AWS's limits and error texts, loaders for rules files and
//! CloudFormation templates, input shaping (Input, InputPath,
//! InputTransformer) exactly as AWS does it, and delivery of every matched
//! event to its targets with EventBridge's retry policy and dead-letter
//! queues. The crate names no AWS SDK: targets are reached through the
//! [`Deliver`] and [`Connect`] traits, which `sluice-targets` implements
//! over the official SDK crates.
//!
//! Rules come from a file ([`load_rules`], [`parse_rules`]) or one at a
//! time ([`Rule::new`]); a [`RuleTable`] compiles them per bus; [`plan()`]
//! says what an event would do, and a [`Router`] does it.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use sluice_router::arn::{Arn, TargetKind};
//! use sluice_router::{
//!     BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError, Environment, Router,
//!     RouterSettings, RuleTable, parse_rules,
//! };
//!
//! /// Keeps every payload it is given.
//! #[derive(Default)]
//! struct Inbox(Mutex<Vec<String>>);
//! impl Deliver for Inbox {
//!     fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
//!         self.0.lock().unwrap().push(delivery.payload.to_string());
//!         Box::pin(async { Ok(()) })
//!     }
//! }
//! struct ToInbox(Arc<Inbox>);
//! impl Connect for ToInbox {
//!     fn connect(&self, _: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
//!         Ok(self.0.clone())
//!     }
//! }
//!
//! let rules = parse_rules(
//!     "rules.yaml",
//!     "- Name: failed-builds\n  EventPattern: {source: [aws.imagebuilder], detail: {state: {status: [FAILED]}}}\n  Targets:\n    - {Id: q, Arn: 'arn:aws:sqs:us-east-1:123456789012:alerts', InputPath: $.detail}\n",
//!     &Default::default(),
//!     &Environment::default(),
//! )
//! .unwrap();
//! let inbox = Arc::new(Inbox::default());
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let router = Router::new(RuleTable::new(rules).unwrap(), Arc::new(ToInbox(inbox.clone())), RouterSettings::default()).unwrap();
//! let event = br#"{"id": "1", "source": "aws.imagebuilder", "detail": {"state": {"status": "FAILED"}}}"#;
//! router.route("default", event).await.unwrap();
//! router.drain().await;
//! # });
//! assert_eq!(*inbox.0.lock().unwrap(), [r#"{"state":{"status":"FAILED"}}"#]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod archive;
pub mod arn;
pub mod clock;
pub mod completion;
pub mod deliver;
pub mod delivery_state;
mod document;
pub mod execution_name;
pub mod files;
mod jsonpath;
pub mod load;
pub mod log_payload;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod policy;
pub mod processing_log;
pub mod replay;
pub mod router;
pub mod schedule;
pub mod scheduler;
pub mod table;
pub mod target_parameters;
pub mod transform;
pub mod validation;

pub use completion::{
    Completion, DeliveryKey, DeliveryOutcome, DeliveryResult, EventOutcome, FailureRecord,
    INTERRUPTED,
};
pub use deliver::{
    BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError, FailureKind,
};
pub use delivery_state::DeliveryState;
pub use load::{LoadError, Parameters, load_rules, parse_rules};
pub use model::{Environment, Rule, RuleState, Target};
pub use plan::{Plan, PlannedDelivery, RouteError, plan};
pub use router::{RouteOptions, Routed, Router, RouterSettings, RuleChangeError};
pub use table::{RuleError, RuleTable};
pub use validation::ValidationError;
