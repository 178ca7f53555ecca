//! What a service application is to the network: one agent that takes signed FIPA-ACL messages and `now`,
//! and gives signed messages and its next deadline — the [`MarketService`](crate::MarketService) and the
//! [`DirectoryService`](crate::DirectoryService) alike, so one runtime serves any of them.

use fipa_acl::{AclMessage, AgentIdentifier};
use idea_proto::Timestamp;

/// A service application driven sans-IO.
pub trait AclService: Send {
    /// Its ACL identifier (its inbox).
    fn me(&self) -> &AgentIdentifier;
    /// One incoming message.
    fn handle_acl(&mut self, m: AclMessage, now: Timestamp);
    /// Messages that queued up, in the order they arrived; a service that checks signatures in batches
    /// overrides it, with the outcome of [`AclService::handle_acl`] on each in turn.
    fn handle_acl_batch(&mut self, messages: Vec<AclMessage>, now: Timestamp) {
        for m in messages {
            self.handle_acl(m, now);
        }
    }
    /// The next message to send, signed.
    fn poll_transmit(&mut self) -> Option<AclMessage>;
    /// Its next deadline.
    fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }
    /// The deadline passed.
    fn handle_timeout(&mut self, _now: Timestamp) {}
    /// The next submission for the service's TE node (a service that records contracts, such as the
    /// demand-response service); none by default.
    fn poll_submission(&mut self) -> Option<crate::TeSubmission> {
        None
    }
    /// A notice of its TE node, verified against the node's key; ignored by default.
    fn handle_te_notice(&mut self, _notice: &crate::TeNotice, _now: Timestamp) {}
}

impl AclService for crate::MarketService {
    fn me(&self) -> &AgentIdentifier {
        crate::MarketService::me(self)
    }
    fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        crate::MarketService::handle_acl(self, m, now);
    }
    fn handle_acl_batch(&mut self, messages: Vec<AclMessage>, now: Timestamp) {
        crate::MarketService::handle_acl_batch(self, messages, now);
    }
    fn poll_transmit(&mut self) -> Option<AclMessage> {
        crate::MarketService::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        crate::MarketService::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        crate::MarketService::handle_timeout(self, now);
    }
}

impl AclService for crate::DirectoryService {
    fn me(&self) -> &AgentIdentifier {
        crate::DirectoryService::me(self)
    }
    fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        crate::DirectoryService::handle_acl(self, m, now);
    }
    fn poll_transmit(&mut self) -> Option<AclMessage> {
        crate::DirectoryService::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        crate::DirectoryService::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        crate::DirectoryService::handle_timeout(self, now);
    }
}
