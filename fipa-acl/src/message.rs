//! ACL messages (FIPA SC00061): the performative, the standard parameters, user-defined parameters, and
//! agent identifiers (SC00023).

use crate::datetime::DateTime;
pub use crate::expression::Expression;
use crate::performative::MessageType;
use bytes::Bytes;

/// The value of an expression parameter, or of `:protocol`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ParameterValue<'a> {
    /// `:language`, `:encoding`, `:ontology`, `:conversation-id`, `:reply-with`, `:in-reply-to`.
    Expression(&'a Expression),
    /// `:protocol`.
    Text(&'a str),
}

/// An agent identifier (`agent-identifier`, FIPA SC00023): a globally unique name, transport addresses (URLs),
/// resolvers (name services, themselves agent identifiers) and user-defined parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[doc(alias = "AID")]
pub struct AgentIdentifier {
    /// The name, for example `df@host:1099/JADE`.
    pub name: String,
    /// Transport addresses, in order of preference.
    pub addresses: Vec<String>,
    /// Name resolution services.
    pub resolvers: Vec<AgentIdentifier>,
    /// User-defined parameters, names without the `X-` prefix.
    pub user_params: Vec<(String, Expression)>,
}

impl AgentIdentifier {
    /// An identifier with a name only.
    pub fn new(name: impl Into<String>) -> AgentIdentifier {
        AgentIdentifier {
            name: name.into(),
            ..AgentIdentifier::default()
        }
    }

    /// With a transport address added.
    pub fn with_address(mut self, url: impl Into<String>) -> AgentIdentifier {
        self.addresses.push(url.into());
        self
    }
}

/// An ACL message: a communicative act and its parameters (FIPA SC00061 clause 2). Only the performative is
/// mandatory. `content` is bytes: FIPA content is whatever the content language says, binary included. It is
/// a [`Bytes`], so a message decoded from a shared buffer ([`AclMessage::decode_shared`]) can refer to its
/// content in that buffer without copying it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclMessage {
    /// The type of communicative act (a performative, or a user-defined type in the bit-efficient
    /// representation).
    pub performative: MessageType,
    /// `:sender`.
    pub sender: Option<AgentIdentifier>,
    /// `:receiver`, a set.
    pub receivers: Vec<AgentIdentifier>,
    /// `:reply-to`: where replies go instead of the sender.
    pub reply_to: Vec<AgentIdentifier>,
    /// `:content`.
    pub content: Option<Bytes>,
    /// `:language` of the content.
    pub language: Option<Expression>,
    /// `:encoding` of the content.
    pub encoding: Option<Expression>,
    /// `:ontology` of the content.
    pub ontology: Option<Expression>,
    /// `:protocol`, the interaction protocol.
    pub protocol: Option<String>,
    /// `:conversation-id`.
    pub conversation_id: Option<Expression>,
    /// `:reply-with`: what a reply quotes in `:in-reply-to`.
    pub reply_with: Option<Expression>,
    /// `:in-reply-to`.
    pub in_reply_to: Option<Expression>,
    /// `:reply-by`: the latest time a reply is wanted.
    pub reply_by: Option<DateTime>,
    /// User-defined parameters, in order, names without the `X-` prefix.
    pub user_params: Vec<(String, Expression)>,
}

impl AclMessage {
    /// A message with only its performative.
    pub fn new(performative: impl Into<MessageType>) -> AclMessage {
        AclMessage {
            performative: performative.into(),
            sender: None,
            receivers: Vec::new(),
            reply_to: Vec::new(),
            content: None,
            language: None,
            encoding: None,
            ontology: None,
            protocol: None,
            conversation_id: None,
            reply_with: None,
            in_reply_to: None,
            reply_by: None,
            user_params: Vec::new(),
        }
    }

    /// The parameters between `:content` and `:reply-by` in the order the string representation writes
    /// them, with their names: expressions, and `:protocol` (a word, SC00070) as text.
    pub(crate) fn expression_parameters(&self) -> [(&'static str, Option<ParameterValue<'_>>); 7] {
        fn e(v: &Option<Expression>) -> Option<ParameterValue<'_>> {
            v.as_ref().map(ParameterValue::Expression)
        }
        [
            ("language", e(&self.language)),
            ("encoding", e(&self.encoding)),
            ("ontology", e(&self.ontology)),
            (
                "protocol",
                self.protocol.as_deref().map(ParameterValue::Text),
            ),
            ("conversation-id", e(&self.conversation_id)),
            ("reply-with", e(&self.reply_with)),
            ("in-reply-to", e(&self.in_reply_to)),
        ]
    }

    /// With `:sender`.
    pub fn from(mut self, sender: AgentIdentifier) -> AclMessage {
        self.sender = Some(sender);
        self
    }

    /// With a receiver added.
    pub fn to(mut self, receiver: AgentIdentifier) -> AclMessage {
        self.receivers.push(receiver);
        self
    }

    /// With `:content`.
    pub fn content(mut self, content: impl Into<Bytes>) -> AclMessage {
        self.content = Some(content.into());
        self
    }

    /// The reply to this message from `replier` (SC00061 clause 2.3): it goes to `:reply-to` if set, else to the
    /// sender; it keeps the conversation, protocol, language, ontology and encoding, and quotes `:reply-with` in
    /// `:in-reply-to`.
    pub fn reply(
        &self,
        performative: impl Into<MessageType>,
        replier: AgentIdentifier,
    ) -> AclMessage {
        let receivers = if self.reply_to.is_empty() {
            self.sender.iter().cloned().collect()
        } else {
            self.reply_to.clone()
        };
        AclMessage {
            sender: Some(replier),
            receivers,
            conversation_id: self.conversation_id.clone(),
            protocol: self.protocol.clone(),
            language: self.language.clone(),
            ontology: self.ontology.clone(),
            encoding: self.encoding.clone(),
            in_reply_to: self.reply_with.clone(),
            ..AclMessage::new(performative)
        }
    }
}
