//! The answers of a controlled station, computed from received ASDUs and explicit time.

use super::cause;
use super::database::PointDatabase;
use crate::asdu::{Asdu, Cot, InformationObject, Objects};
use crate::element::Element;
use crate::time::Cp56Time2a;
use crate::types::{elements_width, type_info};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// The global common address, valid for interrogation, counter interrogation, clock synchronisation and reset.
pub const GLOBAL_ADDRESS: u16 = 0xffff;
/// The largest ASDU a station sends, in octets (253 less the four control octets).
const MAX_ASDU: usize = 249;
/// The shortest run of consecutive addresses reported as a sequence (SQ = 1) rather than a list.
const SEQUENCE_RUN: usize = 8;

/// What the application decided about a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandResult {
    /// Executed: a positive confirmation and a termination follow.
    Accept,
    /// Refused: a negative confirmation follows.
    Reject,
}

/// The application behind the station.
pub trait CommandHandler {
    /// Executes a command (types 45–51, 58–64) on `object` of `type_id`.
    fn command(&mut self, type_id: u8, object: &InformationObject, now: Instant) -> CommandResult;
    /// Sets the clock (C_CS_NA_1).
    fn clock_sync(&mut self, _time: Cp56Time2a) {}
    /// Resets the process (C_RP_NA_1) with its qualifier.
    fn reset(&mut self, _qualifier: u8) {}
}

/// How a command point is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandMode {
    /// Executed at once.
    Direct,
    /// Selected first, then executed within the select timeout.
    SelectBeforeOperate,
}

/// The station's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct OutstationConfig {
    /// Its common address.
    pub common_address: u16,
    /// How long a selection stays valid.
    pub select_timeout: Duration,
    /// Cyclic reporting period of every point, if any.
    pub cyclic_period: Option<Duration>,
    /// Command points: IOA → (type identification, mode).
    pub commands: BTreeMap<u32, (u8, CommandMode)>,
}

impl OutstationConfig {
    /// A station at `common_address` with a 10 s select timeout, no cyclic reports and no command points.
    pub fn new(common_address: u16) -> OutstationConfig {
        OutstationConfig {
            common_address,
            select_timeout: Duration::from_secs(10),
            cyclic_period: None,
            commands: BTreeMap::new(),
        }
    }
}

/// A controlled station's application state.
pub struct Outstation<H: CommandHandler> {
    config: OutstationConfig,
    database: PointDatabase,
    handler: H,
    selected: BTreeMap<u32, Instant>,
    next_cyclic: Option<Instant>,
    /// Spontaneous reports taken from the database, not yet polled.
    spontaneous: VecDeque<Asdu>,
    /// The last cyclic round, not yet polled.
    periodic: VecDeque<Asdu>,
}

/// The negative activation confirmation of `request` (its ASDU mirrored with cause 7 and P/N = 1): how a
/// station refuses an activation it cannot take now (IEC 60870-5-101 clause 7.2.3).
pub fn negative_confirmation(request: &Asdu) -> Asdu {
    mirror(request, cause::ACTIVATION_CON, true)
}

fn mirror(asdu: &Asdu, cause: u8, negative: bool) -> Asdu {
    Asdu {
        cot: Cot {
            cause,
            negative,
            ..asdu.cot
        },
        ..asdu.clone()
    }
}

/// The type a point is reported with in an interrogation: the one without a time tag.
fn without_time(type_id: u8) -> u8 {
    match type_id {
        2 | 30 => 1,
        4 | 31 => 3,
        6 | 32 => 5,
        8 | 33 => 7,
        10 | 34 => 9,
        12 | 35 => 11,
        14 | 36 => 13,
        16 | 37 => 15,
        other => other,
    }
}

fn strip_time(elements: &[Element]) -> Vec<Element> {
    elements
        .iter()
        .filter(|e| !matches!(e, Element::Cp24(_) | Element::Cp56(_)))
        .copied()
        .collect()
}

/// The select bit of a command's qualifier, if the type has one.
fn select_bit(type_id: u8, elements: &[Element]) -> Option<bool> {
    elements.iter().find_map(|e| match (type_id, e) {
        (45 | 58, Element::Sco(b)) | (46 | 59, Element::Dco(b)) | (47 | 60, Element::Rco(b)) => {
            Some(b & 0x80 != 0)
        }
        (48..=50 | 61..=63, Element::Qos(b)) => Some(b & 0x80 != 0),
        _ => None,
    })
}

impl<H: CommandHandler> Outstation<H> {
    /// A station with its configuration, points and application.
    pub fn new(
        config: OutstationConfig,
        database: PointDatabase,
        handler: H,
        now: Instant,
    ) -> Outstation<H> {
        let next_cyclic = config.cyclic_period.and_then(|p| now.checked_add(p));
        Outstation {
            config,
            database,
            handler,
            selected: BTreeMap::new(),
            next_cyclic,
            spontaneous: VecDeque::new(),
            periodic: VecDeque::new(),
        }
    }

    /// The points, to update.
    pub fn database_mut(&mut self) -> &mut PointDatabase {
        &mut self.database
    }

    /// The application.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Groups `objects` (already of `type_id`, in address order) into ASDUs that fit a frame, with `cause`.
    ///
    /// Runs of at least [`SEQUENCE_RUN`] consecutive addresses go out as sequences (SQ = 1, one address per
    /// ASDU, clause 7.2.2.1 of IEC 60870-5-101), which carries up to 60 % more values per frame for
    /// measurands; the other objects are listed with their own addresses (SQ = 0).
    fn report(&self, type_id: u8, objects: Vec<InformationObject>, cause_of: u8) -> Vec<Asdu> {
        let body = MAX_ASDU.saturating_sub(6);
        let width = type_info(type_id).map_or(1, |t| elements_width(t.elements).max(1));
        let per_list = body
            .checked_div(width.saturating_add(3))
            .unwrap_or(1)
            .clamp(1, 127);
        let per_sequence = body
            .saturating_sub(3)
            .checked_div(width)
            .unwrap_or(1)
            .clamp(1, 127);
        let asdu = |sq: bool, objects: Vec<InformationObject>| Asdu {
            type_id,
            sq,
            count: u8::try_from(objects.len()).unwrap_or(127),
            cot: Cot::new(cause_of),
            common_address: self.config.common_address,
            objects: Objects::Known(objects),
        };
        let mut out = Vec::new();
        let mut listed: Vec<InformationObject> = Vec::new();
        let mut rest = objects.as_slice();
        while let Some(first) = rest.first() {
            let run = rest
                .iter()
                .zip(0u32..)
                .take_while(|(o, i)| first.ioa.checked_add(*i) == Some(o.ioa))
                .count();
            let (head, tail) = rest.split_at(run);
            if run >= SEQUENCE_RUN {
                out.extend(
                    head.chunks(per_sequence)
                        .map(|c| asdu(c.len() > 1, c.to_vec())),
                );
            } else {
                for o in head {
                    listed.push(o.clone());
                    if listed.len() == per_list {
                        out.push(asdu(false, std::mem::take(&mut listed)));
                    }
                }
            }
            rest = tail;
        }
        if !listed.is_empty() {
            out.push(asdu(false, listed));
        }
        out
    }

    /// Every point matching `select`, reported without time tags, grouped by type.
    fn interrogate(&self, cause_of: u8, select: impl Fn(&super::Point) -> bool) -> Vec<Asdu> {
        let mut by_type: BTreeMap<u8, Vec<InformationObject>> = BTreeMap::new();
        for (ioa, point) in self.database.iter().filter(|(_, p)| select(p)) {
            by_type
                .entry(without_time(point.type_id))
                .or_default()
                .push(InformationObject {
                    ioa: *ioa,
                    elements: strip_time(&point.elements),
                });
        }
        by_type
            .into_iter()
            .flat_map(|(t, objects)| self.report(t, objects, cause_of))
            .collect()
    }

    /// The answers to one received ASDU.
    pub fn handle_asdu(&mut self, asdu: &Asdu, now: Instant) -> Vec<Asdu> {
        let global_allowed = matches!(asdu.type_id, 100 | 101 | 103 | 105);
        if asdu.common_address != self.config.common_address
            && !(asdu.common_address == GLOBAL_ADDRESS && global_allowed)
        {
            return vec![mirror(asdu, cause::UNKNOWN_COMMON_ADDRESS, true)];
        }
        let Objects::Known(objects) = &asdu.objects else {
            return vec![mirror(asdu, cause::UNKNOWN_TYPE, true)];
        };
        let Some(first) = objects.first() else {
            return vec![mirror(asdu, cause::UNKNOWN_TYPE, true)];
        };
        let c = asdu.cot.cause;
        match asdu.type_id {
            100 => {
                let qoi = first
                    .elements
                    .iter()
                    .find_map(|e| {
                        if let Element::Qoi(q) = e {
                            Some(*q)
                        } else {
                            None
                        }
                    })
                    .unwrap_or(0);
                match c {
                    cause::ACTIVATION if (20..=36).contains(&qoi) => {
                        let group = qoi.saturating_sub(20);
                        let mut out = vec![mirror(asdu, cause::ACTIVATION_CON, false)];
                        out.extend(self.interrogate(qoi, |p| {
                            !p.counter
                                && !matches!(p.type_id, 17..=19 | 38..=40)
                                && (group == 0 || p.groups.contains(&group))
                        }));
                        out.push(mirror(asdu, cause::ACTIVATION_TERM, false));
                        out
                    }
                    cause::ACTIVATION => vec![mirror(asdu, cause::ACTIVATION_CON, true)],
                    cause::DEACTIVATION => vec![mirror(asdu, cause::DEACTIVATION_CON, false)],
                    _ => vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)],
                }
            }
            101 => match c {
                cause::ACTIVATION => {
                    let mut out = vec![mirror(asdu, cause::ACTIVATION_CON, false)];
                    out.extend(self.interrogate(cause::COUNTER_INTERROGATION, |p| p.counter));
                    out.push(mirror(asdu, cause::ACTIVATION_TERM, false));
                    out
                }
                _ => vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)],
            },
            102 => {
                if c != cause::REQUEST {
                    return vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)];
                }
                match self.database.get(first.ioa) {
                    Some(p) => self.report(
                        p.type_id,
                        vec![PointDatabase::object(first.ioa, p)],
                        cause::REQUEST,
                    ),
                    None => vec![mirror(asdu, cause::UNKNOWN_OBJECT_ADDRESS, true)],
                }
            }
            103 => {
                if c != cause::ACTIVATION {
                    return vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)];
                }
                if let Some(Element::Cp56(t)) = first.elements.first() {
                    self.handler.clock_sync(*t);
                }
                vec![mirror(asdu, cause::ACTIVATION_CON, false)]
            }
            104 | 107 => {
                if c == cause::ACTIVATION {
                    vec![mirror(asdu, cause::ACTIVATION_CON, false)]
                } else {
                    vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)]
                }
            }
            105 => {
                if c != cause::ACTIVATION {
                    return vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)];
                }
                if let Some(Element::Qrp(q)) = first.elements.first() {
                    self.handler.reset(*q);
                }
                vec![mirror(asdu, cause::ACTIVATION_CON, false)]
            }
            45..=51 | 58..=64 => self.command(asdu, first, now),
            _ => vec![mirror(asdu, cause::UNKNOWN_TYPE, true)],
        }
    }

    fn command(&mut self, asdu: &Asdu, object: &InformationObject, now: Instant) -> Vec<Asdu> {
        let Some(&(point_type, mode)) = self.config.commands.get(&object.ioa) else {
            return vec![mirror(asdu, cause::UNKNOWN_OBJECT_ADDRESS, true)];
        };
        // A command with time tag addresses the same point as its plain form (58 ↔ 45 …).
        let plain = |t: u8| {
            if (58..=64).contains(&t) {
                t.saturating_sub(13)
            } else {
                t
            }
        };
        if plain(asdu.type_id) != plain(point_type) {
            return vec![mirror(asdu, cause::UNKNOWN_TYPE, true)];
        }
        let select = select_bit(asdu.type_id, &object.elements).unwrap_or(false);
        match asdu.cot.cause {
            cause::ACTIVATION => {}
            cause::DEACTIVATION => {
                self.selected.remove(&object.ioa);
                return vec![mirror(asdu, cause::DEACTIVATION_CON, false)];
            }
            _ => return vec![mirror(asdu, cause::UNKNOWN_CAUSE, true)],
        }
        match (mode, select) {
            (CommandMode::Direct, true) => vec![mirror(asdu, cause::ACTIVATION_CON, true)],
            (CommandMode::SelectBeforeOperate, true) => {
                self.selected.insert(object.ioa, now);
                vec![mirror(asdu, cause::ACTIVATION_CON, false)]
            }
            (CommandMode::SelectBeforeOperate, false) => {
                let timeout = self.config.select_timeout;
                let valid = self
                    .selected
                    .remove(&object.ioa)
                    .is_some_and(|at| at.checked_add(timeout).is_some_and(|until| now <= until));
                if valid {
                    self.execute(asdu, object, now)
                } else {
                    vec![mirror(asdu, cause::ACTIVATION_CON, true)]
                }
            }
            (CommandMode::Direct, false) => self.execute(asdu, object, now),
        }
    }

    fn execute(&mut self, asdu: &Asdu, object: &InformationObject, now: Instant) -> Vec<Asdu> {
        match self.handler.command(asdu.type_id, object, now) {
            CommandResult::Accept => {
                vec![
                    mirror(asdu, cause::ACTIVATION_CON, false),
                    mirror(asdu, cause::ACTIVATION_TERM, false),
                ]
            }
            CommandResult::Reject => vec![mirror(asdu, cause::ACTIVATION_CON, true)],
        }
    }

    /// The next report for every started master: first the spontaneous reports (cause 3) of the points
    /// changed since the last call, then the periodic reports (cause 1) [`Outstation::handle_timeout`]
    /// produced. `None` when there is nothing to report.
    pub fn poll_report(&mut self) -> Option<Asdu> {
        if let Some(first) = self.spontaneous.pop_front() {
            return Some(first);
        }
        self.spontaneous = self.spontaneous_reports().into();
        self.spontaneous
            .pop_front()
            .or_else(|| self.periodic.pop_front())
    }

    /// Spontaneous reports (cause 3) of the points changed since the last call, each with its own type.
    fn spontaneous_reports(&mut self) -> Vec<Asdu> {
        let changed = self.database.take_changed();
        let mut by_type: BTreeMap<u8, Vec<InformationObject>> = BTreeMap::new();
        for (ioa, point) in changed {
            by_type
                .entry(point.type_id)
                .or_default()
                .push(PointDatabase::object(ioa, &point));
        }
        by_type
            .into_iter()
            .flat_map(|(t, objects)| self.report(t, objects, cause::SPONTANEOUS))
            .collect()
    }

    /// When [`Outstation::handle_timeout`] should next be called (cyclic reporting).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_cyclic
    }

    /// Advances the station's timers to `now`: expired selections are dropped, and when the cyclic period has
    /// come, a round of periodic reports (cause 1) is queued for [`Outstation::poll_report`], replacing any of
    /// the previous round not yet taken (the newer values supersede them, so the queue holds one round at
    /// most).
    pub fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.config.select_timeout;
        self.selected
            .retain(|_, at| at.checked_add(timeout).is_some_and(|until| now <= until));
        match (self.next_cyclic, self.config.cyclic_period) {
            (Some(due), Some(period)) if now >= due => {
                self.next_cyclic = now.checked_add(period);
                self.periodic = self
                    .interrogate(cause::PERIODIC, |p| {
                        !p.counter && !matches!(p.type_id, 17..=19 | 38..=40)
                    })
                    .into();
            }
            _ => {}
        }
    }
}
