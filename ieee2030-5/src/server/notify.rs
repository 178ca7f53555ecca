//! Subscriptions and their notifications (clause 5.5.x, Subscription/Notification function set).
//!
//! What a device may subscribe to (each served with `subscribable="1"`):
//!
//! ```text
//! /edev                 EndDeviceList       an EndDevice registered, removed or put under an aggregator; its poll rate
//! /edev/{i}/fsa         FunctionSetAssignmentsList   the device's assignments changed; the list's poll rate
//! /fsa/{j}/derp         DERProgramList      a program added to the FSA; the list's poll rate
//! /derp/{k}/derc        DERControlList      an event published, cancelled, or its status changed
//! /derp/{k}/dderc       DefaultDERControl   the operator set the program's default
//! ```
//!
//! A subscription names a resource its subscriber can read: one it could not `GET` is refused (400). A
//! notification carries the resource as the subscriber would `GET` it at that moment, its page no longer
//! than the subscription's `limit` — rendered by the same routes, so authorisation and the standard's list
//! order hold in notifications too. Notifications queue on the server ([`Server::poll_notification`]);
//! delivering them is the network layer's.

use super::exchange::{Method, Request};
use super::store::{OutgoingNotification, Polled, Server};
use crate::primitives::HexBinary160;
use crate::resources::{AnyResource, Notification, Subscription};

/// The most notifications queued for delivery: past it the oldest go (a server whose deliverer stalls
/// keeps bounded state; a subscriber that misses one reads the resource at its poll rate).
const MAX_QUEUED: usize = 10_000;

/// A subscription and the client that made it (a device, or an aggregator acting for it): notifications
/// show what that client sees.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) subscription: Subscription,
    pub(crate) subscriber: HexBinary160,
}

/// Whether `resource` has the shape of a subscribable resource (not whether it exists or whom it is for).
fn subscribable_shape(resource: &str) -> bool {
    let segments: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match segments.as_slice() {
        ["edev"] => true,
        ["edev", i, "fsa"] | ["fsa", i, "derp"] | ["derp", i, "derc" | "dderc"] => number(i),
        _ => false,
    }
}

/// Whether `resource` is of the kind whose poll rate [`Polled`] names.
fn of_kind(resource: &str, kind: Polled) -> bool {
    let segments: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
    matches!(
        (kind, segments.as_slice()),
        (Polled::EndDeviceList, ["edev"])
            | (Polled::FunctionSetAssignmentsList, ["edev", _, "fsa"])
            | (Polled::DERProgramList, ["fsa", _, "derp"])
    )
}

impl Server {
    /// `resource` as `subscriber` would read it now, a list no longer than `limit`; `None` where it may
    /// not.
    pub(crate) fn render(
        &mut self,
        resource: &str,
        limit: u32,
        subscriber: HexBinary160,
    ) -> Option<AnyResource> {
        let request = Request {
            method: Method::Get,
            path: resource.to_owned(),
            query: format!("l={}", limit.clamp(1, 255)),
            client: Some(subscriber),
            body: Vec::new(),
        };
        let now = self.clock;
        let reply = self.route(&request, now);
        if reply.status != 200 {
            return None;
        }
        crate::resources::decode(&reply.body).ok().map(|(r, _)| r)
    }

    /// Whether `subscriber` may subscribe to `resource`: one of the subscribable kinds, and readable by it.
    pub(crate) fn may_subscribe(&mut self, resource: &str, subscriber: HexBinary160) -> bool {
        subscribable_shape(resource) && self.render(resource, 1, subscriber).is_some()
    }

    /// Queues a notification to every subscriber of `resource`.
    pub(crate) fn changed(&mut self, resource: &str) {
        self.notify_where(|r| r == resource);
    }

    /// Queues a notification to every subscriber of a resource of `kind` (its poll rate changed).
    pub(crate) fn changed_kind(&mut self, kind: Polled) {
        self.notify_where(|r| of_kind(r, kind));
    }

    fn notify_where(&mut self, matches: impl Fn(&str) -> bool) {
        let mut due = Vec::new();
        for (d, device) in self.devices.iter().enumerate() {
            if device.removed {
                continue;
            }
            for (s, held) in device.subscriptions.iter().enumerate() {
                if let Some(held) = held
                    .as_ref()
                    .filter(|h| matches(&h.subscription.subscribed_resource))
                {
                    due.push((d, s, held.clone()));
                }
            }
        }
        for (d, s, held) in due {
            let Held {
                subscription,
                subscriber,
            } = held;
            // What the subscriber can no longer read is not sent (its access was revoked, say).
            let Some(resource) = self.render(
                &subscription.subscribed_resource,
                subscription.limit,
                subscriber,
            ) else {
                continue;
            };
            self.notifications.push_back(OutgoingNotification {
                uri: subscription.notification_uri.clone(),
                notification: Notification {
                    subscribed_resource: subscription.subscribed_resource.clone(),
                    resource: Some(Box::new(resource)),
                    status: 0,
                    subscription_uri: format!("/edev/{d}/sub/{s}"),
                    ..Default::default()
                },
            });
            while self.notifications.len() > MAX_QUEUED {
                self.notifications.pop_front();
            }
        }
    }
}
