//! The IEC 104 link layer (clause 5) driven from C: the caller owns the socket and the clock, feeds received
//! bytes and the time in milliseconds of its own monotonic clock, and takes frames to send, events and the next
//! deadline. The handle does the framing (a frame split across reads is kept until it is whole) and the
//! sequence numbering, windows and timers of `iec104::link`.

use super::IdeaIec104AsduParams;
use super::apdu::{IDEA_IEC104_MAX_APDU, frame_length};
use super::asdu::IdeaIec104Asdu;
use crate::IdeaResult;
use crate::buffer::{bytes_in, value_out, write_bytes};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use iec104::link::{CloseReason, Event, Link, LinkParams, Role};
use iec104::{Apdu, AsduParams};
use std::time::{Duration, Instant};

/// Most ASDUs queued behind the k window before `idea_iec104_link_send_asdu` refuses more.
pub const IDEA_IEC104_MAX_QUEUED: usize = 4096;

/// Which end of the connection a link is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104Role {
    /// The controlling station (client): starts and stops data transfer.
    Controlling = 0,
    /// The controlled station (outstation, server).
    Controlled = 1,
}

/// Link parameters (IEC 104 clause 5.5, 9.6), times in milliseconds. `idea_iec104_link_params_default` gives the
/// standard's defaults: k 12, w 8, t0 30 s, t1 15 s, t2 10 s, t3 20 s.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IdeaIec104LinkParams {
    /// Most unacknowledged I frames sent.
    pub k: u16,
    /// Acknowledge at the latest after this many received I frames.
    pub w: u16,
    /// Connection establishment timeout (the caller's socket applies it).
    pub t0_ms: u32,
    /// Timeout of sent or test APDUs.
    pub t1_ms: u32,
    /// Timeout for acknowledging received I frames; below t1.
    pub t2_ms: u32,
    /// Idle time before a test frame.
    pub t3_ms: u32,
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl From<LinkParams> for IdeaIec104LinkParams {
    fn from(p: LinkParams) -> IdeaIec104LinkParams {
        IdeaIec104LinkParams {
            k: p.k,
            w: p.w,
            t0_ms: millis(p.t0),
            t1_ms: millis(p.t1),
            t2_ms: millis(p.t2),
            t3_ms: millis(p.t3),
        }
    }
}

impl From<IdeaIec104LinkParams> for LinkParams {
    fn from(p: IdeaIec104LinkParams) -> LinkParams {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        LinkParams {
            k: p.k,
            w: p.w,
            t0: ms(p.t0_ms),
            t1: ms(p.t1_ms),
            t2: ms(p.t2_ms),
            t3: ms(p.t3_ms),
        }
    }
}

/// What happened on a link.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104EventKind {
    /// Nothing is waiting.
    None = 0,
    /// Data transfer started (STARTDT confirmed, or accepted as controlled station).
    Started = 1,
    /// Data transfer stopped.
    Stopped = 2,
    /// An ASDU arrived: it is in the ASDU output.
    Asdu = 3,
    /// The connection must be closed; `close_reason` says why.
    Closed = 4,
}

/// Why a link closed the connection.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104CloseReason {
    /// Not closed.
    None = 0,
    /// An I frame arrived before data transfer was started.
    IFrameBeforeStart = 1,
    /// An I frame carried an unexpected N(S): `expected` and `received`.
    WrongSendSequence = 2,
    /// An acknowledgement outside the frames in flight: `received`, `oldest`, `next`.
    AcknowledgementOutOfRange = 3,
    /// A frame or activation was not confirmed within t1.
    T1Expired = 4,
    /// A confirmation nobody asked for, or an activation this role does not accept: `u_function`.
    UnexpectedFrame = 5,
    /// The bytes received were not a well-formed APDU (the decode error is the last error of the call that fed
    /// them).
    MalformedFrame = 6,
}

/// One event from `idea_iec104_link_poll_event`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IdeaIec104LinkEvent {
    /// An `IdeaIec104EventKind`.
    pub kind: u32,
    /// An `IdeaIec104CloseReason` (for `CLOSED`).
    pub close_reason: u32,
    /// Sequence numbers the close reason names: N(S) expected, or the oldest unacknowledged.
    pub expected: u16,
    /// N(S) or N(R) received.
    pub received: u16,
    /// Next N(S) to send (acknowledgement out of range).
    pub next: u16,
    /// The unexpected U function (an `IdeaIec104UFunction`).
    pub u_function: u32,
}

impl IdeaIec104LinkEvent {
    fn none() -> IdeaIec104LinkEvent {
        IdeaIec104LinkEvent {
            kind: IdeaIec104EventKind::None as u32,
            close_reason: IdeaIec104CloseReason::None as u32,
            expected: 0,
            received: 0,
            next: 0,
            u_function: 0,
        }
    }

    fn closed(reason: IdeaIec104CloseReason) -> IdeaIec104LinkEvent {
        IdeaIec104LinkEvent {
            kind: IdeaIec104EventKind::Closed as u32,
            close_reason: reason as u32,
            ..IdeaIec104LinkEvent::none()
        }
    }
}

/// The link and what the C side needs around it: the ASDU field sizes, the clock's anchor, the bytes of a
/// frame not yet whole, and an encoded frame the caller's buffer was too small for.
pub(crate) struct LinkState {
    link: Link,
    params: AsduParams,
    anchor: Instant,
    anchor_ms: u64,
    last_ms: u64,
    partial: Vec<u8>,
    staged: Option<Vec<u8>>,
    /// Malformed bytes were received: the link is closed for good.
    malformed: bool,
    /// The `MALFORMED_FRAME` event is still to be reported.
    malformed_unreported: bool,
}

/// One connection's link layer. Made with `idea_iec104_link_new`, freed with `idea_iec104_link_free`. Not
/// safe to use from two threads at once; may move between threads.
pub struct IdeaIec104Link {
    _private: [u8; 0],
}

opaque!(IdeaIec104Link, LinkState, 0x4944_4541_4c49_4e4b);

impl LinkState {
    /// The instant of the caller's `now_ms`; time must not go backwards.
    fn instant(&mut self, now_ms: u64) -> Result<Instant, FfiError> {
        if now_ms < self.last_ms {
            return Err(FfiError::invalid(format!(
                "time went backwards: {now_ms} ms after {} ms",
                self.last_ms
            )));
        }
        self.last_ms = now_ms;
        let since = Duration::from_millis(now_ms.saturating_sub(self.anchor_ms));
        self.anchor
            .checked_add(since)
            .ok_or_else(|| FfiError::invalid(format!("{now_ms} ms is beyond this clock")))
    }

    /// The caller's milliseconds of an instant, rounded up.
    fn millis_of(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.anchor);
        let ms = since.as_nanos().div_ceil(1_000_000);
        self.anchor_ms
            .saturating_add(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}

/// The standard's link parameters.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_params_default(
    out: *mut IdeaIec104LinkParams,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { value_out(out, LinkParams::default().into(), "out") })
}

/// A link on a freshly opened connection, as `role` (an `IdeaIec104Role`), at `now_ms` of the caller's monotonic
/// clock (any origin; every later time is on the same clock and never goes backwards). `link_params` null means
/// the standard's; `asdu_params` null means IEC 104's field sizes. Parameters that break the standard's rules
/// (w above two thirds of k, t2 not below t1, …) give `IDEA_RESULT_IEC104_PARAMETERS`.
///
/// Ownership: `*out` is a new handle; free it with `idea_iec104_link_free`. Thread safety: any thread.
///
/// # Safety
/// `link_params` and `asdu_params` are null or valid for reading; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_new(
    role: u32,
    link_params: *const IdeaIec104LinkParams,
    asdu_params: *const IdeaIec104AsduParams,
    now_ms: u64,
    out: *mut *mut IdeaIec104Link,
) -> IdeaResult {
    guard(|| {
        let role = match role {
            r if r == IdeaIec104Role::Controlling as u32 => Role::Controlling,
            r if r == IdeaIec104Role::Controlled as u32 => Role::Controlled,
            other => {
                return Err(FfiError::invalid(format!(
                    "{other} is not an IdeaIec104Role"
                )));
            }
        };
        // SAFETY: null or valid by the caller's guarantee.
        let params = unsafe { link_params.as_ref() }
            .map_or_else(LinkParams::default, |p| LinkParams::from(*p));
        // SAFETY: the caller's guarantee.
        let asdu = unsafe { super::asdu_params(asdu_params) }?;
        let anchor = Instant::now();
        let link = Link::new(role, params, anchor)?;
        let state = LinkState {
            link,
            params: asdu,
            anchor,
            anchor_ms: now_ms,
            last_ms: now_ms,
            partial: Vec::with_capacity(IDEA_IEC104_MAX_APDU),
            staged: None,
            malformed: false,
            malformed_unreported: false,
        };
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, state) }
    })
}

/// Feeds bytes received from the connection at `now_ms`. Whole frames are handled at once; the rest of a frame
/// is kept for the next call. Malformed bytes give `IDEA_RESULT_IEC104_DECODE` (offset and field in
/// `idea_last_error`) and close the link: a `CLOSED` event with `MALFORMED_FRAME` follows, and the caller
/// closes the connection.
///
/// Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle; `bytes` is null or valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_receive(
    link: *mut IdeaIec104Link,
    bytes: *const u8,
    len: usize,
    now_ms: u64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(link) }?;
        // SAFETY: the caller's guarantee.
        let mut input = unsafe { bytes_in(bytes, len, "bytes") }?;
        let now = state.instant(now_ms)?;
        if state.malformed || state.link.is_closed() {
            return Err(FfiError::new(
                IdeaResult::Iec104LinkClosed,
                "the link is closed; close the connection",
            ));
        }
        while !input.is_empty() {
            let result = frame_length(&state.partial).and_then(|needed| {
                let missing = needed.saturating_sub(state.partial.len());
                let (take, rest) = input.split_at(missing.min(input.len()));
                state.partial.extend_from_slice(take);
                input = rest;
                let needed = frame_length(&state.partial)?;
                if state.partial.len() < needed {
                    return Ok(());
                }
                let (apdu, _) = Apdu::decode(&state.partial, &state.params)?;
                state.partial.clear();
                state.link.handle_apdu(apdu, now);
                Ok(())
            });
            if let Err(e) = result {
                state.malformed = true;
                state.malformed_unreported = true;
                state.partial.clear();
                return Err(e);
            }
        }
        Ok(())
    })
}

/// Controlling station: asks to start data transfer (STARTDT act is the next frame to send).
///
/// Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_start(link: *mut IdeaIec104Link) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        unsafe { borrow_mut(link) }?.link.start();
        Ok(())
    })
}

/// Controlling station: asks to stop data transfer (STOPDT act).
///
/// Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_stop(link: *mut IdeaIec104Link) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        unsafe { borrow_mut(link) }?.link.stop();
        Ok(())
    })
}

/// Queues a copy of `asdu`, sent once data transfer is started and the k window allows. Refused with
/// `IDEA_RESULT_WRONG_STATE` while `IDEA_IEC104_MAX_QUEUED` ASDUs wait, and with `IDEA_RESULT_IEC104_LINK_CLOSED`
/// once the link closed.
///
/// Ownership: `asdu` stays the caller's. Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` and `asdu` are live handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_send_asdu(
    link: *mut IdeaIec104Link,
    asdu: *const IdeaIec104Asdu,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let asdu = unsafe { borrow(asdu) }?.clone();
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(link) }?;
        if state.malformed || state.link.is_closed() {
            return Err(FfiError::new(
                IdeaResult::Iec104LinkClosed,
                "the link is closed",
            ));
        }
        if state.link.queued() >= IDEA_IEC104_MAX_QUEUED {
            return Err(FfiError::new(
                IdeaResult::WrongState,
                format!(
                    "{IDEA_IEC104_MAX_QUEUED} ASDUs already wait behind the k window; send again after acknowledgements"
                ),
            ));
        }
        let mut wire = Vec::new();
        asdu.encode(&state.params, &mut wire)?;
        state.link.send_asdu(asdu);
        Ok(())
    })
}

/// The next frame to send at `now_ms`, written into `buf`: `*out_len` receives its length, 0 when there is
/// nothing to send. A frame the buffer is too small for (`IDEA_RESULT_BUFFER_TOO_SMALL`) is kept and offered
/// again; a buffer of `IDEA_IEC104_MAX_APDU` octets always suffices. Call until `*out_len` is 0.
///
/// Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_poll_transmit(
    link: *mut IdeaIec104Link,
    now_ms: u64,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(link) }?;
        let now = state.instant(now_ms)?;
        if state.malformed {
            // SAFETY: the caller's guarantee.
            return unsafe { value_out(out_len, 0, "out_len") };
        }
        if state.staged.is_none()
            && let Some(apdu) = state.link.poll_transmit(now)
        {
            let mut wire = Vec::with_capacity(IDEA_IEC104_MAX_APDU);
            apdu.encode(&state.params, &mut wire)?;
            state.staged = Some(wire);
        }
        let Some(wire) = &state.staged else {
            // SAFETY: the caller's guarantee.
            return unsafe { value_out(out_len, 0, "out_len") };
        };
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(wire, buf, cap, out_len) }?;
        state.staged = None;
        Ok(())
    })
}

/// When `idea_iec104_link_handle_timeout` should next be called, in the caller's milliseconds: `*out_has` is
/// false when no timer runs (a closed link).
///
/// Thread safety: not with calls that change the same link.
///
/// # Safety
/// `link` is a live handle; the outputs are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_poll_timeout(
    link: *const IdeaIec104Link,
    out_has: *mut bool,
    out_ms: *mut u64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow(link) }?;
        let deadline = if state.malformed {
            None
        } else {
            state.link.poll_timeout().map(|at| state.millis_of(at))
        };
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_has, deadline.is_some(), "out_has")?;
            value_out(out_ms, deadline.unwrap_or(0), "out_ms")
        }
    })
}

/// Applies the timers at `now_ms`: closes on t1, acknowledges at t2, tests an idle connection at t3. Frames and
/// events it makes are then polled.
///
/// Thread safety: not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_handle_timeout(
    link: *mut IdeaIec104Link,
    now_ms: u64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(link) }?;
        let now = state.instant(now_ms)?;
        if !state.malformed {
            state.link.handle_timeout(now);
        }
        Ok(())
    })
}

/// The next event: `out_event->kind` is `IDEA_IEC104_EVENT_KIND_NONE` when nothing waits. For an `ASDU` event
/// the ASDU is written to `*out_asdu` as a new handle (null for other events).
///
/// Ownership: `*out_asdu`, when not null, is the caller's to free with `idea_iec104_asdu_free`. Thread safety:
/// not with other calls on the same link.
///
/// # Safety
/// `link` is a live handle; `out_event` and `out_asdu` are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_poll_event(
    link: *mut IdeaIec104Link,
    out_event: *mut IdeaIec104LinkEvent,
    out_asdu: *mut *mut IdeaIec104Asdu,
) -> IdeaResult {
    guard(|| {
        if out_event.is_null() {
            return Err(FfiError::null("out_event"));
        }
        if out_asdu.is_null() {
            return Err(FfiError::null("out_asdu"));
        }
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow_mut(link) }?;
        let mut asdu = None;
        let event = match state.link.poll_event() {
            None if state.malformed_unreported => {
                state.malformed_unreported = false;
                IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::MalformedFrame)
            }
            None => IdeaIec104LinkEvent::none(),
            Some(Event::Started) => IdeaIec104LinkEvent {
                kind: IdeaIec104EventKind::Started as u32,
                ..IdeaIec104LinkEvent::none()
            },
            Some(Event::Stopped) => IdeaIec104LinkEvent {
                kind: IdeaIec104EventKind::Stopped as u32,
                ..IdeaIec104LinkEvent::none()
            },
            Some(Event::Asdu(a)) => {
                asdu = Some(a);
                IdeaIec104LinkEvent {
                    kind: IdeaIec104EventKind::Asdu as u32,
                    ..IdeaIec104LinkEvent::none()
                }
            }
            Some(Event::Closed(reason)) => close_event(&reason),
        };
        // SAFETY: both checked non-null above and valid by the caller's guarantee.
        unsafe {
            out_event.write(event);
            match asdu {
                Some(a) => new_handle(out_asdu, a)?,
                None => out_asdu.write(std::ptr::null_mut()),
            }
        }
        Ok(())
    })
}

fn close_event(reason: &CloseReason) -> IdeaIec104LinkEvent {
    match reason {
        CloseReason::IFrameBeforeStart => {
            IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::IFrameBeforeStart)
        }
        CloseReason::WrongSendSequence { expected, received } => IdeaIec104LinkEvent {
            expected: *expected,
            received: *received,
            ..IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::WrongSendSequence)
        },
        CloseReason::AcknowledgementOutOfRange {
            received,
            oldest,
            next,
        } => IdeaIec104LinkEvent {
            expected: *oldest,
            received: *received,
            next: *next,
            ..IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::AcknowledgementOutOfRange)
        },
        CloseReason::T1Expired => IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::T1Expired),
        CloseReason::UnexpectedFrame(f) => IdeaIec104LinkEvent {
            u_function: u32::from(f.octet()),
            ..IdeaIec104LinkEvent::closed(IdeaIec104CloseReason::UnexpectedFrame)
        },
    }
}

/// The link's state: whether data transfer is started, whether it closed, how many sent I frames await
/// acknowledgement and how many ASDUs wait behind the k window. Any output may be null.
///
/// Thread safety: not with calls that change the same link.
///
/// # Safety
/// `link` is a live handle; each output is null or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_status(
    link: *const IdeaIec104Link,
    out_started: *mut bool,
    out_closed: *mut bool,
    out_unacknowledged: *mut usize,
    out_queued: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let state = unsafe { borrow(link) }?;
        let closed = state.link.is_closed() || state.malformed;
        // SAFETY: each is null or valid for writing by the caller's guarantee.
        unsafe {
            if let Some(o) = out_started.as_mut() {
                *o = state.link.is_started();
            }
            if let Some(o) = out_closed.as_mut() {
                *o = closed;
            }
            if let Some(o) = out_unacknowledged.as_mut() {
                *o = state.link.unacknowledged();
            }
            if let Some(o) = out_queued.as_mut() {
                *o = state.link.queued();
            }
        }
        Ok(())
    })
}

/// Frees the link in `*link` and sets `*link` to null; a null `link` or `*link` does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `link` is null or valid for reading and writing a pointer that is null or a live link handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_link_free(link: *mut *mut IdeaIec104Link) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(link) })
}
