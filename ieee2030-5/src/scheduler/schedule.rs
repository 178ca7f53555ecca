//! The scheduler itself: inputs from the server's resources, time from the caller, outputs as queued
//! responses and the controls in force.

use super::active::{ActiveControls, ControlSource};
use super::event::{Event, EventState, Verdict};
use super::modes::{DerMode, ModeSet};
use super::response::{ResponseRequired, ResponseStatus};
use super::{ProgramId, UnixTime};
use crate::primitives::{HexBinary, HexBinary160, Mrid};
use crate::resources::{DERControl, DERControlResponse, DERProgram, DefaultDERControl, Time};
use std::collections::{BTreeMap, VecDeque};

/// The largest time, in seconds either side of 1970, the scheduler works with (2⁴⁰ s, about 34,800 years):
/// events outside it are invalid, server times outside it are not taken, so every time converts between
/// device and server clocks without overflow.
pub const TIME_LIMIT: i64 = 1 << 40;

/// What the scheduler needs to know about the device it schedules for.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The device's LFDI, written into every response.
    pub lfdi: HexBinary160,
    /// The device's `deviceCategory` bits; events for other categories are ignored without a response.
    /// `None` takes every event.
    pub device_category: Option<HexBinary<4>>,
    /// The modes the device supports (from its `DERCapability`); an event setting another is refused with
    /// 252 (not applicable).
    pub supported: ModeSet,
    /// The seed of the event randomisation: a random value fixed per device in production, any constant in
    /// tests.
    pub seed: u64,
}

/// A response the device should `POST` to the event's `replyTo`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingResponse {
    /// Where to post it: the event's `replyTo` (a server that asks for responses must give one).
    pub reply_to: Option<String>,
    /// The response, `createdDateTime` in server time.
    #[doc(alias = "DERControlResponse")]
    pub response: DERControlResponse,
}

impl OutgoingResponse {
    /// The status it reports.
    pub fn status(&self) -> Option<ResponseStatus> {
        self.response.status.and_then(ResponseStatus::from_code)
    }
}

/// Something that changed, for the caller to act on or log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SchedulerEvent {
    /// An event moved to a new state.
    StateChanged {
        /// The event's mRID.
        mrid: Mrid,
        /// Its new state.
        state: EventState,
        /// Server time of the change.
        at: UnixTime,
    },
    /// The controls in force changed: read [`Scheduler::active`] and apply them to the device.
    ControlsChanged {
        /// Server time of the change.
        at: UnixTime,
    },
}

/// What the caller can see about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    /// Its state.
    pub state: EventState,
    /// Its program.
    pub program: ProgramId,
    /// The modes it sets.
    pub modes: ModeSet,
    /// Effective start in server time (randomisation applied).
    pub start: UnixTime,
    /// Effective end in server time (randomisation, cancellation and supersession by the server applied).
    pub end: UnixTime,
}

#[derive(Debug, Clone)]
struct Program {
    primacy: u8,
    default: Option<DefaultDERControl>,
}

/// How an event stands at one moment, derived from all events.
#[derive(Debug, Clone, Copy)]
struct Standing {
    /// Its modes not yet superseded.
    remaining: ModeSet,
    /// The event that completed its supersession, and when.
    superseded_by: Option<(Mrid, i64)>,
}

/// The DER event scheduler of one EndDevice (IEEE 2030.5-2018 clauses 10.10 and 12.1.3), sans-IO.
///
/// Feed it the device's DER programs with their `DERControl` events and `DefaultDERControl`, and the
/// server's `/tm`; call [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout);
/// drain [`poll_response`](Self::poll_response) (to post) and [`poll_event`](Self::poll_event); apply
/// [`active`](Self::active). Every input takes `now`, the device's own clock in Unix seconds; the scheduler
/// works in server time (`now` plus the offset learnt from `/tm`). The rules:
///
/// - **Per mode.** Events setting different modes run side by side; each mode is held by one event.
/// - **Primacy.** On a mode two events want, the one whose program has the lower `primacy` value wins; the
///   other is suspended on that mode and resumes when the winner ends (13 or 14 is reported once, when an
///   event first loses all its modes that way).
/// - **Superseding by creation time,** only between events of equal primacy that overlap in time and share
///   a mode: from the moment both are in effect, the newer takes the shared modes from the older for good.
///   An event left with no mode is superseded (7 within a program, 14 across programs, 13 across servers).
/// - **Randomisation:** `randomizeStart` moves the start, `randomizeDuration` the duration, each by a
///   seeded uniform draw (see the `randomize` module).
/// - **Cancellation:** `currentStatus` 2 ends the event when seen; 3 ends it after a draw within the
///   larger randomisation bound; 4 (superseded by the server) ends it when seen, and the newer events of
///   its program that replace it start at once, their start randomisation waived — unless the device is
///   still inside the superseded event's own start randomisation window.
/// - **Default:** a mode no event holds takes the value of the `DefaultDERControl` of the highest-primacy
///   program that sets it.
/// - **Responses** are queued as `responseRequired` asks (see [`ResponseStatus`]), each at most once per
///   event, stamped with the server time of its trigger — also when `handle_timeout` comes late, since the
///   scheduler replays every boundary it passed in order.
/// - An event missing from a later list of its program is dropped if it has not run, and kept to its end
///   if it has (servers cancel rather than delete; a short page must not stop a running event).
#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    /// Server time minus device time, from `/tm`.
    offset: i64,
    /// Server time of the last evaluation.
    evaluated: i64,
    programs: BTreeMap<ProgramId, Program>,
    events: BTreeMap<Mrid, Event>,
    active: ActiveControls,
    responses: VecDeque<OutgoingResponse>,
    notices: VecDeque<SchedulerEvent>,
}

impl Scheduler {
    /// A scheduler with no program, in step with the device clock until [`set_time`](Self::set_time).
    pub fn new(config: SchedulerConfig) -> Self {
        Scheduler {
            config,
            offset: 0,
            evaluated: i64::MIN,
            programs: BTreeMap::new(),
            events: BTreeMap::new(),
            active: ActiveControls::default(),
            responses: VecDeque::new(),
            notices: VecDeque::new(),
        }
    }

    /// Learns the server's time from its `/tm` resource, read at device time `now`: from here on the
    /// scheduler runs `currentTime − now` seconds ahead of the device clock (clause 11.2). A time beyond
    /// ±[`TIME_LIMIT`] (about 34,800 years) is not taken; returns whether it was.
    pub fn set_time(&mut self, time: &Time, now: UnixTime) -> bool {
        let within = -TIME_LIMIT..=TIME_LIMIT;
        if !within.contains(&time.current_time) || !within.contains(&now) {
            return false;
        }
        self.advance(now);
        self.offset = time.current_time.saturating_sub(now);
        let t = self.advance(now);
        self.evaluate(t);
        true
    }

    /// Server time at device time `now`, within ±[`TIME_LIMIT`].
    pub fn server_time(&self, now: UnixTime) -> UnixTime {
        now.saturating_add(self.offset)
            .clamp(-TIME_LIMIT, TIME_LIMIT)
    }

    /// Takes the current state of one DER program of server `server` (any name the caller gives it, such
    /// as its base URL): the program, every `DERControl` of its `DERControlList` (all pages), and its
    /// `DefaultDERControl`.
    pub fn update_program(
        &mut self,
        server: &str,
        program: &DERProgram,
        controls: &[DERControl],
        default: Option<&DefaultDERControl>,
        now: UnixTime,
    ) {
        let t = self.advance(now);
        let id = ProgramId {
            server: server.to_owned(),
            mrid: program.mrid,
        };
        self.programs.insert(
            id.clone(),
            Program {
                primacy: program.primacy,
                default: default.cloned(),
            },
        );
        let category = self.category();
        for event in self.events.values_mut().filter(|e| e.program == id) {
            event.listed = false;
            event.primacy = program.primacy;
        }
        for control in controls {
            let mrid = control.mrid;
            match self.events.get_mut(&mrid) {
                Some(event) => {
                    event.listed = true;
                    event.update(
                        control.clone(),
                        program.primacy,
                        self.config.seed,
                        self.config.supported,
                        category,
                    );
                    event.observe_status(self.config.seed, t);
                }
                None => {
                    let event = Event::new(
                        control.clone(),
                        id.clone(),
                        program.primacy,
                        self.config.seed,
                        self.config.supported,
                        category,
                        t,
                    );
                    self.receive(event, t);
                }
            }
        }
        self.events
            .retain(|_, e| e.program != id || e.listed || (e.ran && !e.state.is_final()));
        self.hasten_successors(&id, t);
        self.evaluate(t);
    }

    /// Applies the rule for events the server marked superseded (`currentStatus` 4, clause 10.10
    /// `EventStatus`): the device ends the superseded event and starts the newer events of the same program
    /// that replace it (sharing a mode, overlapping in time) at once, without their start randomisation —
    /// unless it saw the supersession inside the superseded event's own start randomisation window, in which
    /// case the new events keep their randomised start.
    fn hasten_successors(&mut self, program: &ProgramId, t: i64) {
        let superseded: Vec<(i64, Mrid, ModeSet, i64, i64)> = self
            .events
            .values()
            .filter(|e| e.program == *program && e.verdict == Verdict::Accepted)
            .filter_map(|e| {
                let seen = e.superseded_at?;
                let waived = !e.in_start_randomization(seen);
                waived.then_some((
                    e.control.creation_time,
                    e.control.mrid,
                    e.modes,
                    e.start,
                    e.nominal_end,
                ))
            })
            .collect();
        for (created, mrid, modes, start, end) in superseded {
            for event in self.events.values_mut() {
                let replaces = event.program == *program
                    && event.is_live()
                    && (event.control.creation_time, event.control.mrid) > (created, mrid)
                    && event.modes.intersects(modes)
                    && event.start_range().0 < end
                    && start < event.nominal_end;
                if replaces {
                    event.hasten(t);
                }
            }
        }
    }

    /// Withdraws a program (no longer in the device's function set assignments): its events that have not
    /// run are dropped; running ones end now, reported as aborted by program (14).
    pub fn remove_program(&mut self, server: &str, program: &Mrid, now: UnixTime) {
        let t = self.advance(now);
        let id = ProgramId {
            server: server.to_owned(),
            mrid: *program,
        };
        self.programs.remove(&id);
        let mut aborted = Vec::new();
        self.events.retain(|_, e| {
            if e.program != id {
                return true;
            }
            if e.is_live() && e.ran {
                aborted.push(e.clone());
            }
            false
        });
        for mut event in aborted {
            self.respond(&event, ResponseStatus::EventAbortedProgram, t);
            self.set_state(&mut event, EventState::Aborted, t);
        }
        self.evaluate(t);
    }

    /// The user opts out of an event: it stops holding its modes (4 is sent if a user response is
    /// required). Returns whether the event is known and not over.
    pub fn opt_out(&mut self, mrid: &Mrid, now: UnixTime) -> bool {
        self.choose(mrid, true, now)
    }

    /// The user opts back in to an event they opted out of (5 is sent if a user response is required).
    /// Returns whether the event is known and not over.
    pub fn opt_in(&mut self, mrid: &Mrid, now: UnixTime) -> bool {
        self.choose(mrid, false, now)
    }

    /// Moves time to device time `now`, running every change due by then in order.
    pub fn handle_timeout(&mut self, now: UnixTime) {
        let t = self.advance(now);
        self.evaluate(t);
    }

    /// Device time of the next change (an event starting or ending), if any is scheduled.
    pub fn poll_timeout(&self) -> Option<UnixTime> {
        self.next_boundary(self.evaluated)
            .map(|t| t.saturating_sub(self.offset))
    }

    /// The next response to post.
    pub fn poll_response(&mut self) -> Option<OutgoingResponse> {
        self.responses.pop_front()
    }

    /// The next state change.
    pub fn poll_event(&mut self) -> Option<SchedulerEvent> {
        self.notices.pop_front()
    }

    /// The controls in force after the last input.
    pub fn active(&self) -> &ActiveControls {
        &self.active
    }

    /// One event as the scheduler sees it.
    pub fn event(&self, mrid: &Mrid) -> Option<EventView> {
        self.events.get(mrid).map(|e| EventView {
            state: e.state,
            program: e.program.clone(),
            modes: e.modes,
            start: e.start,
            end: e.end(),
        })
    }

    /// The `DefaultDERControl` of the highest-primacy program that has one (its `setES*` and `setGradW`
    /// settings apply whatever the events do).
    pub fn default_control(&self) -> Option<(&ProgramId, &DefaultDERControl)> {
        self.programs_by_primacy()
            .find_map(|(id, p)| p.default.as_ref().map(|d| (id, d)))
    }

    fn category(&self) -> Option<u32> {
        self.config.device_category.map(|c| u32::from_be_bytes(c.0))
    }

    fn programs_by_primacy(&self) -> impl Iterator<Item = (&ProgramId, &Program)> {
        let mut programs: Vec<(&ProgramId, &Program)> = self.programs.iter().collect();
        programs.sort_by_key(|(id, p)| (p.primacy, *id));
        programs.into_iter()
    }

    fn choose(&mut self, mrid: &Mrid, out: bool, now: UnixTime) -> bool {
        let t = self.advance(now);
        let Some(event) = self.events.get_mut(mrid) else {
            return false;
        };
        if !event.is_live() {
            return false;
        }
        if event.opted_out != out {
            event.opted_out = out;
            event.opted_out_ever |= out;
            let event = event.clone();
            let status = if out {
                ResponseStatus::EventOptOut
            } else {
                ResponseStatus::EventOptIn
            };
            self.respond(&event, status, t);
        }
        self.evaluate(t);
        true
    }

    /// Files a newly received event and sends its receipt (and rejection) responses.
    fn receive(&mut self, mut event: Event, t: i64) {
        if event.verdict == Verdict::Ignored {
            self.events.insert(event.control.mrid, event);
            return;
        }
        self.respond(&event, ResponseStatus::EventReceived, t);
        if let Verdict::Rejected(status) = event.verdict {
            self.respond(&event, status, t);
        } else {
            event.observe_status(self.config.seed, t);
        }
        let state = event.state;
        self.notices.push_back(SchedulerEvent::StateChanged {
            mrid: event.control.mrid,
            state,
            at: t,
        });
        self.events.insert(event.control.mrid, event);
    }

    /// Runs every boundary after the last evaluation up to device time `now`; returns `now` in server time
    /// (never earlier than the last evaluation: time does not run backwards here).
    fn advance(&mut self, now: UnixTime) -> i64 {
        let t = self.server_time(now).max(self.evaluated);
        while let Some(boundary) = self.next_boundary(self.evaluated).filter(|b| *b <= t) {
            self.evaluate(boundary);
        }
        t
    }

    /// The first time after `after` at which some live event starts or ends.
    fn next_boundary(&self, after: i64) -> Option<i64> {
        self.events
            .values()
            .filter(|e| e.is_live())
            .flat_map(|e| {
                [
                    Some(e.start),
                    Some(e.nominal_end),
                    e.cancel_at,
                    e.superseded_at,
                ]
            })
            .flatten()
            .filter(|b| *b > after)
            .min()
    }

    /// How each live event stands at server time `t`: which of its modes newer events of equal primacy
    /// have taken.
    fn standings(&self, t: i64) -> BTreeMap<Mrid, Standing> {
        let live: Vec<&Event> = self
            .events
            .values()
            .filter(|e| e.verdict == Verdict::Accepted)
            .collect();
        let mut standings = BTreeMap::new();
        for a in &live {
            let mut standing = Standing {
                remaining: a.modes,
                superseded_by: None,
            };
            for b in &live {
                let both_in_effect = a.start.max(b.start);
                let supersedes = b.control.mrid != a.control.mrid
                    && b.primacy == a.primacy
                    && (b.control.creation_time, b.control.mrid)
                        > (a.control.creation_time, a.control.mrid)
                    && b.modes.intersects(a.modes)
                    && b.start < b.end()
                    && both_in_effect <= t
                    && a.start < b.end()
                    && b.start < a.end();
                if supersedes {
                    standing.remaining = standing.remaining.difference(b.modes);
                    if standing
                        .superseded_by
                        .is_none_or(|(_, at)| at <= both_in_effect)
                    {
                        standing.superseded_by = Some((b.control.mrid, both_in_effect));
                    }
                }
            }
            standings.insert(a.control.mrid, standing);
        }
        standings
    }

    /// Decides the controls in force at server time `t` and every event's state, queueing responses.
    fn evaluate(&mut self, t: i64) {
        self.evaluated = t;
        let standings = self.standings(t);

        // Each mode to the highest-ranked event that is in effect, has the mode left and is not opted out.
        let mut holder: BTreeMap<DerMode, Mrid> = BTreeMap::new();
        for mode in DerMode::ALL.iter().copied() {
            let best = self
                .events
                .values()
                .filter(|e| e.is_live() && e.in_window(t) && !e.opted_out)
                .filter(|e| {
                    standings
                        .get(&e.control.mrid)
                        .is_some_and(|s| s.remaining.contains(mode))
                })
                .reduce(|best, e| if e.outranks(best) { e } else { best });
            if let Some(event) = best {
                holder.insert(mode, event.control.mrid);
            }
        }
        self.apply_controls(&holder, t);

        let mut order: Vec<(i64, Mrid)> = self
            .events
            .values()
            .filter(|e| e.is_live())
            .map(|e| (e.start, e.control.mrid))
            .collect();
        order.sort();
        for (_, mrid) in order {
            // Out of the map while it moves on (no copy); `step` only looks up other events.
            let Some(mut event) = self.events.remove(&mrid) else {
                continue;
            };
            let standing = standings.get(&mrid).copied();
            let held = holder.values().any(|m| *m == mrid);
            self.step(&mut event, standing, held, &holder, t);
            self.events.insert(mrid, event);
        }
    }

    /// Moves one event on at server time `t`.
    fn step(
        &mut self,
        event: &mut Event,
        standing: Option<Standing>,
        held: bool,
        holder: &BTreeMap<DerMode, Mrid>,
        t: i64,
    ) {
        if held && !event.ran {
            event.ran = true;
            self.respond(event, ResponseStatus::EventStarted, t);
        }
        // The earliest reason to end that has come, if any.
        let superseded = standing
            .filter(|s| s.remaining.is_empty())
            .and_then(|s| s.superseded_by);
        let mut endings: Vec<(i64, Ending)> = Vec::new();
        if let Some((by, at)) = superseded {
            endings.push((at, Ending::SupersededBy(by)));
        }
        if let Some(at) = event.superseded_at {
            endings.push((at, Ending::SupersededByServer));
        }
        if let Some(at) = event.cancel_at {
            endings.push((at, Ending::Cancelled));
        }
        endings.push((event.nominal_end, Ending::Completed));
        let ending = endings
            .into_iter()
            .filter(|(at, _)| *at <= t)
            .min_by_key(|(at, _)| *at);

        let state = match ending {
            Some((_, Ending::SupersededBy(by))) => {
                let status = self.displacement_status(event, &by, ResponseStatus::EventSuperseded);
                self.respond(event, status, t);
                EventState::Superseded
            }
            Some((_, Ending::SupersededByServer)) => {
                self.respond(event, ResponseStatus::EventSuperseded, t);
                EventState::Superseded
            }
            Some((_, Ending::Cancelled)) => {
                self.respond(event, ResponseStatus::EventCancelled, t);
                EventState::Cancelled
            }
            Some((_, Ending::Completed)) => {
                let status = match (event.ran, event.opted_out, event.opted_out_ever) {
                    (true, true, _) => Some(ResponseStatus::EventPartialOptOut),
                    (true, false, true) => Some(ResponseStatus::EventPartialOptIn),
                    (true, false, false) => Some(ResponseStatus::EventCompleted),
                    (false, _, true) => Some(ResponseStatus::EventCompletedNoUserParticipation),
                    (false, _, false) => None,
                };
                if let Some(status) = status {
                    self.respond(event, status, t);
                }
                EventState::Completed
            }
            None if held => EventState::Active,
            None if t < event.start => EventState::Scheduled,
            None if event.opted_out => EventState::OptedOut,
            None => {
                // In its window with modes left, all of them held by higher-primacy events.
                let displacer = standing
                    .into_iter()
                    .flat_map(|s| s.remaining.iter())
                    .find_map(|mode| holder.get(&mode))
                    .copied();
                if let (Some(by), false) = (displacer, event.displacement_reported) {
                    event.displacement_reported = true;
                    let status =
                        self.displacement_status(event, &by, ResponseStatus::EventAbortedProgram);
                    self.respond(event, status, t);
                }
                EventState::Suspended
            }
        };
        self.set_state(event, state, t);
    }

    /// 13 if `by` comes from another server, 14 if from another program, `same_program` otherwise.
    fn displacement_status(
        &self,
        event: &Event,
        by: &Mrid,
        same_program: ResponseStatus,
    ) -> ResponseStatus {
        match self.events.get(by) {
            Some(other) if other.program.server != event.program.server => {
                ResponseStatus::EventAbortedServer
            }
            Some(other) if other.program != event.program => ResponseStatus::EventAbortedProgram,
            _ => same_program,
        }
    }

    fn set_state(&mut self, event: &mut Event, state: EventState, t: i64) {
        if event.state != state {
            event.state = state;
            self.notices.push_back(SchedulerEvent::StateChanged {
                mrid: event.control.mrid,
                state,
                at: t,
            });
        }
    }

    /// Builds the controls in force from the mode holders and the programs' defaults.
    fn apply_controls(&mut self, holder: &BTreeMap<DerMode, Mrid>, t: i64) {
        let mut active = ActiveControls::default();
        let programs: Vec<_> = self.programs_by_primacy().collect();
        for mode in DerMode::ALL.iter().copied() {
            if let Some(event) = holder.get(&mode).and_then(|m| self.events.get(m)) {
                let base = &event.control.der_control_base;
                let source = ControlSource::Event {
                    mrid: event.control.mrid,
                    program: event.program.clone(),
                    ramp_tms: base.ramp_tms,
                };
                active.set(mode, base, source);
                continue;
            }
            let default = programs.iter().find_map(|(id, p)| {
                p.default
                    .as_ref()
                    .filter(|d| mode.is_set(&d.der_control_base))
                    .map(|d| ((*id).clone(), d))
            });
            if let Some((program, default)) = default {
                let base = &default.der_control_base;
                let source = ControlSource::Default {
                    mrid: default.mrid,
                    program,
                    ramp_tms: base.ramp_tms,
                };
                active.set(mode, base, source);
            }
        }
        if active != self.active {
            self.active = active;
            self.notices
                .push_back(SchedulerEvent::ControlsChanged { at: t });
        }
    }

    /// Queues `status` for `event` if its `responseRequired` asks for it.
    fn respond(&mut self, event: &Event, status: ResponseStatus, t: i64) {
        let required = ResponseRequired::from(event.control.response_required);
        if !required.contains(status.required_by()) {
            return;
        }
        let response = DERControlResponse {
            created_date_time: Some(t),
            end_device_lfdi: self.config.lfdi,
            status: Some(status.code()),
            subject: event.control.mrid,
            ..DERControlResponse::default()
        };
        self.responses.push_back(OutgoingResponse {
            reply_to: event.control.reply_to.clone(),
            response,
        });
    }
}

/// Why an event ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    SupersededBy(Mrid),
    SupersededByServer,
    Cancelled,
    Completed,
}
