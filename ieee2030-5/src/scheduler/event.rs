//! One `DERControl` as the scheduler holds it: its program, modes, effective window and progress.

use super::ProgramId;
use super::modes::ModeSet;
use super::randomize::{Draw, offset};
use super::response::ResponseStatus;
use super::schedule::TIME_LIMIT;
use crate::resources::DERControl;

/// The largest randomisation the schema allows (`OneHourRangeType`).
const RANDOMIZE_LIMIT: i64 = 3600;

/// What a device makes of an event on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Scheduled.
    Accepted,
    /// Not for this device's category: no response, never scheduled (clause 12.1.3: a device whose
    /// category does not match SHALL NOT respond).
    Ignored,
    /// Refused with this status (252, 253 or 254).
    Rejected(ResponseStatus),
}

impl Verdict {
    /// The state an event starts in.
    fn state(self) -> EventState {
        match self {
            Verdict::Accepted => EventState::Scheduled,
            Verdict::Ignored => EventState::Ignored,
            Verdict::Rejected(status) => EventState::Rejected(status),
        }
    }
}

/// The lifecycle of an event on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventState {
    /// Received; its effective start is in the future.
    Scheduled,
    /// In control of at least one of its modes.
    Active,
    /// Within its window but every mode it still holds is taken by an event of higher primacy; it resumes
    /// when that one ends.
    Suspended,
    /// Within its window, but the user opted out.
    OptedOut,
    /// Ended at its effective end.
    Completed,
    /// Cancelled by its server.
    Cancelled,
    /// Superseded: by a newer event on the same modes, or by its server.
    Superseded,
    /// Aborted because its program was withdrawn.
    Aborted,
    /// Refused on receipt with the given status.
    Rejected(ResponseStatus),
    /// Not addressed to this device's category.
    Ignored,
}

impl EventState {
    /// Whether the event can no longer act.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            EventState::Scheduled
                | EventState::Active
                | EventState::Suspended
                | EventState::OptedOut
        )
    }
}

/// A `DERControl` with what the scheduler knows and decided about it. Times are server time.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) control: DERControl,
    pub(crate) program: ProgramId,
    pub(crate) primacy: u8,
    pub(crate) modes: ModeSet,
    /// Effective start: `interval.start` plus the start randomisation.
    pub(crate) start: i64,
    /// Effective end without cancellation: effective start plus `duration` plus the duration randomisation.
    pub(crate) nominal_end: i64,
    /// When a cancellation takes effect.
    pub(crate) cancel_at: Option<i64>,
    /// When the server's `currentStatus` 4 (superseded) was seen.
    pub(crate) superseded_at: Option<i64>,
    /// The time from which this event starts at once, its start randomisation waived, because the server
    /// superseded an older event in its favour (see [`Event::hasten`]).
    pub(crate) hastened: Option<i64>,
    pub(crate) verdict: Verdict,
    pub(crate) opted_out: bool,
    pub(crate) opted_out_ever: bool,
    /// Held at least one mode at some time.
    pub(crate) ran: bool,
    /// A displacement by another program's event has been reported.
    pub(crate) displacement_reported: bool,
    pub(crate) state: EventState,
    /// Still listed by its program at the last update.
    pub(crate) listed: bool,
}

impl Event {
    /// An event as first received at server time `now`.
    pub(crate) fn new(
        control: DERControl,
        program: ProgramId,
        primacy: u8,
        seed: u64,
        supported: ModeSet,
        category: Option<u32>,
        now: i64,
    ) -> Self {
        let mut event = Event {
            modes: ModeSet::EMPTY,
            start: 0,
            nominal_end: 0,
            cancel_at: None,
            superseded_at: None,
            hastened: None,
            verdict: Verdict::Accepted,
            opted_out: false,
            opted_out_ever: false,
            ran: false,
            displacement_reported: false,
            state: EventState::Scheduled,
            listed: true,
            control,
            program,
            primacy,
        };
        event.verdict = event.judge(seed, supported, category);
        if event.verdict == Verdict::Accepted && event.nominal_end <= now {
            event.verdict = Verdict::Rejected(ResponseStatus::EventExpired);
        }
        event.state = event.verdict.state();
        event
    }

    /// Takes a newer copy of the same event from the server. Before the event has run its times and modes
    /// follow the server's; afterwards only its status (cancellation, supersession) does.
    pub(crate) fn update(
        &mut self,
        control: DERControl,
        primacy: u8,
        seed: u64,
        supported: ModeSet,
        category: Option<u32>,
    ) {
        if self.verdict != Verdict::Accepted || self.state.is_final() {
            return;
        }
        if self.ran {
            self.control.event_status = control.event_status;
            return;
        }
        self.control = control;
        self.primacy = primacy;
        let verdict = self.judge(seed, supported, category);
        if verdict != Verdict::Accepted {
            self.verdict = verdict;
            self.state = verdict.state();
        }
    }

    /// The range of start times its `randomizeStart` allows: from `interval.start` to `interval.start`
    /// plus the bound, in either order.
    pub(crate) fn start_range(&self) -> (i64, i64) {
        let start = self.control.interval.start;
        let bound = start.saturating_add(i64::from(self.control.randomize_start.unwrap_or(0)));
        (start.min(bound), start.max(bound))
    }

    /// Whether server time `t` is inside its start randomisation window (empty without `randomizeStart`).
    pub(crate) fn in_start_randomization(&self, t: i64) -> bool {
        let (low, high) = self.start_range();
        low <= t && t < high
    }

    /// Starts the event at server time `t` (or its earliest allowed start, if later) instead of its
    /// randomised start, when that is later: the `currentStatus` 4 rule of clause 10.10 (`EventStatus`),
    /// under which a device that sees an event superseded starts the new one at once unless it is still in
    /// the superseded event's start randomisation window. The randomised duration is kept. Does nothing
    /// to an event that has run.
    pub(crate) fn hasten(&mut self, t: i64) {
        if self.ran || self.verdict != Verdict::Accepted {
            return;
        }
        self.hastened = Some(self.hastened.map_or(t, |h| h.min(t)));
        self.apply_hastening();
    }

    fn apply_hastening(&mut self) {
        let Some(t) = self.hastened else { return };
        let start = t.max(self.start_range().0);
        if start < self.start {
            let length = self.nominal_end.saturating_sub(self.start);
            self.start = start;
            self.nominal_end = start.saturating_add(length);
        }
    }

    /// Reads the server's status at server time `now`: a cancellation or a supersession starts counting.
    pub(crate) fn observe_status(&mut self, seed: u64, now: i64) {
        match self.control.event_status.current_status {
            2 if self.cancel_at.is_none() => self.cancel_at = Some(now),
            3 if self.cancel_at.is_none() => {
                let bound = i64::from(self.control.randomize_start.unwrap_or(0))
                    .abs()
                    .max(i64::from(self.control.randomize_duration.unwrap_or(0)).abs());
                let delay = offset(seed, &self.control.mrid, Draw::Cancel, bound);
                self.cancel_at = Some(now.saturating_add(delay));
            }
            4 if self.superseded_at.is_none() => self.superseded_at = Some(now),
            _ => {}
        }
    }

    /// Checks the event and lays out its window; returns what the device makes of it.
    fn judge(&mut self, seed: u64, supported: ModeSet, category: Option<u32>) -> Verdict {
        let control = &self.control;
        let wanted = control.device_category.map(|c| u32::from_be_bytes(c.0));
        if wanted
            .zip(category)
            .is_some_and(|(wanted, ours)| wanted & ours == 0)
        {
            return Verdict::Ignored;
        }
        self.modes = ModeSet::of(&control.der_control_base);
        let randomize_start = i64::from(control.randomize_start.unwrap_or(0));
        let randomize_duration = i64::from(control.randomize_duration.unwrap_or(0));
        if control.event_status.current_status > 4
            || self.modes.is_empty()
            || randomize_start.abs() > RANDOMIZE_LIMIT
            || randomize_duration.abs() > RANDOMIZE_LIMIT
        {
            return Verdict::Rejected(ResponseStatus::EventInvalid);
        }
        if !self.modes.is_subset(supported) {
            return Verdict::Rejected(ResponseStatus::EventNotApplicable);
        }
        let start_offset = offset(seed, &control.mrid, Draw::Start, randomize_start);
        let duration_offset = offset(seed, &control.mrid, Draw::Duration, randomize_duration);
        let window = control
            .interval
            .start
            .checked_add(start_offset)
            .and_then(|start| {
                let length = i64::from(control.interval.duration)
                    .checked_add(duration_offset)?
                    .max(0);
                Some((start, start.checked_add(length)?))
            });
        let within = -TIME_LIMIT..=TIME_LIMIT;
        match window.filter(|(start, end)| within.contains(start) && within.contains(end)) {
            Some((start, end)) => {
                self.start = start;
                self.nominal_end = end;
                self.apply_hastening();
                Verdict::Accepted
            }
            None => Verdict::Rejected(ResponseStatus::EventInvalid),
        }
    }

    /// The effective end: the nominal end, or earlier if cancelled or superseded by the server.
    pub(crate) fn end(&self) -> i64 {
        let mut end = self.nominal_end;
        for cut in [self.cancel_at, self.superseded_at].into_iter().flatten() {
            end = end.min(cut.max(self.start));
        }
        end
    }

    /// Whether server time `t` is inside the effective window.
    pub(crate) fn in_window(&self, t: i64) -> bool {
        self.start <= t && t < self.end()
    }

    /// Whether the event is scheduled and not finished.
    pub(crate) fn is_live(&self) -> bool {
        self.verdict == Verdict::Accepted && !self.state.is_final()
    }

    /// Precedence between two events on the same mode: lower primacy value first, then the later
    /// `creationTime`, then the larger mRID (a deterministic tie-break the standard leaves open).
    pub(crate) fn outranks(&self, other: &Event) -> bool {
        (other.primacy, self.control.creation_time, self.control.mrid)
            > (
                self.primacy,
                other.control.creation_time,
                other.control.mrid,
            )
    }
}
