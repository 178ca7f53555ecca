//! The 22 communicative acts of the FIPA Communicative Act Library (SC00037).

use crate::error::Error;

macro_rules! performatives {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A communicative act (FIPA SC00037), the message type of an ACL message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Performative {
            $(#[doc = concat!("`", $name, "`")] $variant,)+
        }

        impl Performative {
            /// Every performative, in the library's alphabetical order.
            pub const ALL: [Performative; 22] = [$(Performative::$variant,)+];

            /// The name as the string representation writes it (lower case).
            pub fn name(self) -> &'static str {
                match self {
                    $(Performative::$variant => $name,)+
                }
            }
        }
    };
}

performatives! {
    AcceptProposal => "accept-proposal",
    Agree => "agree",
    Cancel => "cancel",
    Cfp => "cfp",
    Confirm => "confirm",
    Disconfirm => "disconfirm",
    Failure => "failure",
    Inform => "inform",
    InformIf => "inform-if",
    InformRef => "inform-ref",
    NotUnderstood => "not-understood",
    Propagate => "propagate",
    Propose => "propose",
    Proxy => "proxy",
    QueryIf => "query-if",
    QueryRef => "query-ref",
    Refuse => "refuse",
    RejectProposal => "reject-proposal",
    Request => "request",
    RequestWhen => "request-when",
    RequestWhenever => "request-whenever",
    Subscribe => "subscribe",
}

impl Performative {
    /// The predefined message-type code of the bit-efficient representation (SC00069): 1 for
    /// `accept-proposal` through 22 for `subscribe`, the library's alphabetical order.
    pub fn code(self) -> u8 {
        let index = Performative::ALL
            .iter()
            .position(|&p| p == self)
            .unwrap_or_default();
        u8::try_from(index).unwrap_or_default().saturating_add(1)
    }

    /// The performative with bit-efficient code `code`, if it is one of 1–22.
    pub fn from_code(code: u8) -> Option<Performative> {
        Performative::ALL
            .get(usize::from(code).wrapping_sub(1))
            .copied()
    }

    /// Looks a performative up by name, ignoring case (keywords are case-insensitive in SC00070).
    pub fn from_name(name: &str) -> Option<Performative> {
        Performative::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Performative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Performative {
    type Err = Error;
    fn from_str(s: &str) -> Result<Performative, Error> {
        Performative::from_name(s).ok_or_else(|| Error::Invalid {
            field: "performative",
            reason: format!("unknown performative {s:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ignore_case() {
        for p in Performative::ALL {
            assert_eq!(Performative::from_name(p.name()), Some(p));
            assert_eq!(
                Performative::from_name(&p.name().to_ascii_uppercase()),
                Some(p)
            );
        }
        assert_eq!(Performative::from_name("offer"), None);
    }
}

/// The type of an ACL message: one of the 22 performatives, or a user-defined type, which only the
/// bit-efficient representation can carry (SC00069 `UserDefinedMessageType`; the string representation refuses
/// unknown performatives).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A performative of the Communicative Act Library.
    Performative(Performative),
    /// A user-defined message type, by name.
    UserDefined(String),
}

impl MessageType {
    /// The name: the performative's, or the user-defined one.
    pub fn name(&self) -> &str {
        match self {
            MessageType::Performative(p) => p.name(),
            MessageType::UserDefined(name) => name,
        }
    }

    /// The performative, unless the type is user-defined.
    pub fn performative(&self) -> Option<Performative> {
        match self {
            MessageType::Performative(p) => Some(*p),
            MessageType::UserDefined(_) => None,
        }
    }
}

impl From<Performative> for MessageType {
    fn from(p: Performative) -> MessageType {
        MessageType::Performative(p)
    }
}

impl PartialEq<Performative> for MessageType {
    fn eq(&self, other: &Performative) -> bool {
        self.performative() == Some(*other)
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
