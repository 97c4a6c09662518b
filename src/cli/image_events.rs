//! The image events of `docker events` the interpreter records (`POST /api/events`): it knows which command
//! changed the session's image store, the companion only sees manifests come and go.

use super::context::CommandContext;
use crate::api::{Companion, EventActor, EventMessage};
use crate::registry::Transport;

/// Record an image event of the session's store as dockerd's `LogImageEvent(id, name, action)` makes it: the
/// interpreter knows which command changed the store, the companion only sees manifests come and go. A
/// companion that cannot record it changes nothing of the command's outcome.
pub async fn record_image<T: Transport>(ctx: &CommandContext<'_, T>, action: &str, id: &str, name: &str) {
    record_image_at(Companion::new(ctx.transport, ctx.base), action, id, name).await;
}

/// [`record_image`] through `companion` (a build has no command context).
pub async fn record_image_at<T: Transport>(companion: Companion<'_, T>, action: &str, id: &str, name: &str) {
    let actor = EventActor {
        id: id.to_string(),
        attributes: [("name".to_string(), name.to_string())].into(),
    };
    let event = EventMessage::new("image", action, actor, 0);
    let _ = companion.record_event(&event).await;
}

/// Record a container's `commit` as dockerd's `CreateImageFromContainer` logs it: `comment`, `imageID` and
/// `imageRef` (the companion adds the container's own attributes: it captured the layer, the interpreter made
/// the image).
pub async fn record_commit<T: Transport>(
    ctx: &CommandContext<'_, T>,
    container: &str,
    [comment, id, name]: [&str; 3],
) {
    let attributes = [("comment", comment), ("imageID", id), ("imageRef", name)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let actor = EventActor {
        id: container.to_string(),
        attributes,
    };
    let event = EventMessage::new("container", "commit", actor, 0);
    let _ = Companion::new(ctx.transport, ctx.base).record_event(&event).await;
}
