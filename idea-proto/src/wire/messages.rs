//! The registry of IDEA messages: each domain type, its protobuf type and its full protobuf name, listed once.

use super::{WireMessage, pb};
use crate::Error;
use crate::error::Result;
use serde::{Deserialize, Serialize};

macro_rules! messages {
    ($($(#[$doc:meta])* $variant:ident($domain:ty, $wire:ty, $name:literal);)+) => {
        $(
            impl WireMessage for $domain {
                const TYPE_NAME: &'static str = $name;
                type Wire = $wire;
                fn to_wire(&self) -> $wire {
                    self.into()
                }
                fn from_wire(wire: $wire) -> Result<$domain> {
                    <$domain>::try_from(wire)
                }
            }
        )+

        /// Any IDEA message, for code that learns the type at run time (an envelope's `message_type`, a
        /// decoder command). Its JSON form is `{"type": "<protobuf name>", "message": {…}}`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "message")]
        #[non_exhaustive]
        pub enum AnyMessage {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant($domain),
            )+
        }

        impl AnyMessage {
            /// The full protobuf names of every message type, in registry order.
            pub const TYPE_NAMES: &'static [&'static str] = &[$($name),+];

            /// The full protobuf name of this message.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(AnyMessage::$variant(_) => $name,)+
                }
            }

            /// Decodes bare protobuf bytes of the named type.
            pub fn decode_payload(type_name: &str, bytes: &[u8]) -> Result<AnyMessage> {
                match type_name {
                    $($name => <$domain as WireMessage>::decode_payload(bytes).map(AnyMessage::$variant),)+
                    other => Err(Error::invalid("message_type", format!("{other:?} is not an IDEA message type"))),
                }
            }

            /// The bare protobuf bytes.
            pub fn encode_payload(&self) -> Vec<u8> {
                match self {
                    $(AnyMessage::$variant(m) => m.encode_payload(),)+
                }
            }
        }
    };
}

messages! {
    /// A power cell (AUX-01 registration, digital twin).
    PowerCell(crate::PowerCell, pb::PowerCell, "idea.v1.PowerCell");
    /// An energy transaction (the contract parameters of UC-03/UC-04).
    EnergyTransaction(crate::EnergyTransaction, pb::EnergyTransaction, "idea.v1.EnergyTransaction");
    /// UC-01.
    TransactionRequest(crate::TransactionRequest, pb::TransactionRequest, "idea.v1.TransactionRequest");
    /// UC-02 and UC-03.
    TransactionAnswer(crate::TransactionAnswer, pb::TransactionAnswer, "idea.v1.TransactionAnswer");
    /// UC-05 and UC-09.
    SetpointCommand(crate::SetpointCommand, pb::SetpointCommand, "idea.v1.SetpointCommand");
    /// UC-08.
    MeasurementReport(crate::MeasurementReport, pb::MeasurementReport, "idea.v1.MeasurementReport");
    /// The lifecycle of a transaction.
    Lifecycle(crate::Lifecycle, pb::TransactionLifecycle, "idea.v1.TransactionLifecycle");
    /// A service.
    ServiceDescription(crate::ServiceDescription, pb::ServiceDescription, "idea.v1.ServiceDescription");
    /// A subscription.
    Subscription(crate::Subscription, pb::Subscription, "idea.v1.Subscription");
    /// AUX-01..AUX-09.
    AuxiliaryMessage(crate::AuxiliaryMessage, pb::AuxiliaryMessage, "idea.v1.AuxiliaryMessage");
    /// A topology model (ARCH-07).
    Topology(crate::Topology, pb::Topology, "idea.v1.Topology");
}
