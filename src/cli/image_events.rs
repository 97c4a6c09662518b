//! The image events of `docker events` the interpreter records (`POST /api/events`): it knows which command
//! changed the session's image store, the companion only sees manifests come and go.

use super::context::CommandContext;
use crate::api::{Companion, EventActor, EventMessage};
use crate::registry::Transport;

/// Record an image event of the session's store as dockerd's `LogImageEvent(id, name, action)` makes it: the
/// interpreter knows which command changed the store, the companion only sees manifests come and go. A
/// companion that cannot record it changes nothing of the command's outcome.
pub async fn record_image<T: Transport>(ctx: &CommandContext<'_, T>, action: &str, id: &str, name: &str) {
    let actor = EventActor {
        id: id.to_string(),
        attributes: [("name".to_string(), name.to_string())].into(),
    };
    let event = EventMessage::new("image", action, actor, 0);
    let _ = Companion::new(ctx.transport, ctx.base).record_event(&event).await;
}
