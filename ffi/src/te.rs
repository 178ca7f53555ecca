//! Transactive energy from C (TE-01..TE-09): ed25519 keys, and the signed objects agents, meters and TE nodes
//! exchange — contracts, channel opens, states and closes, meter readings and delivery tokens — decoded,
//! read, signed (in memory, or elsewhere over their digest, by a secure element) and verified against the
//! signers' keys, in the canonical binary form every signature is made over (`te_contract::signed`).

use crate::IdeaResult;
use crate::buffer::{bytes_in, text_in, value_out, write_bytes, write_text};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use idea_proto::{PublicKey, SigningKey, Timestamp};
use std::ffi::c_char;
use te_contract::channel::{ChannelClose, ChannelOpen, ChannelState};
use te_contract::contract::Contract;
use te_contract::meter::{DeliveryToken, MeterReading};
use te_contract::{AvatarId, Codec, DeploymentId, KeyResolver, MessageKind, Signed};

/// A signed object of one of the kinds this ABI reads.
#[derive(Clone)]
pub(crate) enum AnySigned {
    Contract(Signed<Contract>),
    ChannelOpen(Signed<ChannelOpen>),
    ChannelState(Signed<ChannelState>),
    ChannelClose(Signed<ChannelClose>),
    MeterReading(Signed<MeterReading>),
    DeliveryToken(Signed<DeliveryToken>),
}

/// Runs `$body` with `$s` bound to the signed object, whatever its kind.
macro_rules! each {
    ($any:expr, $s:ident => $body:expr) => {
        match $any {
            AnySigned::Contract($s) => $body,
            AnySigned::ChannelOpen($s) => $body,
            AnySigned::ChannelState($s) => $body,
            AnySigned::ChannelClose($s) => $body,
            AnySigned::MeterReading($s) => $body,
            AnySigned::DeliveryToken($s) => $body,
        }
    };
}

/// A signed object: made by `idea_te_signed_decode` or one of the `_new` functions, freed with
/// `idea_te_signed_free`. Not safe to use from two threads at once; may move between threads.
pub struct IdeaTeSigned {
    _private: [u8; 0],
}
opaque!(IdeaTeSigned, AnySigned, 0x4944_4541_5445_5347);

/// The kinds of signed object (their codes on the wire). Numbers are stable.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaTeKind {
    /// A smart contract fixing a transaction's terms (seller, then buyer sign).
    Contract = 16,
    /// A debt payment channel opened between two avatars (TE-09).
    ChannelOpen = 32,
    /// A channel state: counter, debts and payments.
    ChannelState = 33,
    /// A cooperative close of a channel.
    ChannelClose = 34,
    /// A meter's signed register reading (TE-03).
    MeterReading = 48,
    /// A meter's statement of the energy it counted in one settlement interval.
    DeliveryToken = 49,
}

/// What a signed object is and who signs it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaTeSignedInfo {
    /// Its kind (an `IdeaTeKind`).
    pub kind: u16,
    /// The channel, contract or avatar it belongs to.
    pub scope: [u8; 16],
    /// Its counter (a channel state's, a reading's sequence, a token's interval start in ms); 0 where none.
    pub counter: u64,
    /// Signatures it carries.
    pub signatures: usize,
    /// Signatures it needs (`idea_te_signed_signer` names the signers in order).
    pub signers: usize,
}

/// A signer's key, for verification: the avatar, the version of its key (0 for the key it registered with)
/// and the 32-byte ed25519 public key.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IdeaTeKey {
    /// The avatar id.
    pub avatar: [u8; 16],
    /// The key's version.
    pub key_version: u32,
    /// The public key.
    pub public_key: [u8; 32],
}

/// A meter reading's fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaTeMeterReading {
    /// The meter's avatar.
    pub meter: [u8; 16],
    /// Strictly increasing per meter.
    pub sequence: u64,
    /// When the registers were read, ms since the Unix epoch (UTC).
    pub at_unix_ms: i64,
    /// Energy that ever flowed into the cell, Wh.
    pub import_wh: i64,
    /// Energy that ever flowed out of the cell, Wh.
    pub export_wh: i64,
}

/// A delivery token's fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaTeDeliveryToken {
    /// Its id, derived from the meter and the interval's start.
    pub id: [u8; 16],
    /// The meter's avatar.
    pub meter: [u8; 16],
    /// The interval's start, ms since the Unix epoch (UTC).
    pub start_unix_ms: i64,
    /// The interval's length, s.
    pub period_s: u32,
    /// Energy into the cell in the interval, Wh.
    pub import_wh: i64,
    /// Energy out of the cell in the interval, Wh.
    pub export_wh: i64,
    /// Whether a boundary was interpolated across a missing reading.
    pub estimated: bool,
}

/// A channel state's totals, in minor units of the channel's currency.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaTeChannelState {
    /// The channel.
    pub channel: [u8; 16],
    /// Its counter.
    pub counter: u64,
    /// Everything A has ever owed.
    pub owed_by_a: i64,
    /// Everything B has ever owed.
    pub owed_by_b: i64,
    /// Everything A has ever paid.
    pub paid_by_a: i64,
    /// Everything B has ever paid.
    pub paid_by_b: i64,
    /// What A owes B now, net (negative: B owes A).
    pub net_owed_by_a: i64,
    /// Debts this state adds.
    pub debts: usize,
    /// Payments this state adds.
    pub payments: usize,
}

/// A contract's parties and time; its terms are read with `idea_te_contract_transaction_json`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaTeContract {
    /// The contract (transaction) id.
    pub id: [u8; 16],
    /// The seller's avatar (signs first).
    pub seller: [u8; 16],
    /// The buyer's avatar.
    pub buyer: [u8; 16],
    /// When both agreed, ms since the Unix epoch (UTC).
    pub agreed_at_unix_ms: i64,
}

/// # Safety
/// `ptr` is null or valid for reading `N` bytes.
unsafe fn array_in<const N: usize>(ptr: *const u8, name: &str) -> Result<[u8; N], FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    let mut out = [0u8; N];
    // SAFETY: valid for N bytes by the caller's guarantee.
    unsafe { std::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), N) };
    Ok(out)
}

/// # Safety
/// `ptr` is null or valid for writing `data.len()` bytes.
unsafe fn array_out(data: &[u8], ptr: *mut u8, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: valid for the length by the caller's guarantee.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
    Ok(())
}

fn timestamp(ms: i64) -> Result<Timestamp, FfiError> {
    Timestamp::from_unix_ms(ms).map_err(|e| FfiError::invalid(format!("{ms} ms: {e}")))
}

fn deployment(text: &str) -> Result<DeploymentId, FfiError> {
    Ok(DeploymentId::new(text)?)
}

/// A new ed25519 key from the operating system's random source: its 32 secret bytes into `out_secret` and
/// its public key into `out_public`. Keep the secret as secret as any private key.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out_secret` and `out_public` are valid for writing 32 bytes each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_key_generate(
    out_secret: *mut u8,
    out_public: *mut u8,
) -> IdeaResult {
    guard(|| {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| {
            FfiError::new(
                IdeaResult::TeOther,
                format!("no randomness from the system: {e}"),
            )
        })?;
        let public = PublicKey::from(&SigningKey::from_bytes(&secret)).to_bytes();
        // SAFETY: the caller's guarantee.
        unsafe {
            array_out(&secret, out_secret, "out_secret")?;
            array_out(&public, out_public, "out_public")
        }
    })
}

/// The public key of a 32-byte ed25519 secret (from the caller's own random source or secure storage).
///
/// Thread safety: any thread.
///
/// # Safety
/// `secret` is valid for reading 32 bytes; `out_public` for writing 32.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_public_key(secret: *const u8, out_public: *mut u8) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let secret = unsafe { array_in::<32>(secret, "secret") }?;
        let public = PublicKey::from(&SigningKey::from_bytes(&secret)).to_bytes();
        // SAFETY: the caller's guarantee.
        unsafe { array_out(&public, out_public, "out_public") }
    })
}

/// `input` decoded as a signed `T`, wrapped as the handle's variant.
fn decoded<T: te_contract::signed::Body>(
    input: &[u8],
    wrap: fn(Signed<T>) -> AnySigned,
) -> Result<(AnySigned, usize), FfiError> {
    let (s, n) = Signed::<T>::decode(input)?;
    Ok((wrap(s), n))
}

fn decode_any(input: &[u8]) -> Result<(AnySigned, usize), FfiError> {
    let code = match input {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => {
            return Err(te_contract::Error::Decode {
                offset: 0,
                field: "kind",
                reason: "fewer than 2 bytes".to_owned(),
            }
            .into());
        }
    };
    let kind = MessageKind::from_code(code);
    Ok(match kind {
        Some(MessageKind::Contract) => decoded(input, AnySigned::Contract)?,
        Some(MessageKind::ChannelOpen) => decoded(input, AnySigned::ChannelOpen)?,
        Some(MessageKind::ChannelState) => decoded(input, AnySigned::ChannelState)?,
        Some(MessageKind::ChannelClose) => decoded(input, AnySigned::ChannelClose)?,
        Some(MessageKind::MeterReading) => decoded(input, AnySigned::MeterReading)?,
        Some(MessageKind::DeliveryToken) => {
            let (s, n) = Signed::<DeliveryToken>::decode(input)?;
            s.body().validate()?;
            (AnySigned::DeliveryToken(s), n)
        }
        other => {
            return Err(FfiError::new(
                IdeaResult::TeUnsupportedKind,
                match other {
                    Some(k) => format!("a {k} is not read by the C ABI"),
                    None => format!("{code} is not a kind of signed object"),
                },
            ));
        }
    })
}

/// Decodes the signed object at the front of `bytes` (its canonical binary form: kind, deployment, body,
/// signatures). Its form is checked — a body that is not the canonical encoding of its value is refused — but
/// not its signatures: call `idea_te_signed_verify`.
///
/// Ownership: `*out` is a new handle; free it with `idea_te_signed_free`. Thread safety: any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `out` and `out_used` are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_decode(
    bytes: *const u8,
    len: usize,
    out: *mut *mut IdeaTeSigned,
    out_used: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        if out_used.is_null() {
            return Err(FfiError::null("out_used"));
        }
        let (signed, used) = decode_any(input)?;
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_used, used, "out_used")?;
            new_handle(out, signed)
        }
    })
}

/// The object's canonical binary form, signatures included, into `buf`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_encode(
    signed: *const IdeaTeSigned,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let bytes = each!(any, s => s.to_bytes());
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&bytes, buf, cap, out_len) }
    })
}

fn info_of<T: te_contract::signed::Body>(s: &Signed<T>) -> IdeaTeSignedInfo {
    let body = s.body();
    IdeaTeSignedInfo {
        kind: T::KIND.code(),
        scope: body.scope(),
        counter: body.counter(),
        signatures: s.signatures().len(),
        signers: body.signers().len(),
    }
}

/// What the object is and how many signatures it has and needs.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_info(
    signed: *const IdeaTeSigned,
    out: *mut IdeaTeSignedInfo,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let info = each!(any, s => info_of(s));
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, info, "out") }
    })
}

/// The name of a kind (`"delivery-token"`), NUL-terminated; null for a code that is not one.
///
/// Ownership: static; do not free. Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn idea_te_kind_name(kind: u16) -> *const c_char {
    match MessageKind::from_code(kind) {
        Some(MessageKind::Registration) => c"registration".as_ptr(),
        Some(MessageKind::KeyRotation) => c"key-rotation".as_ptr(),
        Some(MessageKind::Revocation) => c"revocation".as_ptr(),
        Some(MessageKind::Contract) => c"contract".as_ptr(),
        Some(MessageKind::ChannelOpen) => c"channel-open".as_ptr(),
        Some(MessageKind::ChannelState) => c"channel-state".as_ptr(),
        Some(MessageKind::ChannelClose) => c"channel-close".as_ptr(),
        Some(MessageKind::ChannelCloseRequest) => c"channel-close-request".as_ptr(),
        Some(MessageKind::MeterReading) => c"meter-reading".as_ptr(),
        Some(MessageKind::DeliveryToken) => c"delivery-token".as_ptr(),
        Some(MessageKind::Dispute) => c"dispute".as_ptr(),
        Some(MessageKind::LedgerCheckpoint) => c"ledger-checkpoint".as_ptr(),
        _ => std::ptr::null(),
    }
}

/// The deployment the object was made for (text).
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_deployment(
    signed: *const IdeaTeSigned,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let name = each!(any, s => s.deployment().as_str().to_owned());
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&name, buf, cap, out_len) }
    })
}

/// The avatar that must make signature `index` (0 to `signers` − 1, in signing order).
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out_avatar` is valid for writing 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_signer(
    signed: *const IdeaTeSigned,
    index: usize,
    out_avatar: *mut u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let signers = each!(any, s => te_contract::signed::Body::signers(s.body()));
        let avatar = signers.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "signer {index} of {}: index out of range",
                signers.len()
            ))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { array_out(&avatar.0, out_avatar, "out_avatar") }
    })
}

/// Signature `index` (0 to `signatures` − 1) as carried: its signer, key version and 64 bytes.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out_signer` is valid for writing 16 bytes, `out_key_version` for a `u32` and
/// `out_signature` for 64 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_signature(
    signed: *const IdeaTeSigned,
    index: usize,
    out_signer: *mut u8,
    out_key_version: *mut u32,
    out_signature: *mut u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let signatures = each!(any, s => s.signatures().to_vec());
        let found = signatures.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "signature {index} of {}: index out of range",
                signatures.len()
            ))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe {
            array_out(&found.signer.0, out_signer, "out_signer")?;
            value_out(out_key_version, found.key_version, "out_key_version")?;
            array_out(&found.bytes, out_signature, "out_signature")
        }
    })
}

/// The 32-byte digest the signatures are made over (bound to the protocol, deployment, kind, scope and
/// counter): what a secure element signs with ed25519 before `idea_te_signed_attach`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out_digest` is valid for writing 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_digest(
    signed: *const IdeaTeSigned,
    out_digest: *mut u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        let digest = each!(any, s => s.digest());
        // SAFETY: the caller's guarantee.
        unsafe { array_out(&digest, out_digest, "out_digest") }
    })
}

/// Adds the signature of `signer` (the next signer in order) made with key `key_version` whose 32 secret bytes
/// are `secret`. Another avatar than the next signer is `IDEA_RESULT_TE_WRONG_SIGNERS`.
///
/// Thread safety: not with other calls on the same object.
///
/// # Safety
/// `signed` is a live handle; `signer` is valid for 16 bytes and `secret` for 32.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_sign(
    signed: *mut IdeaTeSigned,
    signer: *const u8,
    key_version: u32,
    secret: *const u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow_mut(signed) }?;
        // SAFETY: the caller's guarantee.
        let signer = AvatarId::from_bytes(unsafe { array_in::<16>(signer, "signer") }?);
        // SAFETY: the caller's guarantee.
        let key = SigningKey::from_bytes(&unsafe { array_in::<32>(secret, "secret") }?);
        each!(any, s => s.sign(signer, key_version, &key))?;
        Ok(())
    })
}

/// Adds a signature `signer` made elsewhere over `idea_te_signed_digest` (64 bytes). It is checked with the
/// others by `idea_te_signed_verify`.
///
/// Thread safety: not with other calls on the same object.
///
/// # Safety
/// `signed` is a live handle; `signer` is valid for 16 bytes and `signature` for 64.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_attach(
    signed: *mut IdeaTeSigned,
    signer: *const u8,
    key_version: u32,
    signature: *const u8,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow_mut(signed) }?;
        // SAFETY: the caller's guarantee.
        let signer = AvatarId::from_bytes(unsafe { array_in::<16>(signer, "signer") }?);
        // SAFETY: the caller's guarantee.
        let bytes = unsafe { array_in::<64>(signature, "signature") }?;
        each!(any, s => s.attach(signer, key_version, bytes))?;
        Ok(())
    })
}

/// The keys given from C, found by avatar and version.
struct GivenKeys(Vec<(AvatarId, u32, PublicKey)>);

impl KeyResolver for GivenKeys {
    fn key(
        &self,
        avatar: &AvatarId,
        version: u32,
        _at: Timestamp,
    ) -> te_contract::Result<PublicKey> {
        self.0
            .iter()
            .find(|(a, v, _)| a == avatar && *v == version)
            .map(|(_, _, k)| *k)
            .ok_or(te_contract::Error::KeyNotValid {
                avatar: *avatar,
                version,
                reason: "no key was given for it",
            })
    }
}

/// Verifies the object: made for `deployment`, carrying exactly the signatures it needs in order, each
/// verifying under the key given for its signer and key version among the `n` `keys` (weak keys refused). A
/// delivery token's id must also be its own. Fails with `IDEA_RESULT_TE_WRONG_DOMAIN`,
/// `IDEA_RESULT_TE_WRONG_SIGNERS`, `IDEA_RESULT_TE_UNKNOWN_KEY`, `IDEA_RESULT_TE_INVALID` or
/// `IDEA_RESULT_TE_BAD_SIGNATURE`, naming the signer.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `deployment` is NUL-terminated; `keys` is valid for `n` keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_verify(
    signed: *const IdeaTeSigned,
    deployment_name: *const c_char,
    keys: *const IdeaTeKey,
    n: usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let any = unsafe { borrow(signed) }?;
        // SAFETY: the caller's guarantee.
        let deployment = deployment(unsafe { text_in(deployment_name, "deployment") }?)?;
        if keys.is_null() && n > 0 {
            return Err(FfiError::null("keys"));
        }
        let given: &[IdeaTeKey] = if n == 0 {
            &[]
        } else {
            // SAFETY: valid for `n` keys by the caller's guarantee.
            unsafe { std::slice::from_raw_parts(keys, n) }
        };
        let mut resolved = Vec::with_capacity(given.len());
        for k in given {
            resolved.push((
                AvatarId::from_bytes(k.avatar),
                k.key_version,
                PublicKey::from_bytes(&k.public_key).map_err(|e| {
                    FfiError::new(
                        IdeaResult::TeInvalid,
                        format!("the key given for {}: {e}", AvatarId::from_bytes(k.avatar)),
                    )
                })?,
            ));
        }
        let resolver = GivenKeys(resolved);
        // Keys given from C are not bound to time: any instant does.
        let at = Timestamp::from_unix_ms(0).map_err(|e| FfiError::invalid(e.to_string()))?;
        if let AnySigned::DeliveryToken(s) = any {
            s.body().validate()?;
        }
        each!(any, s => s.verify(&resolver, &deployment, at))?;
        Ok(())
    })
}

/// Frees the object in `*signed` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `signed` is null or valid for reading and writing a pointer that is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_signed_free(signed: *mut *mut IdeaTeSigned) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(signed) })
}

/// A new, unsigned meter reading of `meter` (its registers at `reading->at_unix_ms`) in `deployment`, for
/// the meter to sign (`idea_te_signed_sign` or over its digest). Negative registers are refused.
///
/// Ownership: `*out` is a new handle. Thread safety: any thread.
///
/// # Safety
/// `deployment` is NUL-terminated; `reading` is valid for reading; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_meter_reading_new(
    deployment_name: *const c_char,
    reading: *const IdeaTeMeterReading,
    out: *mut *mut IdeaTeSigned,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let deployment = deployment(unsafe { text_in(deployment_name, "deployment") }?)?;
        // SAFETY: null or valid by the caller's guarantee.
        let r = unsafe { reading.as_ref() }.ok_or_else(|| FfiError::null("reading"))?;
        if r.import_wh < 0 || r.export_wh < 0 {
            return Err(FfiError::new(
                IdeaResult::TeInvalid,
                "a register cannot be negative",
            ));
        }
        let body = MeterReading {
            meter: AvatarId::from_bytes(r.meter),
            sequence: r.sequence,
            at: timestamp(r.at_unix_ms)?,
            import_wh: r.import_wh,
            export_wh: r.export_wh,
        };
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, AnySigned::MeterReading(Signed::new(deployment, body))) }
    })
}

/// A new, unsigned delivery token of `meter` for the interval from `token->start_unix_ms` (its id derived
/// from both; `token->id` is ignored), for the meter to sign. An empty interval or negative energy is refused.
///
/// Ownership: `*out` is a new handle. Thread safety: any thread.
///
/// # Safety
/// `deployment` is NUL-terminated; `token` is valid for reading; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_delivery_token_new(
    deployment_name: *const c_char,
    token: *const IdeaTeDeliveryToken,
    out: *mut *mut IdeaTeSigned,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let deployment = deployment(unsafe { text_in(deployment_name, "deployment") }?)?;
        // SAFETY: null or valid by the caller's guarantee.
        let t = unsafe { token.as_ref() }.ok_or_else(|| FfiError::null("token"))?;
        let body = DeliveryToken::new(
            AvatarId::from_bytes(t.meter),
            timestamp(t.start_unix_ms)?,
            t.period_s,
            t.import_wh,
            t.export_wh,
            t.estimated,
        )?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, AnySigned::DeliveryToken(Signed::new(deployment, body))) }
    })
}

fn wrong_kind(expected: &str) -> FfiError {
    FfiError::new(
        IdeaResult::WrongState,
        format!("the object is not a {expected}"),
    )
}

/// The fields of a meter reading; another kind is `IDEA_RESULT_WRONG_STATE`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_meter_reading_read(
    signed: *const IdeaTeSigned,
    out: *mut IdeaTeMeterReading,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnySigned::MeterReading(s) = unsafe { borrow(signed) }? else {
            return Err(wrong_kind("meter reading"));
        };
        let r = s.body();
        let view = IdeaTeMeterReading {
            meter: r.meter.0,
            sequence: r.sequence,
            at_unix_ms: r.at.unix_ms(),
            import_wh: r.import_wh,
            export_wh: r.export_wh,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// The fields of a delivery token; another kind is `IDEA_RESULT_WRONG_STATE`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_delivery_token_read(
    signed: *const IdeaTeSigned,
    out: *mut IdeaTeDeliveryToken,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnySigned::DeliveryToken(s) = unsafe { borrow(signed) }? else {
            return Err(wrong_kind("delivery token"));
        };
        let t = s.body();
        let view = IdeaTeDeliveryToken {
            id: t.id,
            meter: t.meter.0,
            start_unix_ms: t.start.unix_ms(),
            period_s: t.period_s,
            import_wh: t.import_wh,
            export_wh: t.export_wh,
            estimated: t.estimated,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// The totals of a channel state; another kind is `IDEA_RESULT_WRONG_STATE`. A net that overflows is
/// `IDEA_RESULT_TE_INVALID`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_channel_state_read(
    signed: *const IdeaTeSigned,
    out: *mut IdeaTeChannelState,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnySigned::ChannelState(s) = unsafe { borrow(signed) }? else {
            return Err(wrong_kind("channel state"));
        };
        let c = s.body();
        let view = IdeaTeChannelState {
            channel: c.channel.0,
            counter: c.counter,
            owed_by_a: c.owed_by_a,
            owed_by_b: c.owed_by_b,
            paid_by_a: c.paid_by_a,
            paid_by_b: c.paid_by_b,
            net_owed_by_a: c.net_owed_by_a()?,
            debts: c.debts.len(),
            payments: c.payments.len(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// A contract's parties and time; another kind is `IDEA_RESULT_WRONG_STATE`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_contract_read(
    signed: *const IdeaTeSigned,
    out: *mut IdeaTeContract,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnySigned::Contract(s) = unsafe { borrow(signed) }? else {
            return Err(wrong_kind("contract"));
        };
        let c = s.body();
        let view = IdeaTeContract {
            id: *c.id().as_bytes(),
            seller: c.seller.0,
            buyer: c.buyer.0,
            agreed_at_unix_ms: c.agreed_at.unix_ms(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// A contract's transaction — parties, subject, profile, price, delivery window, tolerance, penalty — in its
/// JSON form (`idea-proto`'s serde form), NUL-terminated in `buf`.
///
/// Thread safety: any thread, while no other call changes the object.
///
/// # Safety
/// `signed` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_te_contract_transaction_json(
    signed: *const IdeaTeSigned,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnySigned::Contract(s) = unsafe { borrow(signed) }? else {
            return Err(wrong_kind("contract"));
        };
        let json = serde_json::to_string(&s.body().transaction)
            .map_err(|e| FfiError::new(IdeaResult::TeOther, format!("JSON: {e}")))?;
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&json, buf, cap, out_len) }
    })
}
