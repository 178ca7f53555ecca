//! What agents and the arbitrator say to each other (ARCH-08 option 1), FIPA Request in SL0:
//! - the question: `request`, `:ontology idea-energy`, whose content is the `EnergyTransaction` the agent
//!   would commit to (as the `idea-energy` ontology writes it), conversation `arbitrate-{transaction}`;
//! - the answer, `:ontology idea-arbitration`: `inform` `((arbitrated (permit :transaction "ID")))`,
//!   `inform` `((arbitrated (adjust :transaction "ID" :interval I :requested-w R :granted-w G :reason "…")))`,
//!   or `refuse` `((arbitrated (section-limit :transaction "ID" :interval I :reason "…")))`;
//! - giving a permission back (the offer was not taken): `request` `((action (agent-identifier :name ARB)
//!   (release :transaction "ID")))`, answered `inform` `((released :transaction "ID"))`.

use super::Verdict;
use fipa_acl::sl0::{Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};
use idea_proto::wire::AnyMessage;
use idea_proto::{EnergyTransaction, TransactionId};

/// The ontology of the arbitrator's answers and of releases.
pub const ONTOLOGY: &str = "idea-arbitration";
/// The service type the arbitrator registers in the directory.
pub const SERVICE_TYPE: &str = "idea-arbitration";

/// The conversation of the question about transaction `id`.
pub fn conversation(id: &TransactionId) -> String {
    format!("arbitrate-{id}")
}

/// The question: may `transaction` be committed to?
pub fn ask(arbitrator: &AgentIdentifier, transaction: &EnergyTransaction) -> AclMessage {
    let mut m = AclMessage::new(Performative::Request);
    crate::p2p::energy_content(AnyMessage::EnergyTransaction(transaction.clone()), &mut m);
    m.receivers = vec![arbitrator.clone()];
    m.protocol = Some("fipa-request".into());
    m.conversation_id = Some(Expression::String(
        conversation(&transaction.id).into_bytes(),
    ));
    m
}

/// Gives back the permission for transaction `id`.
pub fn release(arbitrator: &AgentIdentifier, id: &TransactionId) -> AclMessage {
    let content = Content::one(ContentElement::Action(fipa_acl::sl0::Action {
        actor: Term::agent_identifier(arbitrator),
        act: Term::frame(
            "release",
            [("transaction", Term::String(id.to_string().into_bytes()))],
        ),
    }));
    let mut m = AclMessage::new(Performative::Request).content(content.to_bytes());
    m.receivers = vec![arbitrator.clone()];
    m.protocol = Some("fipa-request".into());
    m.language = Some("fipa-sl0".into());
    m.ontology = Some(ONTOLOGY.into());
    m.conversation_id = Some(Expression::String(format!("release-{id}").into_bytes()));
    m
}

/// The transaction a release names.
pub fn read_release(m: &AclMessage) -> Option<TransactionId> {
    let content = Content::parse(m.content.as_deref().unwrap_or_default()).ok()?;
    let [ContentElement::Action(action)] = &content.0[..] else {
        return None;
    };
    if !action.act.symbol()?.eq_ignore_ascii_case("release") {
        return None;
    }
    action.act.param("transaction")?.as_text()?.parse().ok()
}

/// The answer's performative and content for `verdict` on transaction `id`.
pub fn answer(id: &TransactionId, verdict: &Verdict) -> (Performative, String) {
    let id = Term::String(id.to_string().into_bytes());
    let (performative, term) = match verdict {
        Verdict::Permit => (
            Performative::Inform,
            Term::frame("permit", [("transaction", id)]),
        ),
        Verdict::Adjust {
            interval,
            requested_w,
            granted_w,
            reason,
        } => (
            Performative::Inform,
            Term::frame(
                "adjust",
                [
                    ("transaction", id),
                    ("interval", Term::Number(interval.to_string())),
                    (
                        "requested-w",
                        Term::Number(format!("{}", requested_w.round())),
                    ),
                    ("granted-w", Term::Number(format!("{}", granted_w.floor()))),
                    ("reason", Term::String(reason.clone().into_bytes())),
                ],
            ),
        ),
        Verdict::Refuse { interval, reason } => (
            Performative::Refuse,
            Term::frame(
                "section-limit",
                [
                    ("transaction", id),
                    ("interval", Term::Number(interval.to_string())),
                    ("reason", Term::String(reason.clone().into_bytes())),
                ],
            ),
        ),
    };
    let content = Content::one(ContentElement::Formula(Formula::Predicate {
        symbol: "arbitrated".into(),
        args: vec![term],
    }));
    (
        performative,
        String::from_utf8_lossy(&content.to_bytes()).into_owned(),
    )
}

/// What an agent reads of the arbitrator's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Commit as asked.
    Permit,
    /// Commit at most `granted_w / requested_w` of what was asked.
    Adjust {
        /// The share of the asked power the section allows (0..1).
        share: f64,
        /// Why.
        reason: String,
    },
    /// Do not commit.
    Refuse(String),
}

/// Reads the arbitrator's answer about transaction `id`; `None` if it is not one.
pub fn read_answer(m: &AclMessage, id: &TransactionId) -> Option<Answer> {
    let content = Content::parse(m.content.as_deref().unwrap_or_default()).ok()?;
    let term = content.0.iter().find_map(|e| match e {
        ContentElement::Formula(Formula::Predicate { symbol, args }) if symbol == "arbitrated" => {
            args.first()
        }
        _ => None,
    })?;
    let named: Option<TransactionId> = term.param("transaction")?.as_text()?.parse().ok();
    if named != Some(*id) {
        return None;
    }
    let reason = || {
        term.param("reason")
            .and_then(Term::as_text)
            .unwrap_or("the section's limits")
            .to_owned()
    };
    let number = |name: &str| -> Option<f64> { term.param(name)?.as_text()?.parse().ok() };
    match (m.performative.performative()?, term.symbol()?) {
        (Performative::Inform, "permit") => Some(Answer::Permit),
        (Performative::Inform, "adjust") => {
            let (requested, granted) = (number("requested-w")?, number("granted-w")?);
            let share = if requested > 0.0 {
                (granted / requested).clamp(0.0, 1.0)
            } else {
                0.0
            };
            Some(Answer::Adjust {
                share,
                reason: reason(),
            })
        }
        (Performative::Refuse, "section-limit") => Some(Answer::Refuse(reason())),
        _ => None,
    }
}
