//! FIPA-ACL messages from C (SC00061): decoded from and encoded to the string (SC00070), XML (SC00071) and
//! bit-efficient (SC00069) representations, read field by field, and built.

use crate::IdeaResult;
use crate::buffer::{bytes_in, text_in, value_out, write_bytes, write_text};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use fipa_acl::{
    AclMessage, AgentIdentifier, Bytes, DateTime, Expression, Limits, Performative, Representation,
};
use std::ffi::c_char;

/// An ACL message. Made by `idea_acl_message_decode`, `idea_acl_message_new` or `idea_acl_message_reply`;
/// freed with `idea_acl_message_free`. Not safe to use from two threads at once; may move between threads.
pub struct IdeaAclMessage {
    _private: [u8; 0],
}

opaque!(IdeaAclMessage, AclMessage, 0x4944_4541_4143_4c4d);

/// A representation of ACL messages.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaAclRepresentation {
    /// Decoding only: told apart by the first byte (0xFA–0xFC bit-efficient, `<` XML, else string).
    Any = 0,
    /// The string representation (SC00070).
    String = 1,
    /// The XML representation (SC00071).
    Xml = 2,
    /// The bit-efficient representation (SC00069).
    BitEfficient = 3,
}

fn representation(number: u32) -> Result<Option<Representation>, FfiError> {
    match number {
        n if n == IdeaAclRepresentation::Any as u32 => Ok(None),
        n if n == IdeaAclRepresentation::String as u32 => Ok(Some(Representation::String)),
        n if n == IdeaAclRepresentation::Xml as u32 => Ok(Some(Representation::Xml)),
        n if n == IdeaAclRepresentation::BitEfficient as u32 => {
            Ok(Some(Representation::BitEfficient))
        }
        other => Err(FfiError::invalid(format!(
            "{other} is not an IdeaAclRepresentation"
        ))),
    }
}

fn number_of(r: Representation) -> u32 {
    match r {
        Representation::Xml => IdeaAclRepresentation::Xml as u32,
        Representation::BitEfficient => IdeaAclRepresentation::BitEfficient as u32,
        _ => IdeaAclRepresentation::String as u32,
    }
}

/// The agent lists of a message.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaAclAgentList {
    /// `:receiver`.
    Receivers = 0,
    /// `:reply-to`.
    ReplyTo = 1,
}

fn list(message: &AclMessage, which: u32) -> Result<&Vec<AgentIdentifier>, FfiError> {
    match which {
        w if w == IdeaAclAgentList::Receivers as u32 => Ok(&message.receivers),
        w if w == IdeaAclAgentList::ReplyTo as u32 => Ok(&message.reply_to),
        other => Err(FfiError::invalid(format!(
            "{other} is not an IdeaAclAgentList"
        ))),
    }
}

fn list_mut(message: &mut AclMessage, which: u32) -> Result<&mut Vec<AgentIdentifier>, FfiError> {
    match which {
        w if w == IdeaAclAgentList::Receivers as u32 => Ok(&mut message.receivers),
        w if w == IdeaAclAgentList::ReplyTo as u32 => Ok(&mut message.reply_to),
        other => Err(FfiError::invalid(format!(
            "{other} is not an IdeaAclAgentList"
        ))),
    }
}

/// Most agents in one list of a message built from C.
const MAX_AGENTS: usize = 1024;

fn performative(name: &str) -> Result<Performative, FfiError> {
    Performative::from_name(name).ok_or_else(|| {
        FfiError::new(
            IdeaResult::FipaInvalid,
            format!("{name:?} is not one of the 22 FIPA performatives"),
        )
    })
}

/// Decodes the message at the front of `bytes` in `representation` (an `IdeaAclRepresentation`; `ANY` tells
/// them apart), within the default size and nesting limits. Malformed input gives `IDEA_RESULT_FIPA_DECODE`
/// (byte offset and parameter in `idea_last_error`), an exceeded limit `IDEA_RESULT_FIPA_LIMIT`.
///
/// Ownership: `*out` is a new handle; free it with `idea_acl_message_free`. Thread safety: any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `out` and `out_used` are valid for writing; `out_representation`
/// is null or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_decode(
    bytes: *const u8,
    len: usize,
    representation_in: u32,
    out: *mut *mut IdeaAclMessage,
    out_used: *mut usize,
    out_representation: *mut u32,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        if out_used.is_null() {
            return Err(FfiError::null("out_used"));
        }
        let chosen =
            representation(representation_in)?.unwrap_or_else(|| Representation::detect(input));
        let (message, used) = AclMessage::decode_as(input, chosen, &Limits::default())?;
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_used, used, "out_used")?;
            if !out_representation.is_null() {
                out_representation.write(number_of(chosen));
            }
            new_handle(out, message)
        }
    })
}

/// Encodes the message in `representation` (not `ANY`) into `buf`; `*out_len` always receives the length. What
/// a representation cannot carry (binary content in XML, a user-defined type in the string form) is refused
/// with `IDEA_RESULT_FIPA_INVALID`, never altered.
///
/// Thread safety: any thread, while no other call changes the message.
///
/// # Safety
/// `message` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_encode(
    message: *const IdeaAclMessage,
    representation_out: u32,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        let chosen = representation(representation_out)?
            .ok_or_else(|| FfiError::invalid("encoding needs a representation, not ANY"))?;
        let mut wire = Vec::new();
        m.encode_as(chosen, &mut wire)?;
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&wire, buf, cap, out_len) }
    })
}

/// A new message with only its performative (`"cfp"`, `"propose"`, … any of the 22, in any case).
///
/// Ownership: `*out` is a new handle; free it with `idea_acl_message_free`. Thread safety: any thread.
///
/// # Safety
/// `performative` is a NUL-terminated string; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_new(
    performative_name: *const c_char,
    out: *mut *mut IdeaAclMessage,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let name = unsafe { text_in(performative_name, "performative") }?;
        let message = AclMessage::new(performative(name)?);
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, message) }
    })
}

/// The reply to `message` from the agent `replier` with `performative` (SC00061 clause 2.3): addressed to
/// `:reply-to` or else the sender, keeping conversation, protocol, language, ontology and encoding, quoting
/// `:reply-with` in `:in-reply-to`.
///
/// Ownership: `*out` is a new handle. Thread safety: any thread, while no other call changes `message`.
///
/// # Safety
/// `message` is a live handle; the strings are NUL-terminated; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_reply(
    message: *const IdeaAclMessage,
    performative_name: *const c_char,
    replier: *const c_char,
    out: *mut *mut IdeaAclMessage,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        // SAFETY: the caller's guarantee.
        let name = unsafe { text_in(performative_name, "performative") }?;
        // SAFETY: the caller's guarantee.
        let replier = unsafe { text_in(replier, "replier") }?;
        let reply = m.reply(performative(name)?, AgentIdentifier::new(replier));
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, reply) }
    })
}

/// The text of an expression: a word, number or date-time as written, a string's characters, a list in the
/// string representation.
fn expression_text(e: &Expression) -> String {
    e.as_text()
        .map_or_else(|| e.to_string(), |t| t.into_owned())
}

/// A parameter's value as text, `None` when the message does not carry it.
fn get_field(m: &AclMessage, field: &str) -> Result<Option<String>, FfiError> {
    let expr = |e: &Option<Expression>| e.as_ref().map(expression_text);
    Ok(match field.to_ascii_lowercase().as_str() {
        "performative" => Some(m.performative.name().to_owned()),
        "sender" => m.sender.as_ref().map(|a| a.name.clone()),
        "language" => expr(&m.language),
        "encoding" => expr(&m.encoding),
        "ontology" => expr(&m.ontology),
        "protocol" => m.protocol.clone(),
        "conversation-id" => expr(&m.conversation_id),
        "reply-with" => expr(&m.reply_with),
        "in-reply-to" => expr(&m.in_reply_to),
        "reply-by" => m.reply_by.as_ref().map(ToString::to_string),
        other => {
            let Some(name) = other.strip_prefix("x-") else {
                return Err(FfiError::invalid(format!(
                    "{field:?} is not a message parameter (use idea_acl_message_content for :content)"
                )));
            };
            m.user_params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, e)| expression_text(e))
        }
    })
}

/// A parameter's value as text (NUL-terminated in `buf`; `*out_len` always receives the length without the
/// NUL): `field` is `"performative"`, `"sender"` (the agent's name), `"language"`, `"encoding"`, `"ontology"`,
/// `"protocol"`, `"conversation-id"`, `"reply-with"`, `"in-reply-to"`, `"reply-by"` or a user-defined
/// `"X-name"`. Expressions give their text (a string without its quotes, a list in the string representation).
/// `IDEA_RESULT_NOT_FOUND` when the message does not carry it; `IDEA_RESULT_INVALID_UTF8` for a string
/// value that is not UTF-8.
///
/// Thread safety: any thread, while no other call changes the message.
///
/// # Safety
/// `message` is a live handle; `field` is NUL-terminated; `buf` is null or valid for `cap` bytes; `out_len` is
/// valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_get(
    message: *const IdeaAclMessage,
    field: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        // SAFETY: the caller's guarantee.
        let field = unsafe { text_in(field, "field") }?;
        let value = get_field(m, field)?.ok_or_else(|| {
            FfiError::new(IdeaResult::NotFound, format!("the message has no {field}"))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&value, buf, cap, out_len) }
    })
}

/// Sets a parameter from text, or removes it when `value` is null: the fields of `idea_acl_message_get` but
/// `"performative"`. Expressions become a word when the text is one, else a string; `"reply-by"` is a FIPA
/// date-time (`20261203T161000000Z`, or relative `+00000000T000500000`).
///
/// Thread safety: not with other calls on the same message.
///
/// # Safety
/// `message` is a live handle; `field` is NUL-terminated; `value` is null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_set(
    message: *mut IdeaAclMessage,
    field: *const c_char,
    value: *const c_char,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow_mut(message) }?;
        // SAFETY: the caller's guarantee.
        let field = unsafe { text_in(field, "field") }?;
        let value = if value.is_null() {
            None
        } else {
            // SAFETY: the caller's guarantee.
            Some(unsafe { text_in(value, "value") }?)
        };
        let expr = value.map(Expression::from);
        match field.to_ascii_lowercase().as_str() {
            "sender" => m.sender = value.map(AgentIdentifier::new),
            "language" => m.language = expr,
            "encoding" => m.encoding = expr,
            "ontology" => m.ontology = expr,
            "protocol" => m.protocol = value.map(str::to_owned),
            "conversation-id" => m.conversation_id = expr,
            "reply-with" => m.reply_with = expr,
            "in-reply-to" => m.in_reply_to = expr,
            "reply-by" => {
                m.reply_by = value
                    .map(|v| DateTime::parse(v.as_bytes(), 0))
                    .transpose()?;
            }
            other => {
                let Some(name) = other.strip_prefix("x-") else {
                    return Err(FfiError::invalid(format!(
                        "{field:?} is not a parameter that can be set"
                    )));
                };
                let name = field.get(2..).unwrap_or(name).to_owned();
                m.user_params
                    .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                if let Some(e) = expr {
                    m.user_params.push((name, e));
                }
            }
        }
        Ok(())
    })
}

/// The message's `:content`, copied into `buf` (bytes; `*out_len` always receives the length).
/// `IDEA_RESULT_NOT_FOUND` when it has none.
///
/// Thread safety: any thread, while no other call changes the message.
///
/// # Safety
/// `message` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_content(
    message: *const IdeaAclMessage,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        let content = m
            .content
            .as_ref()
            .ok_or_else(|| FfiError::new(IdeaResult::NotFound, "the message has no content"))?;
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(content, buf, cap, out_len) }
    })
}

/// Sets `:content` to a copy of `len` bytes (any bytes; null with `len` 0 is empty content).
///
/// Thread safety: not with other calls on the same message.
///
/// # Safety
/// `message` is a live handle; `bytes` is null or valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_set_content(
    message: *mut IdeaAclMessage,
    bytes: *const u8,
    len: usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow_mut(message) }?;
        // SAFETY: the caller's guarantee.
        let content = unsafe { bytes_in(bytes, len, "bytes") }?;
        m.content = Some(Bytes::copy_from_slice(content));
        Ok(())
    })
}

/// How many agents are in `which` (an `IdeaAclAgentList`).
///
/// Thread safety: any thread, while no other call changes the message.
///
/// # Safety
/// `message` is a live handle; `out_count` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_agent_count(
    message: *const IdeaAclMessage,
    which: u32,
    out_count: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        let count = list(m, which)?.len();
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_count, count, "out_count") }
    })
}

/// The name of agent `index` of `which` (NUL-terminated in `buf`; `*out_len` always receives the length).
///
/// Thread safety: any thread, while no other call changes the message.
///
/// # Safety
/// `message` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_agent(
    message: *const IdeaAclMessage,
    which: u32,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow(message) }?;
        let agents = list(m, which)?;
        let agent = agents.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "agent {index} of {}: index out of range",
                agents.len()
            ))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&agent.name, buf, cap, out_len) }
    })
}

/// Adds the agent named `name` to `which` (an `IdeaAclAgentList`); at most 1024 per list.
///
/// Thread safety: not with other calls on the same message.
///
/// # Safety
/// `message` is a live handle; `name` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_add_agent(
    message: *mut IdeaAclMessage,
    which: u32,
    name: *const c_char,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let m = unsafe { borrow_mut(message) }?;
        // SAFETY: the caller's guarantee.
        let name = unsafe { text_in(name, "name") }?;
        if name.is_empty() {
            return Err(FfiError::invalid("an agent name is not empty"));
        }
        let agents = list_mut(m, which)?;
        if agents.len() >= MAX_AGENTS {
            return Err(FfiError::invalid(format!(
                "a list holds at most {MAX_AGENTS} agents"
            )));
        }
        agents.push(AgentIdentifier::new(name));
        Ok(())
    })
}

/// Frees the message in `*message` and sets `*message` to null; a null `message` or `*message` does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `message` is null or valid for reading and writing a pointer that is null or a live message handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_acl_message_free(message: *mut *mut IdeaAclMessage) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(message) })
}
