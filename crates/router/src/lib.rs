//! # sluice-router
//!
//! EventBridge's rules and targets on top of `sluice-pattern`: the resource
//! model with AWS's limits and error texts, loaders for rules files and
//! CloudFormation templates, input shaping (Input, InputPath,
//! InputTransformer) exactly as AWS does it, and delivery of every matched
//! event to its targets with EventBridge's retry policy and dead-letter
//! queues. The crate names no AWS SDK: targets are reached through the
//! [`dispatch::Deliver`] trait, which `sluice-targets` implements over the
//! official SDK crates.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod arn;
pub mod clock;
pub mod dispatch;
pub mod document;
pub mod execution_name;
pub mod files;
pub mod jsonpath;
pub mod load;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod processing_log;
pub mod replay;
pub mod schedule;
pub mod scheduler;
pub mod table;
pub mod transform;
