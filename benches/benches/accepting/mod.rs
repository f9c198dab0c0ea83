//! Targets that accept every delivery at once, for measuring the router
//! without any target's cost (shared by the dispatch and replay benches).

use std::sync::Arc;

use sluice_router::arn::{Arn, TargetKind};
use sluice_router::{BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError};

/// A target that accepts every delivery at once.
pub struct Accept;

impl Deliver for Accept {
    fn deliver(&self, _: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Connects every ARN to [`Accept`].
pub struct AcceptAll;

impl Connect for AcceptAll {
    fn connect(&self, _: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
        Ok(Arc::new(Accept))
    }
}
